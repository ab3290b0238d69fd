// Host commands: how they are shown, how a Go checkout is set up, and real processes on the host: what a
// failure says, and that an interrupt reaches the whole process group.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readFile, readlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Interrupted } from '../../pipeline/model/errors.ts';
import { pasteableCommand, resolveGoMode, shellQuote, type HostCommand } from '../../pipeline/model/host-command.ts';
import { CommandFailure, resolveCommand, runHostCommand } from '../../pipeline/run/host-command.ts';
import { tempDir } from '../support/temp.ts';

const HINTS = { missingProgram: 'install Go', missingDirectory: 'clone px-installer', failed: 'fix the sources' };

function command(fields: Partial<HostCommand>): HostCommand {
  return { image: 'px-oci-mon', run: ['true'], cwd: os.tmpdir(), env: {}, inputs: [], outputs: [], hints: HINTS, stamp: '/nonexistent/stamp', ...fields };
}

test('a command is shown shell-quoted, with its directory and environment: a line to paste', () => {
  assert.is(shellQuote('-X main.PXTAG= -extldflags -static'), "'-X main.PXTAG= -extldflags -static'");
  assert.is(shellQuote("it's"), "'it'\\''s'");
  assert.is(shellQuote(''), "''");
  assert.is(shellQuote('px:px-oci-mon/a.go'), 'px:px-oci-mon/a.go');
  const go = command({
    run: ['go', 'build', '-ldflags', '-X main.PXTAG=1.2 -extldflags -static', '-o', 'px-oci-mon', '.'],
    cwd: '/src/px installer/px-oci-mon',
    env: { GOOS: 'linux', CGO_ENABLED: '0', PWD: '/ignored' },
  });
  assert.is(
    pasteableCommand(go),
    "cd '/src/px installer/px-oci-mon' && CGO_ENABLED=0 GOOS=linux go build -ldflags '-X main.PXTAG=1.2 -extldflags -static' -o px-oci-mon .",
  );
  assert.is(pasteableCommand(command({ run: 'make $TARGET', cwd: '/p' })), "cd /p && sh -c 'make $TARGET'");
});

const gopath = { importPath: 'github.com/portworx/px-installer', checkout: '/home/u/px-installer', root: '/proj/.build-images/gopath/abc' };

test('a GOPATH-era checkout builds with GO111MODULE=off from its directory under the GOPATH link, PWD included', () => {
  const resolved = resolveGoMode(command({ cwd: '/home/u/px-installer/px-oci-mon', env: { GOOS: 'linux' }, gopath }), false);
  const cwd = '/proj/.build-images/gopath/abc/src/github.com/portworx/px-installer/px-oci-mon';
  assert.is(resolved.cwd, cwd);
  assert.equal(resolved.env, { GOOS: 'linux', GO111MODULE: 'off', GOPATH: '/proj/.build-images/gopath/abc', PWD: cwd });
});

test('a checkout with a go.mod builds in module mode, where it is', () => {
  const resolved = resolveGoMode(command({ cwd: '/home/u/px-installer/px-oci-mon', gopath }), true);
  assert.is(resolved.cwd, '/home/u/px-installer/px-oci-mon');
  assert.equal(resolved.env, { GO111MODULE: 'on' });
});

test('resolveCommand links the checkout into the GOPATH (again when it moved), and says when the checkout is missing', async () => {
  const dir = await tempDir('bi-gopath-');
  const checkout = path.join(dir, 'px-installer');
  await mkdir(path.join(checkout, 'px-oci-mon'), { recursive: true });
  const planned = command({ cwd: path.join(checkout, 'px-oci-mon'), gopath: { ...gopath, checkout, root: path.join(dir, 'gopath') } });
  const resolved = await resolveCommand(planned);
  const link = path.join(dir, 'gopath/src/github.com/portworx/px-installer');
  assert.is(await readlink(link), checkout);
  assert.is(resolved.cwd, path.join(link, 'px-oci-mon'));
  const moved = path.join(dir, 'moved');
  await mkdir(path.join(moved, 'px-oci-mon'), { recursive: true });
  await resolveCommand({ ...planned, cwd: path.join(moved, 'px-oci-mon'), gopath: { ...planned.gopath!, checkout: moved } });
  assert.is(await readlink(link), moved);
  try {
    await resolveCommand({ ...planned, gopath: { ...planned.gopath!, checkout: path.join(dir, 'none') } });
    assert.unreachable();
  } catch (err) {
    assert.instance(err, CommandFailure);
    assert.is((err as CommandFailure).kind, 'missingDirectory');
    assert.is((err as CommandFailure).hint, 'clone px-installer');
  }
});

async function failureOf(planned: HostCommand): Promise<CommandFailure> {
  try {
    await runHostCommand(planned, { onLine: () => {} }, new AbortController().signal);
  } catch (err) {
    assert.instance(err, CommandFailure);
    return err as CommandFailure;
  }
  throw new Error('the command did not fail');
}

test('each kind of failure has its own advice; a failed command keeps its last lines of stderr', async () => {
  const missingDir = await failureOf(command({ cwd: '/nonexistent/px-installer/px-oci-mon' }));
  assert.equal(
    [missingDir.kind, missingDir.message, missingDir.hint],
    ['missingDirectory', "the directory '/nonexistent/px-installer/px-oci-mon' does not exist", 'clone px-installer'],
  );

  const noGo = await failureOf(command({ run: ['go-not-installed', 'build'] }));
  assert.equal([noGo.kind, noGo.hint], ['missingProgram', 'install Go']);
  assert.match(noGo.message, /cannot run 'go-not-installed' in .*: not found/);
  assert.is((await failureOf(command({ run: 'go-not-installed build' }))).kind, 'missingProgram', "sh's 127");

  const script = 'for i in $(seq 1 30); do echo "line $i" >&2; done; echo "./main.go:12:2: undefined: nope" >&2; exit 2';
  const compile = await failureOf(command({ run: ['sh', '-c', script] }));
  assert.is(compile.kind, 'failed');
  assert.is(compile.hint, 'fix the sources');
  assert.is(compile.message, `exited with code 2: sh -c '${script.replaceAll("'", "'\\''")}'`);
  assert.is(compile.output.length, 20);
  assert.is(compile.output.at(-1), './main.go:12:2: undefined: nope');
});

/** Running: a killed process that nobody reaped (PID 1 of some containers does not) is a zombie, not alive. */
async function alive(pid: number): Promise<boolean> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return /^State:\s+[^Z]/m.test(status);
}

test('an interrupt reaches the whole process group: an orphaned grandchild neither survives nor keeps the run waiting', async () => {
  const dir = await tempDir('bi-signal-');
  // The subshell backgrounds a sleep and exits: the sleep is an orphan that holds the output pipe open.
  const planned = command({ cwd: dir, run: ['sh', '-c', '(sleep 30 & echo $! > orphan.pid); echo started; sleep 30'] });
  const controller = new AbortController();
  const started = Date.now();
  const running = runHostCommand(planned, { onLine: (line) => line === 'started' && setTimeout(() => controller.abort(), 100) }, controller.signal);
  try {
    await running;
    assert.unreachable();
  } catch (err) {
    assert.instance(err, Interrupted);
  }
  assert.ok(Date.now() - started < 3000, `returned after ${Date.now() - started} ms`);
  const orphan = Number(await readFile(path.join(dir, 'orphan.pid'), 'utf8'));
  await new Promise((r) => setTimeout(r, 100));
  assert.not.ok(await alive(orphan), 'the orphan was killed with its group');
});

test('a command that leaves a child holding its output open is not waited for after it exits', async () => {
  const dir = await tempDir('bi-orphan-');
  const started = Date.now();
  await runHostCommand(
    command({ cwd: dir, run: ['sh', '-c', '(sleep 30 & echo $! > orphan.pid); echo done'] }),
    { onLine: () => {} },
    new AbortController().signal,
  );
  assert.ok(Date.now() - started < 3000, `returned after ${Date.now() - started} ms`);
  process.kill(Number(await readFile(path.join(dir, 'orphan.pid'), 'utf8')));
});

test('a failing command run alone with keepGoing does not stop the next one; each failure is reported', async () => {
  const { runCommands } = await import('../../pipeline/run/host-command.ts');
  const dir = await tempDir('bi-keep-going-');
  const events: Record<string, unknown>[] = [];
  const fails = (name: string) =>
    command({
      name,
      cwd: dir,
      run: ['sh', '-c', `echo "${name}: broken" >&2; exit 1`],
      outputs: [path.join(dir, name)],
      stamp: path.join(dir, `${name}.stamp`),
    });
  const settings = { signal: new AbortController().signal, emit: (e: object) => events.push(e as Record<string, unknown>) };
  await runCommands([fails('a'), fails('b')], settings, true).then(
    () => assert.unreachable(),
    (err: Error) => assert.is(err.message, '2 commands failed'),
  );
  assert.equal(
    events.filter((e) => e['type'] === 'command').map((e) => [e['name'], e['status'], e['output'], e['hint']]),
    [
      ['a', 'failed', ['a: broken'], 'fix the sources'],
      ['b', 'failed', ['b: broken'], 'fix the sources'],
    ],
  );
  events.length = 0;
  await runCommands([fails('a'), fails('b')], settings).catch(() => {});
  assert.is(events.filter((e) => e['type'] === 'command').length, 1, 'without keepGoing the first failure ends it');
  await writeFile(path.join(dir, 'unused'), '');
});

test.run();
