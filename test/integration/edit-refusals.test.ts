// `edit` reads a file of the base image through the engine. What it cannot edit as text (a directory, a
// binary, a file far larger than any config), a file or a list the base image does not have, and a `copy`
// of a project file that is not there are config errors found only at build time: each fails the image
// with a clear error placed at its step (file:line:col), exits 2 like every other config error, before
// anything is buffered or written, and the base image's files are left as they were.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, finishOf, project } from '../support/cli.ts';
import { cleanup, importImage, imageInfo, requireEngine, rootfs, RUN_ID, RUN_LABEL, runIn, testTag } from '../support/engine.ts';

const test = suite('edit refuses what is not a small text file');
const BASE = testTag('edit-base');
const BIG = 17 * 1024 * 1024;

test.before(async () => {
  await requireEngine();
  await importImage(BASE, await rootfs({ 'var/big.conf': { content: Buffer.alloc(BIG, 'a') }, 'etc/app.yaml': { content: 'server:\n  name: x\n' } }), {
    [RUN_LABEL]: RUN_ID,
  });
});
test.after(cleanup);

/** The step's line, with the position the error must name: its field is at line 7. */
async function failing(step: string) {
  const tag = testTag('edited');
  const dir = await project({
    'build.config.yaml': `
images:
  edited:
    base: '${BASE}'
    tags: ['${tag}']
    steps:
      - ${step}
`,
  });
  const result = await cli(['--json', 'edited'], { cwd: dir });
  assert.is(result.code, 2, result.stderr);
  assert.not.match(result.stderr, /internal error|at .*\.[jt]s:\d+/, 'no stack trace');
  assert.is(await imageInfo(tag), undefined, 'nothing tagged');
  const error = finishOf(result, 'edited')!.error!;
  // The same problem, said at the end as every config error is.
  const last = result.stderr
    .trimEnd()
    .split('\n')
    .find((line) => line.startsWith('build.config.yaml:'));
  assert.ok(last && last.includes(error.replace(/^build\.config\.yaml:\d+:\d+: /, '')), result.stderr);
  return error;
}

const editing = (file: string) => failing(`edit: { file: ${file}, appendLine: 'echo edited' }`);

test('a directory', async () => {
  assert.match(await editing('/etc'), /^build\.config\.yaml:7:23: edit: \/etc is a directory in the base image: edit changes one file/);
});

test('a binary: refused, and the base image’s busybox still runs', async () => {
  assert.match(
    await editing('/bin/busybox'),
    /^build\.config\.yaml:7:23: edit: \/bin\/busybox in the base image is not UTF-8 text \(it holds NUL bytes, as binary files do/,
  );
  assert.is((await runIn(BASE, ['/bin/busybox', 'echo', 'runs'])).output, 'runs\n');
});

test('a file over the limit, refused from the archive header', async () => {
  assert.match(
    await editing('/var/big.conf'),
    /^build\.config\.yaml:7:23: edit: \/var\/big.conf in the base image is 17 MiB: edit reads files of up to 16 MiB/,
  );
});

test('a file the base image does not have', async () => {
  assert.match(await editing('/etc/nope.conf'), /^build\.config\.yaml:7:23: edit: \/etc\/nope.conf does not exist in the base image/);
});

test('a list the file does not have: placed at prependToList.at', async () => {
  const error = await failing(`edit: { file: /etc/app.yaml, prependToList: { at: server.rules, items: [{ a: b }] } }`);
  assert.match(error, /^build\.config\.yaml:7:59: edit: \/etc\/app.yaml: server.rules does not exist/);
});

test('a copy of a project file that is not there', async () => {
  assert.match(await failing('copy: { from: not-there.conf, to: /etc/x.conf }'), /^build\.config\.yaml:7:23: copy: 'not-there.conf' does not exist/);
});

test.run();
