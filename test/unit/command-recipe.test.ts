// A reproducible command's outputs are known by what makes them: equal for two clones of the same sources in
// other directories and under other umasks, different when a source, the command line, its environment or
// the program changes. The program is a real one on the disk (a copy of /bin/true), the inputs real files.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createRecipes } from '../../pipeline/run/command-recipe.ts';
import type { HostCommand } from '../../pipeline/model/host-command.ts';
import type { ImagePlan } from '../../pipeline/plan/plan.ts';
import { tempDir } from '../support/temp.ts';

const test = suite('command recipes');

/** A checkout with a source tree, a vendored package and a program of its own, written under this umask. */
async function checkout(umask: number): Promise<string> {
  const dir = await tempDir('bi-recipe-');
  const made = spawnSync(
    'sh',
    [
      '-c',
      `umask ${umask.toString(8)} && mkdir -p src/app vendor/lib bin && printf 'package main\\n' > src/app/main.go && printf 'package lib\\n' > vendor/lib/lib.go && cp /bin/true bin/tool`,
    ],
    {
      cwd: dir,
    },
  );
  assert.is(made.status, 0, String(made.stderr));
  return dir;
}

function command(dir: string, changes: Partial<HostCommand> = {}): HostCommand {
  return {
    image: 'app',
    run: ['bin/tool', 'build', '-o', 'app', '.'],
    cwd: path.join(dir, 'src/app'),
    env: { GOOS: 'linux' },
    inputs: [path.join(dir, 'src/app'), path.join(dir, 'vendor')],
    outputs: [path.join(dir, 'src/app/app')],
    hints: {},
    stamp: path.join(dir, '.stamp'),
    recipe: JSON.stringify({ run: ['bin/tool', 'build', '-o', 'app', '.'], inputs: ['px:src/app', 'px:vendor'] }),
    ...changes,
    ...(changes.run ? {} : { run: [path.join(dir, 'bin/tool'), 'build', '-o', 'app', '.'] }),
  };
}

const image = (...hostCommands: HostCommand[]) => ({ name: 'app', hostCommands }) as unknown as ImagePlan;

async function recipeOf(c: HostCommand, env: NodeJS.ProcessEnv = {}, allOutputs: readonly string[] = c.outputs): Promise<string | undefined> {
  const outputs = await createRecipes(undefined, new Set(allOutputs), env).outputsOf(image(c));
  return outputs?.get(c.outputs[0]!);
}

test('two clones in other directories, under other umasks, at other times, give the same recipe', async () => {
  const [one, two] = [await checkout(0o022), await checkout(0o002)];
  await writeFile(path.join(two, 'src/app/main.go'), 'package main\n');
  const [a, b] = [await recipeOf(command(one)), await recipeOf(command(two))];
  assert.ok(a?.startsWith('sha256:'), a);
  assert.is(a, b);
});

test('the output itself does not count: it is what the recipe stands for', async () => {
  const dir = await checkout(0o022);
  const before = await recipeOf(command(dir));
  await writeFile(path.join(dir, 'src/app/app'), 'a stale binary');
  assert.is(await recipeOf(command(dir)), before);
});

test('a changed source, vendored file, flag, environment or program makes another recipe', async () => {
  const dir = await checkout(0o022);
  const base = await recipeOf(command(dir));
  const seen = new Set([base]);
  const differs = async (what: string, recipe: Promise<string | undefined>) => {
    const value = await recipe;
    assert.ok(value !== undefined && !seen.has(value), what);
    seen.add(value);
  };
  await differs('given env', recipeOf(command(dir, { env: { GOOS: 'darwin' } })));
  await differs('the machine’s GOFLAGS', recipeOf(command(dir), { GOFLAGS: '-tags=netgo' }));
  await differs('the command line', recipeOf(command(dir, { recipe: JSON.stringify({ run: ['bin/tool', 'build', '-ldflags', '-X main.PXTAG=2'] }) })));
  await chmod(path.join(dir, 'vendor/lib/lib.go'), 0o755);
  await differs('an exec bit', recipeOf(command(dir)));
  await writeFile(path.join(dir, 'vendor/lib/lib.go'), 'package lib // changed\n');
  await differs('a vendored file', recipeOf(command(dir)));
  await mkdir(path.join(dir, 'src/app/sub'));
  await writeFile(path.join(dir, 'src/app/sub/x.go'), 'package sub\n');
  await differs('a new source', recipeOf(command(dir)));
  await copyFile('/bin/false', path.join(dir, 'bin/tool'));
  await differs('the program', recipeOf(command(dir)));
});

test('where Go keeps its caches does not count', async () => {
  const dir = await checkout(0o022);
  assert.is(await recipeOf(command(dir), { GOCACHE: '/tmp/a', GOPATH: '/x' }), await recipeOf(command(dir), { GOCACHE: '/tmp/b' }));
});

test('no recipe, so the command runs first: not reproducible, a missing program or input, or reading another command’s output', async () => {
  const dir = await checkout(0o022);
  assert.is(await recipeOf(command(dir, { recipe: undefined })), undefined, 'not reproducible');
  assert.is(await recipeOf(command(dir, { run: ['no-such-program-here', 'build'] }), { PATH: '/nonexistent' }), undefined, 'no program');
  assert.is(await recipeOf(command(dir, { inputs: [path.join(dir, 'missing')] })), undefined, 'a missing input');
  const generated = path.join(dir, 'vendor/lib/generated.go');
  assert.is(await recipeOf(command(dir), {}, [path.join(dir, 'src/app/app'), generated]), undefined, 'reads what another command writes');
});

test.run();
