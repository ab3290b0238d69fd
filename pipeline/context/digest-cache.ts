// Content digests of project files, kept between runs in .build-images/digests.json, keyed by what a
// change would alter: path, size, mtime and inode. A file modified in the last two seconds is not kept,
// since a second change within the same mtime tick would go unseen (git's "racy clean" rule). The key is
// kept as its digest: a path may hold a value taken from the environment (PX_SRC, a checkout elsewhere).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { PackEntry } from '../model/context-entries.ts';
import { updateStateFile } from './state-file.ts';

const RACY_MS = 2000;

export interface DigestCache {
  get(entry: PackEntry): string | undefined;
  set(entry: PackEntry, digest: string): void;
  save(): Promise<void>;
}

export interface DigestCacheOptions {
  now?: () => number;
  /** Told when the file was unreadable and has been set aside: a cache is never worth failing a build for. */
  notice?: (message: string) => void;
}

const keyOf = (entry: PackEntry) => createHash('sha256').update(`${entry.path}\0${entry.size}\0${entry.stat?.mtimeMs}\0${entry.stat?.ino}`).digest('base64url');

export async function loadDigestCache(file: string, { now = Date.now, notice = () => {} }: DigestCacheOptions = {}): Promise<DigestCache> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? '{}' : err));
  const stored = typeof text === 'string' ? parseDigests(text) : undefined;
  if (!stored) {
    const why = typeof text === 'string' ? 'is not a digest cache (cut short or damaged?)' : `cannot be read (${text.code ?? text.message})`;
    notice(`${path.basename(path.dirname(file))}/${path.basename(file)} ${why}: it is set aside, and the files it covered are digested again`);
  }
  const digests = new Map(Object.entries(stored ?? {}));
  const added = new Map<string, string>();
  // A damaged file is replaced at the first save, even one that adds nothing.
  let replace = !stored;
  return {
    get: (entry) => (entry.stat ? digests.get(keyOf(entry)) : undefined),
    set(entry, digest) {
      if (!entry.stat || now() - entry.stat.mtimeMs < RACY_MS) return;
      digests.set(keyOf(entry), digest);
      added.set(keyOf(entry), digest);
    },
    async save() {
      if (added.size === 0 && !replace) return;
      const ours = Object.fromEntries(added);
      added.clear();
      replace = false;
      // Merged into what is on disk now: another run may have added its own digests since we read it.
      await updateStateFile(file, (current) => JSON.stringify({ ...(current === undefined ? {} : parseDigests(current)), ...ours }));
    },
  };
}

/** The stored digests, or undefined for a file that is not a map of keys to sha256 digests. */
function parseDigests(text: string): Record<string, string> | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const valid = Object.values(json).every((v) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v));
  return valid ? (json as Record<string, string>) : undefined;
}
