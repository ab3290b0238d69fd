// Files fetched over HTTP for a build. ONAP's script used `wget` and embedded whatever came back, error
// pages included; here anything but a 2xx fails the build, naming the URL. Each body is kept in a
// content-addressed cache, and a lock file beside the config pins the digest of every URL once seen, as
// npm's lock does: a rebuild needs no network, and a file that changed upstream fails until the user
// accepts it with --update-lock.
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { sortedEntries } from '../model/context-entries.ts';
import { Interrupted, RunError } from '../model/errors.ts';
import { stateFileWriter } from './state-file.ts';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

export const LOCK_FILE = 'build-images.lock.json';

export interface FetchSettings {
  cacheDir: string;
  lockPath: string;
  offline: boolean;
  updateLock: boolean;
  signal: AbortSignal;
}

export interface Fetched {
  path: string;
  sha256: string;
}

interface LockFile {
  lockfileVersion: 1;
  fetched: Record<string, { sha256: string; size: number }>;
}

export function defaultCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env['BUILD_IMAGES_CACHE']) return env['BUILD_IMAGES_CACHE'];
  return path.join(env['XDG_CACHE_HOME'] || path.join(os.homedir(), '.cache'), 'build-images');
}

export interface Fetcher {
  fetch(url: string, expected?: string): Promise<Fetched>;
  /** One file out of a fetched .tar.gz (the static docker client), kept in the cache beside it. */
  extract(archive: Fetched, member: string, url: string): Promise<string>;
}

export function createFetcher(settings: FetchSettings): Fetcher {
  let lock: Promise<LockFile> | undefined;
  const loadLock = () =>
    (lock ??= readFile(settings.lockPath, 'utf8').then(
      (text) => JSON.parse(text) as LockFile,
      () => ({ lockfileVersion: 1, fetched: {} }) as LockFile,
    ));
  const writeLock = stateFileWriter(settings.lockPath);
  const record = async (url: string, sha256: string, size: number) => {
    const current = await loadLock();
    current.fetched[url] = { sha256, size };
    await writeLock(`${JSON.stringify({ lockfileVersion: 1, fetched: Object.fromEntries(sortedEntries(current.fetched)) }, null, 2)}\n`);
  };
  const blob = (sha256: string) => path.join(settings.cacheDir, 'sha256', sha256);

  return {
    async fetch(url, expected) {
      const pinned = (await loadLock()).fetched[url]?.sha256;
      const wanted = expected ?? (settings.updateLock ? undefined : pinned);
      if (wanted && (await exists(blob(wanted)))) {
        if (pinned !== wanted) await record(url, wanted, (await stat(blob(wanted))).size);
        return { path: blob(wanted), sha256: wanted };
      }
      if (settings.offline) {
        throw new RunError(`${url} is not in the cache and --offline forbids fetching it`, 'run once without --offline to fill the cache');
      }
      const got = await download(url, settings.cacheDir, settings.signal);
      if (expected && got.sha256 !== expected) {
        await rm(got.path, { force: true });
        throw new RunError(`${url}: sha256 is ${got.sha256}, but the config expects ${expected}`, 'if the new file is right, update its sha256 in the config');
      }
      if (!expected && pinned && got.sha256 !== pinned && !settings.updateLock) {
        await rm(got.path, { force: true });
        throw new RunError(`${url} changed: sha256 ${got.sha256}, but ${LOCK_FILE} pins ${pinned}`, 'if the change is expected, run again with --update-lock');
      }
      await mkdir(path.dirname(blob(got.sha256)), { recursive: true });
      await rename(got.path, blob(got.sha256));
      if (pinned !== got.sha256) await record(url, got.sha256, got.size);
      return { path: blob(got.sha256), sha256: got.sha256 };
    },
    async extract(archive, member, url) {
      const wanted = path.posix.normalize(member).replace(/^\.?\//, '');
      // Keyed by the archive's digest: a rebuild finds the member there and reads no archive.
      const target = path.join(settings.cacheDir, 'extracted', archive.sha256, ...wanted.split('/'));
      if (await exists(target)) return target;
      await mkdir(path.dirname(target), { recursive: true });
      const tmp = `${target}.${randomUUID()}`;
      const found = await extractMember(archive.path, wanted, tmp).catch(async (err: Error) => {
        await rm(tmp, { force: true });
        throw new RunError(`${url} is not a readable .tar.gz: ${err.message}`);
      });
      if (!found) throw new RunError(`${url} has no file ${member}`, 'check the path inside the archive (tar tzf lists it)');
      await rename(tmp, target);
      return target;
    },
  };
}

/** Streams one member of a .tar.gz to `to`; false when the archive has no such file. */
async function extractMember(archive: string, wanted: string, to: string): Promise<boolean> {
  const extract = tar.extract();
  let found = false;
  extract.on('entry', (header, stream, next) => {
    const name = path.posix.normalize(header.name).replace(/^\.?\//, '');
    if (name === wanted && header.type === 'file' && !found) {
      found = true;
      pipeline(stream, createWriteStream(to)).then(() => next(), next);
    } else {
      stream.on('end', () => next());
      stream.resume();
    }
  });
  await pipeline(createReadStream(archive), createGunzip(), extract);
  return found;
}

async function download(url: string, cacheDir: string, signal: AbortSignal): Promise<Fetched & { size: number }> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow', signal });
  } catch (err) {
    if (signal.aborted) throw new Interrupted();
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new RunError(`fetching ${url} failed: ${cause?.code ?? cause?.message ?? (err as Error).message}`, 'check the URL and the network');
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new RunError(`fetching ${url} failed: HTTP ${response.status} ${response.statusText}`.trimEnd(), 'check the URL: nothing is embedded from an answer that is not a success');
  }
  const tmp = path.join(cacheDir, 'tmp', randomUUID());
  await mkdir(path.dirname(tmp), { recursive: true });
  const hash = createHash('sha256');
  let size = 0;
  try {
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream),
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          size += chunk.length;
          callback(null, chunk);
        },
      }),
      createWriteStream(tmp),
    );
  } catch (err) {
    await rm(tmp, { force: true });
    if (signal.aborted) throw new Interrupted();
    throw new RunError(`fetching ${url} failed while reading: ${(err as Error).message}`);
  }
  return { path: tmp, sha256: hash.digest('hex'), size };
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
