// The build context as a tar stream: entries sorted by byte order, fixed mtime and owner, modes kept,
// so that the same inputs give the same bytes. Large files are streamed from disk; a small one is read in
// one call (a stream per 4 KiB file costs more than its bytes), so memory stays bounded by one small file
// and the stream's buffers, never by the context.
import crypto, { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { lstat, open, readFile, readlink, realpath, stat as statOf, type FileHandle } from 'node:fs/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Header, Pack } from 'tar-stream';
import { RunError, UserError, type Problem } from '../model/errors.ts';
import { DOCKERFILE, sortByName, type PackEntry, type PlainSource } from '../model/context-entries.ts';
import type { DigestCache } from './digest-cache.ts';
import { compileIgnore, isIgnored, parseIgnoreFile } from './dockerignore.ts';

const EPOCH = new Date(0);
type TarHeader = Partial<Header> & Pick<Header, 'name'>;
const SMALL_FILE = 1024 * 1024;
// Hashing files (not reading a small one) is what may run in parallel, this many at a time.
const PARALLEL_DIGESTS = 8;
const IN_PLACE_CHUNK = 256 * 1024;

/** Expands the plan's sources into tar entries, sorted. Reads directories and stats, no file contents. */
export async function listEntries(sources: readonly PlainSource[]): Promise<PackEntry[]> {
  const entries = (await Promise.all(sources.map(expandSource))).flat();
  sortByName(entries, (entry) => entry.name);
  for (let i = 1; i < entries.length; i++) {
    if (entries[i]!.name === entries[i - 1]!.name) {
      throw new RunError(`two context entries are named '${entries[i]!.name}'`);
    }
  }
  return entries;
}

async function expandSource(source: PlainSource): Promise<PackEntry[]> {
  switch (source.kind) {
    case 'bytes': {
      const data = typeof source.data === 'string' ? Buffer.from(source.data) : source.data;
      return [{ name: source.name, type: 'file', mode: source.mode, size: data.byteLength, data, origin: source.origin }];
    }
    case 'dir':
      return [{ name: `${source.name}/`, type: 'directory', mode: source.mode, size: 0 }];
    case 'pinned':
      return [
        { name: source.name, type: 'file', mode: source.mode, size: source.size, origin: source.origin, pinned: { sha256: source.sha256, body: source.body } },
      ];
    case 'path':
      return expandPath(source);
  }
}

type PathSource = Extract<PlainSource, { kind: 'path' }>;

async function expandPath(source: PathSource): Promise<PackEntry[]> {
  // The project or a source named whole (`from: .`, `from: px:`) is followed even when it is a link.
  const isRoot = source.root !== undefined && path.resolve(source.path) === path.resolve(source.root);
  const stat = await (isRoot ? statOf : lstat)(source.path).catch(() => undefined);
  if (!stat) {
    const problem = { message: `copy: '${source.origin}' does not exist`, hint: 'check the path, or the step that should produce it' };
    throw source.at ? new UserError({ ...problem, at: source.at }) : new RunError(problem.message, problem.hint);
  }
  // Checked as the run was planned, and again now: the disk may have changed since.
  const wrong = await copyPathProblem(source).catch((err: unknown) => {
    throw readFailure(source.origin, err);
  });
  if (wrong) throw new UserError(wrong);
  if (!stat.isDirectory()) {
    if (!source.wrapFile) return [await fileEntry(source.name, source.path, source.origin, source.mode)];
    const inside = `${source.name}/${path.basename(source.path)}`;
    return [{ name: `${source.name}/`, type: 'directory', mode: 0o755, size: 0 }, await fileEntry(inside, source.path, source.origin, source.mode)];
  }

  const ignoreFile = await readIgnoreFile(path.join(source.path, '.dockerignore'), `${source.origin}/.dockerignore`);
  const rules = compileIgnore([...parseIgnoreFile(ignoreFile), ...source.excludes]);
  const entries: PackEntry[] = [{ name: `${source.name}/`, type: 'directory', mode: DIRECTORY_MODE, size: 0 }];
  // A symbolic link met on the way is packed as a link and never followed (lstat, not stat): a link to
  // /etc in the project puts a harmless link in the image, not the host's files. Directories are read and
  // their entries looked at synchronously, like small files (readSmall): a page-cached lstat takes a few
  // µs this way against tens through the thread pool (measured: 2,000 files listed in 15-36 ms, against
  // 50-94 ms with fs.promises). The loop turns between directories.
  const walk = async (relativeDir: string): Promise<void> => {
    const where = relativeDir ? `${source.origin}/${relativeDir}` : source.origin;
    const subdirectories: string[] = [];
    for (const name of readDirectory(path.join(source.path, relativeDir), where)) {
      const relative = relativeDir ? `${relativeDir}/${name}` : name;
      if (isIgnored(relative, rules)) continue;
      const absolute = path.join(source.path, relative);
      const origin = `${source.origin}/${relative}`;
      const childStat = lstatOrFail(absolute, origin);
      if (childStat.isSymbolicLink()) checkLinkInside(source, relative, absolute, origin);
      if (childStat.isDirectory()) {
        entries.push({ name: `${source.name}/${relative}/`, type: 'directory', mode: DIRECTORY_MODE, size: 0 });
        subdirectories.push(relative);
      } else {
        entries.push(entryOf(`${source.name}/${relative}`, absolute, origin, source.mode, childStat));
      }
    }
    for (const relative of subdirectories) {
      await yieldToLoop();
      await walk(relative);
    }
  };
  await walk('');
  return entries;
}

const leaves = (relative: string) => relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative);

/**
 * What is wrong on the disk with a copy's path, checked as the run is planned (so that `--dry-run` says it
 * too) and again as the context is packed. The config's check that a path stays in the project is lexical;
 * this one follows links: one among the path's directories (`escape -> /etc`, then `from: escape/shadow`)
 * must not lead outside. The path itself may not be a link: COPY would follow it inside the context, where
 * what it points to is not (the engine's own "failed to compute cache key"). Undefined when nothing is
 * wrong, also when the path is not there yet: a step before the copy may make it.
 */
export async function copyPathProblem(source: PathSource): Promise<Problem | undefined> {
  // The root itself (`from: .`, `from: px:`) may be reached through a link: it is what the user named.
  if (!source.root || path.resolve(source.path) === path.resolve(source.root)) return undefined;
  const realRoot = await realpath(source.root).catch(missingIsFine);
  if (realRoot === undefined) return undefined;
  const real = await realParts(source.path);
  if (leaves(path.relative(realRoot, real))) {
    return {
      message: `copy: '${source.origin}' leads outside ${path.basename(source.root)} through a symbolic link (it is ${real})`,
      hint: 'copy only what lies in the project or a declared source; to copy a directory from elsewhere, declare it under `sources:`',
      at: source.at,
    };
  }
  const stat = await lstat(source.path).catch(missingIsFine);
  if (!stat?.isSymbolicLink()) return undefined;
  const target = await realpath(source.path).catch(missingIsFine);
  const prefix = /^[a-z0-9][a-z0-9._/-]*:/.exec(source.origin)?.[0] ?? '';
  const within = target !== undefined && !leaves(path.relative(realRoot, target));
  return {
    message: `copy: '${source.origin}' is a symbolic link (to ${await readlink(source.path)}): a link is copied only from inside a copied directory, pointing inside it`,
    hint: within
      ? `copy what it points to: from: ${prefix}${path.relative(realRoot, target) || '.'}`
      : `it points ${target === undefined ? 'to nothing' : `outside ${path.basename(source.root)}`}: copy only what lies in the project or a declared source`,
    at: source.at,
  };
}

/** The path with its directories' links resolved: of its longest part that exists, then the rest as written. */
async function realParts(absolute: string): Promise<string> {
  const rest: string[] = [path.basename(absolute)];
  for (let dir = path.dirname(absolute); ; dir = path.dirname(dir)) {
    const real = await realpath(dir).catch(missingIsFine);
    if (real !== undefined || dir === path.dirname(dir)) return path.join(real ?? dir, ...rest);
    rest.unshift(path.basename(dir));
  }
}

const missingIsFine = (err: NodeJS.ErrnoException): undefined => {
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
  throw err;
};

/**
 * A link met inside a copied directory is packed as a link, never followed, and only when it points inside
 * what is copied: one to /etc or up out of the directory would mean something else in the image than here.
 */
function checkLinkInside(source: PathSource, relative: string, absolute: string, origin: string): void {
  let linkname: string;
  try {
    linkname = readlinkSync(absolute);
  } catch (err) {
    throw readFailure(origin, err);
  }
  if (!path.isAbsolute(linkname) && !leaves(path.normalize(path.join(path.dirname(relative), linkname)))) return;
  throw new UserError({
    message: `copy: '${origin}' is a symbolic link to ${linkname}, outside the copied '${source.origin}'`,
    hint: 'a link is copied as a link only when it points inside what is copied: copy what it points to instead, or make the link with a run step',
    at: source.at,
  });
}

/** Every copy of the images to build, checked on the disk as the run is planned: all problems at once. */
export async function checkCopies(sources: readonly PlainSource[]): Promise<void> {
  const problems = await Promise.all(
    sources.map((source) =>
      source.kind === 'path'
        ? copyPathProblem(source).catch((err: unknown) => {
            throw readFailure(source.origin, err);
          })
        : undefined,
    ),
  );
  const found = problems.filter((p): p is Problem => p !== undefined);
  if (found.length > 0) throw new UserError(found);
}

async function readIgnoreFile(file: string, origin: string): Promise<string> {
  const stat = await lstat(file).catch(() => undefined);
  if (!stat?.isFile()) return '';
  return readFile(file, 'utf8').catch((err: unknown) => {
    throw readFailure(origin, err);
  });
}

/** A read error, said in the user's terms: what could not be read, and why. */
function readFailure(origin: string, err: unknown, what = 'file'): Error {
  if (err instanceof RunError || err instanceof UserError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EACCES' || code === 'EPERM')
    return new RunError(`cannot read the ${what} '${origin}': permission denied`, 'make it readable, or leave it out with exclude');
  if (code === 'ENOENT')
    return new RunError(`'${origin}' disappeared while the context was being packed`, 'is something else writing to the project while it builds?');
  return new RunError(`cannot read '${origin}': ${(err as Error)?.message ?? String(err)}`);
}

async function fileEntry(name: string, absolute: string, origin: string, mode?: number): Promise<PackEntry> {
  const stat = await lstat(absolute).catch((err: unknown) => {
    throw readFailure(origin, err);
  });
  return entryOf(name, absolute, origin, mode, stat);
}

function readDirectory(absolute: string, origin: string): string[] {
  try {
    return readdirSync(absolute);
  } catch (err) {
    throw readFailure(origin, err, 'directory');
  }
}

function lstatOrFail(absolute: string, origin: string): Stats {
  try {
    return lstatSync(absolute);
  } catch (err) {
    throw readFailure(origin, err);
  }
}

/**
 * A project file's mode as git keeps it: executable by its owner or not (0755, 0644), whatever the umask of
 * the machine that checked it out (a CI runner's 0002 gives 0664). The image, and the digest of its inputs,
 * are then the same on every machine; a step's `mode:` sets any other.
 */
const checkoutMode = (mode: number) => (mode & 0o100 ? 0o755 : 0o644);
const DIRECTORY_MODE = 0o755;

/** The entry of a file or a link, from its lstat. */
function entryOf(name: string, absolute: string, origin: string, mode: number | undefined, stat: Stats): PackEntry {
  if (stat.isSymbolicLink()) {
    let linkname: string;
    try {
      linkname = readlinkSync(absolute);
    } catch (err) {
      throw readFailure(origin, err);
    }
    return { name, type: 'symlink', mode: 0o777, size: 0, linkname, origin };
  }
  if (!stat.isFile()) throw new RunError(`'${origin}' is neither a file, a directory nor a link`);
  return {
    name,
    type: 'file',
    mode: mode ?? checkoutMode(stat.mode),
    size: stat.size,
    path: absolute,
    origin,
    stat: { mtimeMs: stat.mtimeMs, ino: stat.ino },
  };
}

/**
 * Streams the entries as a tar. tar-stream is loaded with the first tar (the classic builder's, a tar body),
 * not by every run: ~5 ms of loading a run through the session never needed.
 */
export function packEntries(entries: readonly PackEntry[]): Readable {
  const out = new PassThrough();
  import('tar-stream').then(
    ({ default: tar }) => {
      if (out.destroyed) return;
      const pack = tar.pack();
      // Destroying what we return (a build called off) destroys the pack, and a failed pack fails it.
      pipeline(pack as unknown as Readable, out).catch(() => {});
      writeEntries(pack, entries);
    },
    (err: Error) => out.destroy(err),
  );
  return out;
}

function writeEntries(pack: Pack, entries: readonly PackEntry[]): void {
  const add = (header: TarHeader, data?: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      const sink = data ? pack.entry(header, data, done) : pack.entry(header, done);
      // A pack destroyed under it (a build called off, Ctrl-C: the request's signal destroys its body)
      // destroys the entry with the same error; the pack's reader hears of it, and an entry with no listener
      // would end the process.
      sink.on('error', () => {});
    });
  const write = async () => {
    for (const entry of entries) {
      refuseUnfetched(entry);
      const header: TarHeader = {
        name: entry.name,
        type: entry.type,
        mode: entry.mode,
        size: entry.type === 'file' ? entry.size : 0,
        mtime: EPOCH,
        uid: 0,
        gid: 0,
        uname: '',
        gname: '',
        linkname: entry.linkname,
      };
      if (entry.type !== 'file') await add(header);
      else if (entry.data) await add(header, Buffer.from(entry.data));
      else if (entry.size <= SMALL_FILE) await add(header, checked(entry, readSmall(entry)));
      else await streamFile(entry, pack.entry(header));
    }
    pack.finalize();
  };
  write().catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
}

/**
 * A file entry's bytes as they go to the builder: no more than were listed, and those that were digested
 * (the image's label records that digest). A file written to while it is sent fails the build, naming it,
 * rather than shifting every entry after it in a tar or reaching the image changed. Both ways of sending a
 * context (a tar body, BuildKit's file sync) read through here.
 */
export async function* fileChunks(entry: PackEntry): AsyncGenerator<Buffer> {
  refuseUnfetched(entry);
  if (entry.data) {
    yield Buffer.from(entry.data);
    return;
  }
  if (entry.size <= SMALL_FILE) {
    yield checked(entry, readSmall(entry));
    return;
  }
  const hash = createHash('sha256');
  let read = 0;
  try {
    for await (const chunk of createReadStream(entry.path!, { start: 0, end: Math.max(0, entry.size - 1) })) {
      hash.update(chunk as Buffer);
      read += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  } catch (err) {
    throw readFailure(entry.origin ?? entry.path!, err);
  }
  await checkUnchanged(entry, read, hash.digest('hex'));
}

/**
 * fileChunks for a consumer that is done with each chunk (has written it out) before it asks for the
 * next: a large file's chunks share one buffer (readInPlace). Sending a 1 GiB context through the session
 * with a stream's new Buffer per read took the process's peak RSS to 164-176 MB, with up to a quarter of
 * its CPU time in the garbage collector.
 */
export async function* fileChunksInPlace(entry: PackEntry): AsyncGenerator<Buffer> {
  refuseUnfetched(entry);
  if (entry.data || entry.size <= SMALL_FILE) {
    yield* fileChunks(entry);
    return;
  }
  const hash = createHash('sha256');
  let read = 0;
  for await (const chunk of readInPlace(entry)) {
    hash.update(chunk);
    read += chunk.length;
    yield chunk;
  }
  await checkUnchanged(entry, read, hash.digest('hex'));
}

/**
 * A large file's bytes (no more than were listed), read into one buffer used again for every read: each
 * chunk holds until the next is asked for. A stream would make a new Buffer per read, which the garbage
 * collector frees only in its own time.
 */
async function* readInPlace(entry: PackEntry): AsyncGenerator<Buffer> {
  const buffer = Buffer.allocUnsafe(IN_PLACE_CHUNK);
  let read = 0;
  let handle: FileHandle | undefined;
  try {
    handle = await open(entry.path!, 'r');
    while (read < entry.size) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, entry.size - read), read);
      if (bytesRead === 0) return;
      read += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } catch (err) {
    throw readFailure(entry.origin ?? entry.path!, err);
  } finally {
    await handle?.close();
  }
}

/** After a large file was read: it must still be the file that was listed and digested. */
async function checkUnchanged(entry: PackEntry, read: number, digest: string): Promise<void> {
  const now = await statOf(entry.path!).catch((err: unknown) => {
    throw readFailure(entry.origin ?? entry.path!, err);
  });
  if (read !== entry.size || now.size !== entry.size || (entry.stat && now.mtimeMs !== entry.stat.mtimeMs)) throw changedWhilePacked(entry);
  checkDigest(entry, digest);
}

/** A large file into its tar entry, through fileChunks. */
async function streamFile(entry: PackEntry, into: NodeJS.WritableStream): Promise<void> {
  try {
    await pipeline(Readable.from(fileChunks(entry)), into);
  } catch (err) {
    // tar-stream's own complaint about a short entry is the file having shrunk.
    throw err instanceof RunError || err instanceof UserError ? err : changedWhilePacked(entry);
  }
}

/** A small file's bytes, checked against the digest the context's label records. */
function checked(entry: PackEntry, data: Buffer): Buffer {
  checkDigest(entry, sha256Hex(data));
  return data;
}

function checkDigest(entry: PackEntry, digest: string): void {
  const expected = contentDigests.get(entry);
  if (expected !== undefined && expected !== digest) throw changedWhilePacked(entry);
}

function changedWhilePacked(entry: PackEntry): RunError {
  return new RunError(`'${entry.origin ?? entry.path}' changed while the context was being packed`, 'let whatever writes it finish, then build again');
}

/** The content digest each file entry was given by digestContext, to check the packed bytes against. */
const contentDigests = new WeakMap<PackEntry, string>();

/**
 * A small file's bytes, read synchronously: a page-cached 4 KiB file takes ~16 µs this way against ~200 µs
 * of thread-pool round trips through fs.promises, and the loop still turns between entries. One that
 * changed size since it was listed fails, as tar-stream would.
 */
/** A pinned fetch stands in for its body in a digest only: a build that met one would send no bytes for it. */
function refuseUnfetched(entry: PackEntry): void {
  if (entry.pinned) throw new RunError(`${entry.origin ?? entry.name} was not fetched before its build (a bug: please report it)`);
}

function readSmall(entry: PackEntry): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(entry.path!);
  } catch (err) {
    throw readFailure(entry.origin ?? entry.path!, err);
  }
  if (data.length !== entry.size) throw changedWhilePacked(entry);
  return data;
}

export interface ContextDigest {
  /** sha256 over every entry's name, type, mode, size, link and content digest: what decides the tar bytes. */
  sha256: string;
  /** origin → digest of that entry, for the entries that came from the project, a URL or the base. */
  manifest: Record<string, string>;
  /** The digest of the generated Dockerfile's entry. */
  dockerfile: string;
}

/**
 * The digest of the context the entries make, without packing it: the tar bytes are a function of exactly
 * these fields, so equal digests mean equal contexts. A file's content digest comes from the cache when
 * its path, size, mtime and inode are unchanged: a rebuild with nothing changed reads no file.
 */
export async function digestContext(entries: readonly PackEntry[], cache?: DigestCache): Promise<ContextDigest> {
  // What is known without reading (a link, generated bytes, a file the cache knows unchanged) is taken at
  // once: most entries of a rebuild, each of which cost a promise and a turn of the pool before.
  const content = entries.map((entry) => knownDigest(entry, cache));
  const unknown = entries.flatMap((_, i) => (content[i] === undefined ? [i] : []));
  const read = await mapLimit(unknown, PARALLEL_DIGESTS, (i) => contentDigest(entries[i]!, cache));
  unknown.forEach((index, i) => (content[index] = read[i]));
  const hash = createHash('sha256');
  const manifest: Record<string, string> = {};
  let dockerfile = '';
  entries.forEach((entry, i) => {
    const own = sha256Hex(`${entry.type} ${entry.mode.toString(8)} ${entry.linkname ?? ''} ${content[i]}`);
    hash.update(`${entry.name}\0${entry.size}\0${own}\n`);
    if (entry.origin) manifest[entry.origin] = own;
    if (entry.name === DOCKERFILE) dockerfile = own;
  });
  return { sha256: hash.digest('hex'), manifest, dockerfile };
}

/**
 * A small input's sha256 in hex. crypto.hash (Node 20.12 on) makes no Hash object: the digest pass makes one
 * per entry, and 4,000 took 6 ms that way against 19 with createHash. Older Node 20s have createHash only.
 */
const sha256Hex: (data: string | Uint8Array) => string =
  typeof crypto.hash === 'function' ? (data) => crypto.hash('sha256', data, 'hex') : (data) => createHash('sha256').update(data).digest('hex');

/** An entry's content digest when it needs no read: undefined for a file the cache does not know. */
function knownDigest(entry: PackEntry, cache?: DigestCache): string | undefined {
  if (entry.type !== 'file') return '';
  if (entry.pinned) return entry.pinned.sha256;
  if (entry.data) return sha256Hex(entry.data);
  const cached = cache?.get(entry);
  if (cached) contentDigests.set(entry, cached);
  return cached;
}

async function contentDigest(entry: PackEntry, cache?: DigestCache): Promise<string> {
  const known = knownDigest(entry, cache);
  if (known !== undefined) return known;
  const hash = createHash('sha256');
  if (entry.size <= SMALL_FILE) hash.update(readSmall(entry));
  else {
    let read = 0;
    for await (const chunk of readInPlace(entry)) {
      hash.update(chunk);
      read += chunk.length;
    }
    if (read !== entry.size) throw changedWhilePacked(entry);
  }
  const digest = hash.digest('hex');
  contentDigests.set(entry, digest);
  cache?.set(entry, digest);
  return digest;
}

/** Like Promise.all over a map, with at most `limit` calls under way. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let index = 0;
  const worker = async () => {
    while (index < items.length) {
      const i = index++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
