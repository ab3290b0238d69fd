// A cache directory served to the daemon as a content store over the session, as BuildKit's own client serves
// one (session/content): the daemon writes an exported cache's blobs into it and reads an imported cache's
// blobs out of it, through containerd's content service, the store chosen by a header of each call. Blobs
// land as an OCI image layout keeps them, blobs/sha256/<hex>; each is written under ingest/ first and renamed
// into place only once its size and digest check out, so a blob's name never holds part of it. index.json is
// not written here: the client writes it once the solve has succeeded (oci-layout.ts).
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import type http2 from 'node:http2';
import path from 'node:path';
import {
  CONTENT,
  decodeFirstString,
  decodeReadRequest,
  decodeWriteRequest,
  encodeInfoResponse,
  encodeWriteResponse,
  readResponseHead,
  STORE_ID_HEADER,
  WRITE_ACTION,
  type WriteRequest,
} from './content-proto.ts';
import { endWithStatus, framePrefix, frame, GRPC_STATUS, GrpcError, onMessages, respond, unaryCall, type CallHandler } from './grpc-server.ts';

/** A directory the session serves, by store id; only an export's may be written. */
export interface ContentDir {
  dir: string;
  writable: boolean;
}

export type ContentStores = ReadonlyMap<string, ContentDir>;

/** The content service's methods, as the daemon is told them. */
export const contentMethods: readonly string[] = Object.values(CONTENT);

const READ_CHUNK = 1024 * 1024;

/** The routes of the content service over these stores. */
export function contentRoutes(stores: ContentStores): [string, CallHandler][] {
  return [
    // async: a store not found is the call's status, never a throw out of the stream's event.
    [CONTENT.info, (stream, headers) => unaryCall(async (request) => info(chosen(stores, headers), decodeFirstString(request)))(stream, headers)],
    [CONTENT.read, (stream, headers) => serveRead(stream, headers, stores)],
    [CONTENT.write, (stream, headers) => serveWrite(stream, headers, stores)],
    // Every write here starts afresh (an ingest lives as long as its stream), so no ingest is ever pending.
    [CONTENT.status, unaryCall(async (request) => Promise.reject(new GrpcError(GRPC_STATUS.NOT_FOUND, `no write ${decodeFirstString(request)} in progress`)))],
    [CONTENT.abort, unaryCall(async () => Buffer.alloc(0))],
  ];
}

function chosen(stores: ContentStores, headers: http2.IncomingHttpHeaders): ContentDir {
  const raw = headers[STORE_ID_HEADER];
  const id = Array.isArray(raw) ? raw[0] : raw;
  if (!id) throw new GrpcError(GRPC_STATUS.INVALID_ARGUMENT, `the call names no store (${STORE_ID_HEADER})`);
  const store = stores.get(id);
  if (!store) throw new GrpcError(GRPC_STATUS.NOT_FOUND, `unknown store ${id}`);
  return store;
}

/** Where a blob of this digest lives; a digest of another form is refused, so no path is made of it. */
export function blobPath(dir: string, digest: string): string {
  const hex = /^sha256:([a-f0-9]{64})$/.exec(digest)?.[1];
  if (!hex) throw new GrpcError(GRPC_STATUS.INVALID_ARGUMENT, `not a sha256 digest: ${digest.slice(0, 80)}`);
  return path.join(dir, 'blobs', 'sha256', hex);
}

async function blobStat(dir: string, digest: string): Promise<{ size: number; mtimeMs: number; birthtimeMs: number } | undefined> {
  const found = await stat(blobPath(dir, digest)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new GrpcError(GRPC_STATUS.UNAVAILABLE, `blob ${digest} could not be read (${err.code})`);
  });
  return found?.isFile() ? found : undefined;
}

async function info(store: ContentDir, digest: string): Promise<Buffer> {
  const found = await blobStat(store.dir, digest);
  if (!found) throw new GrpcError(GRPC_STATUS.NOT_FOUND, `content ${digest}: not found`);
  return encodeInfoResponse({ digest, size: found.size, createdAt: found.birthtimeMs || found.mtimeMs, updatedAt: found.mtimeMs });
}

/** Read: the blob from `offset`, `size` bytes or to its end, in chunks of its own messages, as fast as the daemon takes them. */
function serveRead(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, stores: ContentStores): void {
  let request: Buffer | undefined;
  onMessages(stream, (message) => (request ??= message));
  stream.on('end', () => {
    sendBlob(stream, headers, stores, request ?? Buffer.alloc(0)).catch((err: unknown) => failCall(stream, err));
  });
}

async function sendBlob(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, stores: ContentStores, message: Buffer): Promise<void> {
  const store = chosen(stores, headers);
  const { digest, offset, size } = decodeReadRequest(message);
  const found = await blobStat(store.dir, digest);
  if (!found) throw new GrpcError(GRPC_STATUS.NOT_FOUND, `content ${digest}: not found`);
  const start = Math.max(0, offset);
  if (start > found.size) throw new GrpcError(GRPC_STATUS.OUT_OF_RANGE, `offset ${start} is past the end of ${digest} (${found.size} bytes)`);
  const end = size > 0 ? Math.min(found.size, start + size) : found.size;
  respond(stream);
  if (end > start) {
    let at = start;
    for await (const chunk of createReadStream(blobPath(store.dir, digest), { start, end: end - 1, highWaterMark: READ_CHUNK }) as AsyncIterable<Buffer>) {
      if (stream.destroyed) return;
      const head = readResponseHead(at, chunk.length);
      stream.write(Buffer.concat([framePrefix(head.length + chunk.length), head]));
      const more = stream.write(chunk);
      at += chunk.length;
      if (!more) await drained(stream);
    }
  }
  if (!stream.destroyed) stream.end();
}

/** Resolves once the stream has room again, or is gone; its listeners go with it. */
function drained(stream: http2.ServerHttp2Stream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

function failCall(stream: http2.ServerHttp2Stream, err: unknown): void {
  if (err instanceof GrpcError) endWithStatus(stream, err.code, err.message);
  // The daemon puts this in its error, which the run shows: a file system's words, naming the path.
  else endWithStatus(stream, GRPC_STATUS.INTERNAL, err instanceof Error ? err.message : 'failed');
}

/**
 * Write: a bidirectional stream of requests, each answered before the next is sent (containerd's proxy
 * writer waits for each answer). The first opens the write; WRITE adds data at the current offset (0 starts
 * over); COMMIT checks the size and digest and puts the blob in place. A stream that ends before its commit
 * leaves nothing behind.
 */
function serveWrite(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, stores: ContentStores): void {
  let ingest: Ingest | undefined;
  let done = false;
  let failed = false;
  let work = Promise.resolve();
  const fail = (err: unknown) => {
    done = true;
    failed = true;
    void ingest?.discard();
    failCall(stream, err);
  };
  onMessages(stream, (message) => {
    // One request at a time: the next waits until this one's data is on the disk.
    stream.pause();
    work = work
      .then(async () => {
        if (done) return;
        const request = decodeWriteRequest(message);
        ingest ??= await Ingest.open(chosen(stores, headers), request);
        const answer = await ingest.apply(request);
        respond(stream);
        stream.write(frame(encodeWriteResponse(answer)));
        if (request.action === WRITE_ACTION.COMMIT) done = true;
      })
      .then(() => void stream.resume(), fail);
  });
  stream.on('end', () => {
    void work.then(() => {
      if (!ingest?.committed) void ingest?.discard();
      if (failed || stream.destroyed || stream.closed) return;
      respond(stream);
      stream.end();
    });
  });
  stream.on('close', () => {
    void work.then(() => (ingest?.committed ? undefined : ingest?.discard()));
  });
}

/** One blob being written: a file under ingest/, its running digest, and what it must come to. */
class Ingest {
  committed = false;
  private offset = 0;
  private hash: Hash = createHash('sha256');
  private readonly startedAt = Date.now();
  private updatedAt = this.startedAt;
  private discarded = false;

  private constructor(
    private readonly store: ContentDir,
    private readonly file: FileHandle,
    private readonly filePath: string,
    private total: number,
    private expected: string,
  ) {}

  /** Opens the write the first request asks for; a blob already there is ALREADY_EXISTS, which the daemon takes as done. */
  static async open(store: ContentDir, first: WriteRequest): Promise<Ingest> {
    if (!store.writable) throw new GrpcError(GRPC_STATUS.PERMISSION_DENIED, 'a cache source is only read');
    if (first.expected) {
      blobPath(store.dir, first.expected);
      if (await blobStat(store.dir, first.expected)) throw new GrpcError(GRPC_STATUS.ALREADY_EXISTS, `content ${first.expected}: already exists`);
    }
    const dir = path.join(store.dir, 'ingest');
    await mkdir(dir, { recursive: true });
    const filePath = path.join(dir, randomUUID());
    const file = await open(filePath, 'wx', 0o644);
    return new Ingest(store, file, filePath, first.total, first.expected);
  }

  async apply(request: WriteRequest): Promise<Parameters<typeof encodeWriteResponse>[0]> {
    if (request.total > 0) this.total = request.total;
    if (request.expected) this.expected = request.expected;
    if (request.action !== WRITE_ACTION.STAT) await this.write(request);
    if (request.action === WRITE_ACTION.COMMIT) await this.commit();
    const digest = request.action === WRITE_ACTION.COMMIT ? this.expected : '';
    return { action: request.action, startedAt: this.startedAt, updatedAt: this.updatedAt, offset: this.offset, total: this.total, digest };
  }

  private async write(request: WriteRequest): Promise<void> {
    if (request.offset > 0 && request.offset !== this.offset) {
      throw new GrpcError(GRPC_STATUS.OUT_OF_RANGE, `write at ${request.offset} must be at the current offset ${this.offset}`);
    }
    if (request.offset === 0 && this.offset > 0) {
      await this.file.truncate(0);
      this.offset = 0;
      this.hash = createHash('sha256');
    }
    if (request.data.length === 0) return;
    let written = 0;
    while (written < request.data.length) {
      const { bytesWritten } = await this.file.write(request.data, written, request.data.length - written, this.offset + written);
      written += bytesWritten;
    }
    this.hash.update(request.data);
    this.offset += written;
    this.updatedAt = Date.now();
  }

  private async commit(): Promise<void> {
    if (this.total > 0 && this.offset !== this.total) {
      throw new GrpcError(GRPC_STATUS.FAILED_PRECONDITION, `unexpected commit size ${this.offset}, expected ${this.total}`);
    }
    const actual = `sha256:${this.hash.digest('hex')}`;
    if (this.expected && actual !== this.expected) {
      throw new GrpcError(GRPC_STATUS.FAILED_PRECONDITION, `unexpected commit digest ${actual}, expected ${this.expected}`);
    }
    this.expected = actual;
    await this.file.sync();
    await this.file.close();
    const target = blobPath(this.store.dir, actual);
    await mkdir(path.dirname(target), { recursive: true });
    // The same bytes under the same name: a blob written meanwhile by another build is as good as this one.
    await rename(this.filePath, target);
    this.committed = true;
  }

  async discard(): Promise<void> {
    if (this.discarded || this.committed) return;
    this.discarded = true;
    await this.file.close().catch(() => {});
    await rm(this.filePath, { force: true }).catch(() => {});
  }
}
