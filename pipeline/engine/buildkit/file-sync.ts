// The context through the session: the sending side of tonistiigi/fsutil's DiffCopy protocol, which the
// daemon drives as the receiver. We send a STAT for every entry in walk order and an empty STAT to end the
// listing; the daemon compares the listing with what it holds from earlier builds and sends a REQ (by index
// in the listing) for each file it needs; we answer with DATA chunks and an empty DATA per file; its FIN is
// answered with FIN. Only changed files cross, which is what makes a rebuild with few changes fast.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import path from 'node:path';
import type { PackEntry } from '../../model/context-entries.ts';
import { batchWriter, frame, framePrefix, onMessages, respond } from './grpc-server.ts';
import { dataPacketHead, fileSyncService, PACKET, type Packet, type Stat } from './session-services.ts';

/**
 * One entry of a context sent through the session: a context entry (a file on disk or bytes in hand, a
 * directory, a link). The daemon asks again only for files whose stat changed, so a change must show in size
 * or time: given as `mtimeMs` or as the context's `stat.mtimeMs`; absent, bytes in hand get a time derived
 * from their hash and a file on disk its own mtime.
 */
export type SessionFile = Pick<PackEntry, 'name' | 'type' | 'mode' | 'size' | 'path' | 'data' | 'linkname'> & {
  mtimeMs?: number;
  stat?: { mtimeMs: number };
};

const GO_MODE = { dir: 2 ** 31, symlink: 2 ** 27, setuid: 2 ** 23, setgid: 2 ** 22, sticky: 2 ** 20 };
// DATA packets carry at most this much: the daemon's gRPC client takes messages of up to 4 MiB; fsutil's own
// sender sends 32 KiB. Larger packets mean fewer of them to frame and to decode.
const CHUNK = 256 * 1024;

/** Unix permission bits and a type, as Go's os.FileMode that fsutil carries. */
export function goFileMode(type: SessionFile['type'], mode: number): number {
  let m = mode & 0o777;
  if (mode & 0o4000) m += GO_MODE.setuid;
  if (mode & 0o2000) m += GO_MODE.setgid;
  if (mode & 0o1000) m += GO_MODE.sticky;
  if (type === 'directory') m += GO_MODE.dir;
  if (type === 'symlink') m += GO_MODE.symlink;
  return m;
}

/** filepath.Walk's order: names compared component by component, so `a/b` comes before `a.txt`. */
export function compareWalkOrder(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const c = Buffer.compare(Buffer.from(pa[i]!), Buffer.from(pb[i]!));
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/^\.?\/+/, '')
    .replace(/\/+$/, '')
    .split('')
    .map((ch) => (ch === '*' ? '[^/]*' : ch === '?' ? '[^/]' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

/**
 * The entries the daemon asked for, every parent directory added, in walk order. `include`: the frontend
 * asks for the Dockerfile alone this way; a matched directory brings its contents. `exclude` patterns
 * starting with `!` are not supported (we never send a .dockerignore: the caller filtered already).
 */
export function listing(files: readonly SessionFile[], include: readonly string[] = [], exclude: readonly string[] = []): SessionFile[] {
  const byName = new Map<string, SessionFile>();
  for (const f of files) {
    // The entry itself is kept (not copied) unless its name needs cleaning: its content is read only when asked.
    const name = f.name.replace(/^\.\/+/, '').replace(/\/+$/, '');
    byName.set(name, name === f.name ? f : { ...f, name });
  }
  const includes = include.map(globToRegExp);
  const excludes = exclude.filter((p) => !p.startsWith('!')).map(globToRegExp);
  // The name, and each of its parent directories, from the top: no arrays made per name.
  const matches = (name: string, patterns: RegExp[]) => {
    for (let end = name.indexOf('/'); ; end = name.indexOf('/', end + 1)) {
      const prefix = end === -1 ? name : name.slice(0, end);
      if (patterns.some((re) => re.test(prefix))) return true;
      if (end === -1) return false;
    }
  };
  const chosen = new Map<string, SessionFile>();
  for (const [name, f] of byName) {
    if (includes.length > 0 && !matches(name, includes)) continue;
    if (excludes.length > 0 && matches(name, excludes)) continue;
    chosen.set(name, f);
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!chosen.has(dir)) chosen.set(dir, byName.get(dir) ?? { name: dir, type: 'directory', mode: 0o755, size: 0 });
    }
  }
  return [...chosen.values()].sort((a, b) => compareWalkOrder(a.name, b.name));
}

/** Followed paths, and the targets of those that are symbolic links, as fsutil's FollowLinks gives them. */
export function followed(files: readonly SessionFile[], paths: readonly string[]): string[] {
  if (paths.length === 0) return [];
  const links = new Map(files.filter((f) => f.type === 'symlink').map((f) => [f.name, f.linkname ?? '']));
  const out = new Set<string>();
  const add = (p: string, hops: number) => {
    const name = path.posix.normalize(p).replace(/^\.?\/+/, '');
    out.add(name);
    const target = links.get(name);
    if (target !== undefined && hops < 10) add(target.startsWith('/') ? target : path.posix.join(path.posix.dirname(name), target), hops + 1);
  };
  for (const p of paths) add(p, 0);
  return [...out];
}

/** The modification time that goes in the STAT, in ns. */
export async function modTimeNs(f: SessionFile): Promise<number> {
  const ms = f.mtimeMs ?? f.stat?.mtimeMs;
  if (ms !== undefined) return Math.round(ms * 1e6);
  if (f.type !== 'file') return 0;
  const data = f.data;
  if (data) return createHash('sha256').update(data).digest().readUInt32BE(0) * 1e6;
  return f.path ? Math.round((await lstat(f.path)).mtimeMs * 1e6) : 0;
}

export function statOf(f: SessionFile, modTime: number): Stat {
  return {
    path: f.name,
    mode: goFileMode(f.type, f.mode),
    uid: 0,
    gid: 0,
    size: f.type === 'file' ? f.size : 0,
    modTime,
    linkname: f.type === 'symlink' ? (f.linkname ?? '') : '',
  };
}

/** Serves one DiffCopy call: the daemon names the wanted part in the call's metadata. */
export interface DiffCopyOptions {
  read?: (file: SessionFile) => AsyncIterable<Uint8Array>;
  onError?: (err: Error) => void;
}

/** The part of a call's headers that says what the daemon wants: grpc-go sends a list as repeated headers. */
function metadataList(headers: IncomingHttpHeaders, key: string): string[] {
  const value = headers[key];
  // Repeated headers reach us joined with ", " (names holding ", " are not supported).
  return (Array.isArray(value) ? value : [value ?? '']).flatMap((v) => v.split(', ')).filter(Boolean);
}

export function serveDiffCopy(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, files: readonly SessionFile[], options: DiffCopyOptions = {}): void {
  // followpaths are what fsutil adds to the include patterns: the daemon names the COPY sources, or the
  // Dockerfile, this way, so only those are listed.
  const include = [...metadataList(headers, 'include-patterns'), ...followed(files, metadataList(headers, 'followpaths'))];
  const entries = listing(files, include, metadataList(headers, 'exclude-patterns'));

  respond(stream);
  const out = batchWriter(stream);
  let done = false;
  const send = (packet: Packet) => out.write([framedPacket(packet)]);
  const finish = () => {
    if (done) return;
    done = true;
    out.flush();
    stream.end();
  };
  const fail = (message: string, err?: Error) => {
    if (done) return;
    if (err) options.onError?.(err);
    send({ type: PACKET.ERR, ID: 0, data: Buffer.from(message) });
    finish();
  };

  const sendFile = async (id: number) => {
    const f = entries[id];
    if (!f || f.type !== 'file') throw new Error(`invalid file id ${id}`);
    for await (const bytes of contentOf(f, options.read)) {
      if (done) return;
      let sent = Promise.resolve();
      for (let at = 0; at < bytes.length; at += CHUNK) {
        const chunk = bytes.subarray(at, at + CHUNK);
        const head = dataPacketHead(id, chunk.length);
        sent = new Promise((resolve) => out.write([framePrefix(head.length + chunk.length), head, chunk], resolve));
      }
      // The reader may read its next chunk into the same memory (fileChunksInPlace): this one leaves first.
      await sent;
    }
    out.write([framedPacket({ type: PACKET.DATA, ID: id })]);
  };

  // Files are sent as they are asked for, while the listing still goes out, as fsutil's sender does: the
  // daemon writes the first files while it reads the last STATs. One file at a time, in the order asked.
  let listed = Promise.resolve();
  let sending = Promise.resolve();
  onMessages(stream, (message) => {
    const p = fileSyncService.DiffCopy.requestDeserialize(message);
    if (p.type === PACKET.REQ) {
      sending = sending.then(() => sendFile(p.ID)).catch((err: unknown) => fail(`sending a context file: ${(err as Error).message}`, err as Error));
    } else if (p.type === PACKET.FIN) {
      void Promise.all([listed, sending]).then(() => {
        if (done) return;
        send({ type: PACKET.FIN, ID: 0 });
        finish();
      });
    } else if (p.type === PACKET.ERR) {
      finish();
    }
  });
  stream.on('close', () => {
    done = true;
  });

  listed = (async () => {
    for (const f of entries) {
      if (done) return;
      send({ type: PACKET.STAT, ID: 0, stat: statOf(f, await modTimeNs(f)) });
      await out.room();
    }
    send({ type: PACKET.STAT, ID: 0 });
  })().catch((err: unknown) => fail((err as Error).message));
}

/** A file's bytes: read through `read` (which checks them against the digest), or as they are. */
function contentOf(f: SessionFile, read: DiffCopyOptions['read']): AsyncIterable<Uint8Array> | Uint8Array[] {
  // Read once: an entry's data may be a getter (the tests count reads this way).
  const data = f.data;
  if (data) return [data];
  if (!f.path) return [];
  return read ? read(f) : createReadStream(f.path, { highWaterMark: CHUNK });
}

function framedPacket(packet: Packet): Buffer {
  return frame(fileSyncService.DiffCopy.responseSerialize(packet));
}
