// Content digests of project files, kept between runs in .build-images/digests.json, keyed by what a
// change would alter: path, size, mtime and inode. A file modified in the last two seconds is not kept,
// since a second change within the same mtime tick would go unseen (git's "racy clean" rule).
import { readFile } from 'node:fs/promises';
import type { PackEntry } from '../model/context-entries.ts';
import { stateFileWriter } from './state-file.ts';

const RACY_MS = 2000;

export interface DigestCache {
  get(entry: PackEntry): string | undefined;
  set(entry: PackEntry, digest: string): void;
  save(): Promise<void>;
}

const keyOf = (entry: PackEntry) => `${entry.path}\0${entry.size}\0${entry.stat?.mtimeMs}\0${entry.stat?.ino}`;

export async function loadDigestCache(file: string, now: () => number = Date.now): Promise<DigestCache> {
  const stored = await readFile(file, 'utf8').then(
    (text) => JSON.parse(text) as Record<string, string>,
    () => ({}) as Record<string, string>,
  );
  const digests = new Map(Object.entries(stored));
  let dirty = false;
  const write = stateFileWriter(file);
  return {
    get: (entry) => (entry.stat ? digests.get(keyOf(entry)) : undefined),
    set(entry, digest) {
      if (!entry.stat || now() - entry.stat.mtimeMs < RACY_MS) return;
      digests.set(keyOf(entry), digest);
      dirty = true;
    },
    async save() {
      if (!dirty) return;
      dirty = false;
      await write(JSON.stringify(Object.fromEntries(digests)));
    },
  };
}
