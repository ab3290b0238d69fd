// The build context as a tar stream: entries sorted by byte order, fixed mtime and owner, modes kept,
// so that the same inputs give the same bytes. File contents are streamed from disk, never held whole.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { RunError } from './errors.ts';
import { compareNames, type PackEntry, type PlainSource } from './context-entries.ts';
import { compileIgnore, isIgnored, parseIgnoreFile } from './dockerignore.ts';

const EPOCH = new Date(0);

/** Expands the plan's sources into tar entries, sorted. Reads directories and stats, no file contents. */
export async function listEntries(sources: readonly PlainSource[]): Promise<PackEntry[]> {
  const entries: PackEntry[] = [];
  for (const source of sources) entries.push(...(await expandSource(source)));
  entries.sort((a, b) => compareNames(a.name, b.name));
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
    case 'path':
      return expandPath(source);
  }
}

async function expandPath(source: Extract<PlainSource, { kind: 'path' }>): Promise<PackEntry[]> {
  const stat = await lstat(source.path).catch(() => undefined);
  if (!stat) {
    throw new RunError(`'${source.origin}' does not exist`, 'check the path, or the step that should produce it');
  }
  if (!stat.isDirectory()) return [await fileEntry(source.name, source.path, source.origin, source.mode)];

  const ignoreFile = await readFile(path.join(source.path, '.dockerignore'), 'utf8').catch(() => '');
  const rules = compileIgnore([...parseIgnoreFile(ignoreFile), ...source.excludes]);
  const entries: PackEntry[] = [{ name: `${source.name}/`, type: 'directory', mode: stat.mode & 0o7777, size: 0 }];
  const walk = async (relativeDir: string): Promise<void> => {
    const names = await readdir(path.join(source.path, relativeDir));
    for (const name of names) {
      const relative = relativeDir ? `${relativeDir}/${name}` : name;
      if (isIgnored(relative, rules)) continue;
      const absolute = path.join(source.path, relative);
      const entryName = `${source.name}/${relative}`;
      const origin = `${source.origin}/${relative}`;
      const childStat = await lstat(absolute);
      if (childStat.isDirectory()) {
        entries.push({ name: `${entryName}/`, type: 'directory', mode: childStat.mode & 0o7777, size: 0 });
        await walk(relative);
      } else {
        entries.push(await fileEntry(entryName, absolute, origin, source.mode));
      }
    }
  };
  await walk('');
  return entries;
}

async function fileEntry(name: string, absolute: string, origin: string, mode?: number): Promise<PackEntry> {
  const stat = await lstat(absolute);
  if (stat.isSymbolicLink()) {
    return { name, type: 'symlink', mode: 0o777, size: 0, linkname: await readlink(absolute), origin };
  }
  if (!stat.isFile()) throw new RunError(`'${origin}' is neither a file, a directory nor a link`);
  return { name, type: 'file', mode: mode ?? stat.mode & 0o7777, size: stat.size, path: absolute, origin };
}

export interface EntryDigest {
  name: string;
  origin?: string;
  sha256: string;
}

/**
 * Streams the entries as a tar. `onEntry` hears each entry's own digest (content, mode, link target) as it
 * is written, which is how a build can later say which inputs changed.
 */
export function packEntries(entries: readonly PackEntry[], onEntry?: (digest: EntryDigest) => void): Readable {
  const pack = tar.pack();
  const write = async () => {
    for (const entry of entries) {
      const header = {
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
      const hash = createHash('sha256').update(`${entry.type} ${entry.mode.toString(8)} ${entry.linkname ?? ''}\n`);
      if (entry.type !== 'file') {
        await new Promise<void>((resolve, reject) => pack.entry(header, (err) => (err ? reject(err) : resolve())));
      } else if (entry.data) {
        hash.update(entry.data);
        await new Promise<void>((resolve, reject) =>
          pack.entry(header, Buffer.from(entry.data!), (err) => (err ? reject(err) : resolve())),
        );
      } else {
        await pipeline(createReadStream(entry.path!), tap(hash), pack.entry(header));
      }
      onEntry?.({ name: entry.name, origin: entry.origin, sha256: hash.digest('hex') });
    }
    pack.finalize();
  };
  write().catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  return pack as unknown as Readable;
}

function tap(hash: ReturnType<typeof createHash>): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
}

export interface ContextDigest {
  /** sha256 of the tar bytes. */
  sha256: string;
  bytes: number;
  /** origin → digest of that entry, for the entries that came from the project, a URL or the base. */
  manifest: Record<string, string>;
  /** The digest of the generated Dockerfile's entry. */
  dockerfile: string;
}

/** Packs the context once without sending it, to learn its digest: reads files, holds none of them. */
export async function digestContext(entries: readonly PackEntry[]): Promise<ContextDigest> {
  const manifest: Record<string, string> = {};
  let dockerfile = '';
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = packEntries(entries, (d) => {
    if (d.origin) manifest[d.origin] = d.sha256;
    if (d.name === 'Dockerfile') dockerfile = d.sha256;
  });
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  await pipeline(stream, sink);
  return { sha256: hash.digest('hex'), bytes, manifest, dockerfile };
}
