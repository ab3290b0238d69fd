// The README's main command as a user types it, after `npm ci` (which builds dist/ through `prepare`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const ROOT = new URL('../../', import.meta.url).pathname;

test('`npx build-images` runs the built command from the project', () => {
  const result = spawnSync('npx', ['--no-install', 'build-images', '--version'], { cwd: ROOT, encoding: 'utf8' });
  const { version } = JSON.parse(readFileSync(new URL('package.json', `file://${ROOT}`), 'utf8')) as { version: string };
  assert.is(result.status, 0, result.stderr);
  assert.is(result.stdout.trim(), `build-images ${version}`);
});

test('`npx build-images --dry-run` plans this repository’s four images with no engine', () => {
  const result = spawnSync('npx', ['--no-install', 'build-images', '--dry-run', '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent.sock' },
  });
  assert.is(result.status, 0, result.stderr);
  const plan = result.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; images?: { name: string }[] })
    .find((e) => e.type === 'plan');
  assert.equal(plan?.images?.map((i) => i.name).sort(), ['cm-container', 'dockprox', 'px-oci-mon', 'px-spec-websvc']);
});

test.run();
