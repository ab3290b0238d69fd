// A large file read into one buffer used again (fileChunksInPlace, readInPlace): the bytes arrive whole and
// in order for a consumer done with each chunk before the next; a file changed after it was digested, or cut
// short, still fails naming it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { digestContext, fileChunksInPlace, listEntries } from '../../pipeline/context/pack-context.ts';
import { tempDir } from '../support/temp.ts';

const MiB = 1024 * 1024;

async function bigFile(size: number, seed: number) {
  const dir = await tempDir('bi-in-place-');
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) % 251;
  const file = path.join(dir, 'big.bin');
  await writeFile(file, bytes);
  const entries = await listEntries([{ kind: 'path', name: 'big.bin', path: file, origin: 'big.bin', excludes: [] }]);
  return { file, bytes, entry: entries[0]! };
}

/** Every chunk copied as it comes: the next one reuses its memory. */
async function collected(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const copies: Buffer[] = [];
  for await (const chunk of chunks) copies.push(Buffer.from(chunk));
  return Buffer.concat(copies);
}

test('a large file arrives whole and in order, and its digest is that of its bytes', async () => {
  const { bytes, entry } = await bigFile(3 * MiB + 12345, 7);
  const digest = await digestContext([entry]);
  const own = createHash('sha256')
    .update(`file ${entry.mode.toString(8)}  ${createHash('sha256').update(bytes).digest('hex')}`)
    .digest('hex');
  assert.is(digest.manifest['big.bin'], own);
  assert.ok((await collected(fileChunksInPlace(entry))).equals(bytes));
});

test('a large file changed after it was digested fails naming it', async () => {
  const { file, bytes, entry } = await bigFile(2 * MiB, 3);
  await digestContext([entry]);
  bytes[MiB] = (bytes[MiB]! + 1) % 256;
  await writeFile(file, bytes);
  const err = await collected(fileChunksInPlace(entry)).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.is(err?.message, "'big.bin' changed while the context was being packed");
});

test('a large file cut short after it was listed fails naming it', async () => {
  const { file, entry } = await bigFile(2 * MiB, 5);
  await digestContext([entry]);
  await truncate(file, MiB);
  const err = await collected(fileChunksInPlace(entry)).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.is(err?.message, "'big.bin' changed while the context was being packed");
});

test.run();
