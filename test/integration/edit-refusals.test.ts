// `edit` reads a file of the base image through the engine. What it cannot edit as text (a directory, a
// binary, a file far larger than any config) fails the image with a clear error, before anything is
// buffered or written, and the base image's files are left as they were.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, finishOf, project } from '../support/cli.ts';
import { cleanup, importImage, imageInfo, requireEngine, rootfs, RUN_ID, RUN_LABEL, runIn, testTag } from '../support/engine.ts';

const test = suite('edit refuses what is not a small text file');
const BASE = testTag('edit-base');
const BIG = 17 * 1024 * 1024;

test.before(async () => {
  await requireEngine();
  await importImage(BASE, await rootfs({ 'var/big.conf': { content: Buffer.alloc(BIG, 'a') } }), { [RUN_LABEL]: RUN_ID });
});
test.after(cleanup);

async function editing(file: string) {
  const tag = testTag('edited');
  const dir = await project({
    'build.config.yaml': `
images:
  edited:
    base: '${BASE}'
    tags: ['${tag}']
    steps:
      - edit: { file: ${file}, appendLine: 'echo edited' }
`,
  });
  const result = await cli(['--json', 'edited'], { cwd: dir });
  assert.is(result.code, 1, result.stderr);
  assert.not.match(result.stderr, /internal error|at .*\.[jt]s:\d+/, 'no stack trace');
  assert.is(await imageInfo(tag), undefined, 'nothing tagged');
  return finishOf(result, 'edited')!.error!;
}

test('a directory', async () => {
  assert.match(await editing('/etc'), /^\/etc is a directory in the base image: edit changes one file/);
});

test('a binary: refused, and the base image’s busybox still runs', async () => {
  assert.match(await editing('/bin/busybox'), /^\/bin\/busybox in the base image is not UTF-8 text \(it holds NUL bytes, as binary files do/);
  assert.is((await runIn(BASE, ['/bin/busybox', 'echo', 'runs'])).output, 'runs\n');
});

test('a file over the limit, refused from the archive header', async () => {
  assert.match(await editing('/var/big.conf'), /^\/var\/big.conf in the base image is 17 MiB: edit reads files of up to 16 MiB/);
});

test.run();
