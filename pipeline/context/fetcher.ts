// Files fetched over HTTP for a build. ONAP's script used `wget` and embedded whatever came back, error
// pages included; here anything but a 2xx fails the build, naming the URL. Each body is kept in a
// content-addressed cache, and a lock file beside the config pins the digest of every URL once seen, as
// npm's lock does: a rebuild needs no network, and a file that changed upstream fails until the user
// accepts it with --update-lock.
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DEFAULT_FETCH_TIMEOUTS, type FetchExpect } from '../model/context-entries.ts';
import { RunError, UserError } from '../model/errors.ts';
import { redactUrl } from '../model/url.ts';
import { holdsGiven, type GivenValues } from '../model/given-values.ts';
import { isWriteProblem, writeFailure } from './disk-errors.ts';
import { download, type Timeouts } from './download.ts';
import { checkFetchedBody, checkKind } from './fetched-body.ts';
import { emptyLock, LOCK_FILE, parseLock, serializeLock, SHA256, type LockFile } from './lock-file.ts';
import { updateStateFile } from './state-file.ts';

export { LOCK_FILE };

export interface FetchSettings {
  cacheDir: string;
  lockPath: string;
  offline: boolean;
  updateLock: boolean;
  signal: AbortSignal;
  /** Values given with --set or by the environment: a URL that holds one is pinned under its digest. */
  given?: GivenValues;
}

export interface Fetched {
  path: string;
  sha256: string;
}

export interface FetchOptions {
  /** The digest the config expects; without it the lock pins the first one seen. */
  sha256?: string;
  /** What the body must be; a body that is not fails and is never pinned. */
  expect?: FetchExpect;
  timeouts?: Timeouts;
}

export interface Fetcher {
  fetch(url: string, options?: FetchOptions): Promise<Fetched>;
  /**
   * The body's sha256 and size as the lock pins them, without fetching; undefined where the lock does not
   * know them (or --update-lock asks for the URL again), or the config expects another digest.
   */
  pinned(url: string, options?: Pick<FetchOptions, 'sha256'>): Promise<{ sha256: string; size: number } | undefined>;
  /** One file out of a fetched .tar.gz (the static docker client), kept in the cache beside it. */
  extract(archive: Fetched, member: string, url: string): Promise<string>;
}

export function createFetcher(settings: FetchSettings): Fetcher {
  const lockName = path.basename(settings.lockPath);
  let lock: Promise<LockFile> | undefined;
  const loadLock = () =>
    (lock ??= readFile(settings.lockPath, 'utf8').then(
      (text) => parseLock(lockName, text),
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return emptyLock();
        if (err.code === 'EISDIR') throw lockIsNotAFile(lockName);
        throw new RunError(`cannot read ${lockName}: ${err.message}`);
      },
    ));
  // The lock is committed: a URL that holds a value given with --set or by the environment (a token in
  // a query, a private host) is pinned under its digest, never written out. A pin under the URL itself
  // (written when the value was the config's own) still holds, and is the one updated.
  const keyIn = (fetched: LockFile['fetched'], url: string) =>
    Object.hasOwn(fetched, url) || !holdsGiven(url, settings.given ?? []) ? url : `sha256:${createHash('sha256').update(url).digest('hex')}`;
  const pinFor = async (url: string) => {
    const { fetched } = await loadLock();
    return fetched[keyIn(fetched, url)];
  };
  const pinnedFor = async (url: string) => (await pinFor(url))?.sha256;
  // Read again under the lock and merged: a concurrent run may have pinned other URLs since we read it.
  const record = async (url: string, sha256: string, size: number) => {
    const { fetched } = await loadLock();
    fetched[keyIn(fetched, url)] = { sha256, size };
    await updateStateFile(settings.lockPath, (text) => {
      const current = text === undefined ? emptyLock() : parseLock(lockName, text);
      current.fetched[keyIn(current.fetched, url)] = { sha256, size };
      return serializeLock(current);
    });
  };
  const blob = (sha256: string) => {
    // Every digest has been checked by the schema or the lock's parser; this is the last line before a path.
    if (!SHA256.test(sha256)) throw new RunError(`'${sha256}' is not a sha256 digest`);
    return path.join(settings.cacheDir, 'sha256', sha256);
  };

  // That a cached body passed the check for its kind, beside it: the body cannot change under its digest,
  // and the check of a YAML type file parses it, for every pinned file on every run.
  const checkedMark = (sha256: string, url: string, expect: FetchExpect) => `${blob(sha256)}.checked-${checkKind(url, expect)}`;
  const markChecked = (sha256: string, url: string, expect: FetchExpect) =>
    writeFile(checkedMark(sha256, url, expect), '').catch(() => {
      // Not remembered: the next run checks the body again, nothing worse.
    });

  return {
    async pinned(url, options = {}) {
      if (settings.updateLock) return undefined;
      const pin = await pinFor(url);
      return pin && (options.sha256 === undefined || options.sha256 === pin.sha256) ? { sha256: pin.sha256, size: pin.size } : undefined;
    },
    async fetch(url, options = {}) {
      const { sha256: expected, expect = 'binary' } = options;
      const shown = redactUrl(url);
      const pinned = await pinnedFor(url);
      const wanted = expected ?? (settings.updateLock ? undefined : pinned);
      if (wanted && (await exists(blob(wanted)))) {
        if (!(await exists(checkedMark(wanted, url, expect)))) {
          await checkFetchedBody(blob(wanted), url, expect).catch((err: RunError) => {
            throw new RunError(`${err.message}, in the cache as ${wanted}`, 'run again with --update-lock to fetch it anew');
          });
          await markChecked(wanted, url, expect);
        }
        if (pinned !== wanted) await record(url, wanted, (await stat(blob(wanted))).size);
        return { path: blob(wanted), sha256: wanted };
      }
      if (settings.offline) {
        throw new RunError(`${shown} is not in the cache and --offline forbids fetching it`, 'run once without --offline to fill the cache');
      }
      const got = await download(url, settings.cacheDir, settings.signal, options.timeouts ?? DEFAULT_FETCH_TIMEOUTS);
      try {
        await checkFetchedBody(got.path, url, expect, got.contentType);
        if (expected && got.sha256 !== expected) {
          throw new RunError(
            `${shown}: sha256 is ${got.sha256}, but the config expects ${expected}`,
            'if the new file is right, update its sha256 in the config',
          );
        }
        if (!expected && pinned && got.sha256 !== pinned && !settings.updateLock) {
          throw new RunError(
            `${shown} changed: sha256 ${got.sha256}, but ${LOCK_FILE} pins ${pinned}`,
            'if the change is expected, run again with --update-lock',
          );
        }
        await mkdir(path.dirname(blob(got.sha256)), { recursive: true });
        await rename(got.path, blob(got.sha256));
        await markChecked(got.sha256, url, expect);
      } catch (err) {
        await rm(got.path, { force: true });
        throw isWriteProblem(err) ? writeFailure(blob(got.sha256), err) : err;
      }
      if (pinned !== got.sha256) await record(url, got.sha256, got.size);
      return { path: blob(got.sha256), sha256: got.sha256 };
    },
    async extract(archive, member, url) {
      const wanted = memberName(member);
      if (wanted === undefined) {
        throw new RunError(`extract: '${member}' is not a file inside the archive`, 'name a relative path inside it, without .. (tar tzf lists them)');
      }
      // Keyed by the archive's digest: a rebuild finds the member there and reads no archive.
      const target = path.join(settings.cacheDir, 'extracted', path.basename(blob(archive.sha256)), ...wanted.split('/'));
      if (await exists(target)) return target;
      const tmp = `${target}.${randomUUID()}`;
      const found = await (async () => {
        await mkdir(path.dirname(target), { recursive: true });
        return extractMember(archive.path, wanted, tmp);
      })().catch(async (err: Error) => {
        await rm(tmp, { force: true });
        // A full disk is the disk's fault, not the archive's.
        if (isWriteProblem(err)) throw writeFailure(target, err);
        throw new RunError(`${redactUrl(url)} is not a readable .tar.gz: ${err.message}`);
      });
      if (!found) throw new RunError(`${redactUrl(url)} has no file ${member}`, 'check the path inside the archive (tar tzf lists it)');
      await rename(tmp, target);
      return target;
    },
  };
}

function lockIsNotAFile(name: string): Error {
  return new UserError({ message: `${name} is a directory, not a lock file`, hint: 'remove it: the next run writes the lock file again' });
}

/** A member name as tar writes it (`./a/b` is `a/b`); undefined for one that is absolute or climbs out. */
export function memberName(member: string): string | undefined {
  if (member.startsWith('/') || member.includes('\0')) return undefined;
  const normal = path.posix.normalize(member).replace(/^(\.\/)+/, '');
  if (normal === '.' || normal === '' || normal.endsWith('/') || normal.split('/').includes('..')) return undefined;
  return normal;
}

/** Streams one member of a .tar.gz to `to`; false when the archive has no such file. */
async function extractMember(archive: string, wanted: string, to: string): Promise<boolean> {
  // Loaded here, on the rare fetch of an archive, not by every run (~5 ms of module loading between them).
  const [{ createGunzip }, { default: tar }] = await Promise.all([import('node:zlib'), import('tar-stream')]);
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

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
