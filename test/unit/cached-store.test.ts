// Asking the engine nothing twice across runs: the image found for a label is remembered as a hint that
// is checked, never trusted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { rememberingFoundImages } from '../../pipeline/engine/cached-store.ts';
import type { ImageInfo, ImageStore } from '../../pipeline/engine/engine.ts';
import { fakeEngine } from '../support/fake-engine.ts';
import { tempDir } from '../support/temp.ts';

const LABEL = 'build-images.digest';
const id = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

/** An engine holding these images, counting how often it is asked to list them. */
function engineWith(images: ImageInfo[]): ImageStore & { listings: number } {
  const store = fakeEngine().images;
  const counted = {
    ...store,
    listings: 0,
    inspectImage: async (ref: string) => images.find((i) => i.id === ref),
    findImage: async (label: string, value: string) => {
      counted.listings++;
      return images.find((i) => i.labels[label] === value);
    },
  };
  return counted;
}

test('the image found for a label is found again, by the next run, with one inspect and no listing', async () => {
  const file = path.join(await tempDir('bi-found-'), 'found-images.json');
  const engine = engineWith([{ id: id(1), labels: { [LABEL]: 'sha256:inputs' }, repoDigests: [] }]);
  assert.is((await rememberingFoundImages(engine, file).findImage(LABEL, 'sha256:inputs'))?.id, id(1));
  assert.is(engine.listings, 1);
  const nextRun = rememberingFoundImages(engine, file);
  assert.is((await nextRun.findImage(LABEL, 'sha256:inputs'))?.id, id(1));
  assert.is(engine.listings, 1, 'not listed again');
});

test('a remembered image that is gone, or no longer carries the label, is looked for again', async () => {
  const file = path.join(await tempDir('bi-found-'), 'found-images.json');
  await rememberingFoundImages(engineWith([{ id: id(1), labels: { [LABEL]: 'sha256:a' }, repoDigests: [] }]), file).findImage(LABEL, 'sha256:a');
  const rebuilt = engineWith([{ id: id(2), labels: { [LABEL]: 'sha256:a' }, repoDigests: [] }]);
  assert.is((await rememberingFoundImages(rebuilt, file).findImage(LABEL, 'sha256:a'))?.id, id(2));
  assert.is(rebuilt.listings, 1);
  const relabelled = engineWith([{ id: id(2), labels: { [LABEL]: 'sha256:other' }, repoDigests: [] }]);
  assert.is(await rememberingFoundImages(relabelled, file).findImage(LABEL, 'sha256:a'), undefined);
  assert.is(relabelled.listings, 1);
});

test('a damaged or hostile file is no more than a file of nothing remembered', async () => {
  const dir = await tempDir('bi-found-');
  const file = path.join(dir, 'found-images.json');
  const engine = engineWith([{ id: id(3), labels: { [LABEL]: 'sha256:b' }, repoDigests: [] }]);
  for (const text of ['{not json', '[]', JSON.stringify({ [`${LABEL}=sha256:b`]: '../../etc/passwd' }), JSON.stringify({ [`${LABEL}=sha256:b`]: 42 })]) {
    await writeFile(file, text);
    assert.is((await rememberingFoundImages(engine, file).findImage(LABEL, 'sha256:b'))?.id, id(3), text);
  }
  assert.is(engine.listings, 4);
  assert.equal(JSON.parse(await readFile(file, 'utf8')), { [`${LABEL}=sha256:b`]: id(3) });
});

test.run();
