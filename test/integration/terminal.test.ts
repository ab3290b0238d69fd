// The terminal view (listr2), driven through a real pseudo-terminal: `script` gives the command a TTY.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { CLI, project } from '../support/cli.ts';
import { cleanup, ensureStandIns, requireEngine, RUN_ID, RUN_LABEL, testTag } from '../support/engine.ts';

const test = suite('the terminal view');
test.before(async () => {
  await requireEngine();
  await ensureStandIns();
});
test.after(cleanup);

/** Runs the command on a pty 120 columns wide; what it drew, with escape sequences removed. */
function onTerminal(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<{ code: number | null; screen: string; ms: number }> {
  const inner = `stty cols 120 rows 40; ${[process.execPath, CLI, '--label', `${RUN_LABEL}=${RUN_ID}`, ...args].map((a) => `'${a}'`).join(' ')}; echo "EXIT=$?"`;
  const started = Date.now();
  const child = spawn('script', ['-qfec', inner, '/dev/null'], {
    cwd,
    env: { ...process.env, CI: '', TERM: 'xterm', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let raw = '';
  child.stdout.on('data', (chunk: Buffer) => (raw += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.on('close', () => {
      clearTimeout(timer);
      const screen = raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
      const code = /EXIT=(\d+)/.exec(screen)?.[1];
      resolve({ code: code === undefined ? null : Number(code), screen, ms: Date.now() - started });
    });
  });
}

test('a build draws a task per image, its notices first, and ends with its result and the summary', async () => {
  const dir = await project({
    'build.config.yaml': `variables:\n  TAG: { default: '1', warnIfDefault: true }\nimages:\n  shown: { base: ubuntu:16.04, tags: ['${testTag('shown')}-\${TAG}'], steps: [{ run: 'echo hello from the build' }] }\n`,
  });
  const { code, screen } = await onTerminal([], dir);
  assert.is(code, 0, screen);
  const built = screen.search(/✔ shown: built [0-9a-f]{12} in [\d.]+s \(no image yet\)/);
  assert.ok(built > 0, screen);
  assert.ok(screen.indexOf("note: TAG is not set: using its default '1'") < built, 'the notice comes before the tree');
  assert.match(screen, /summary: ok: 1 built, 0 up to date, 0 failed/);
});

test('an engine that does not answer is said at once, with no task tree left waiting', async () => {
  const dir = await project({ 'build.config.yaml': `images:\n  a: { base: ubuntu:16.04, tags: ['${testTag('a')}'] }\n` });
  const { code, screen, ms } = await onTerminal([], dir, { DOCKER_HOST: 'unix:///nonexistent.sock' }, 20_000);
  assert.is(code, 1, screen);
  assert.match(screen, /cannot reach the Docker engine/);
  assert.ok(ms < 10_000, `it exited in ${ms} ms`);
});

test.run();
