// The little of a gRPC server a build session needs, on node:http2 itself. After the upgrade the daemon is
// the HTTP/2 client; each call is a stream whose DATA holds length-prefixed messages and whose trailers hold
// the status. We serve it ourselves rather than through @grpc/grpc-js because grpc-js hands a stream one
// message per socket write and waits for that write to finish before the next: the context's ~3 packets per
// file cost one event-loop turn each (measured: ~8,300 writev calls and ~1.3 s of CPU for a 72 MiB context of
// 2,000 files). Here packets are framed into our own buffers and written together.
import http2 from 'node:http2';
import type { Duplex, Readable, Writable } from 'node:stream';

/** The gRPC status codes we answer with. */
export const GRPC_STATUS = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  FAILED_PRECONDITION: 9,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** A failure that reaches the daemon as a gRPC status, with a message fit for its logs. */
export class GrpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export type CallHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;

/** Serves gRPC calls on a connection whose other end is the HTTP/2 client; calls are routed by path. */
export function serveGrpc(socket: Duplex, routes: ReadonlyMap<string, CallHandler>): http2.ServerHttp2Session {
  const session = http2.performServerHandshake(socket);
  // The daemon closes its end when the build is over; a reset then is expected, not an error to raise.
  session.on('error', () => {});
  session.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    const route = routes.get(String(headers[':path']));
    if (route) route(stream, headers);
    else endWithStatus(stream, GRPC_STATUS.UNIMPLEMENTED, `${String(headers[':path'])} is not served`);
  });
  return session;
}

/** One message as it goes on the wire: a compression flag (never set), its length, its bytes. */
export function framePrefix(length: number): Buffer {
  const prefix = Buffer.allocUnsafe(5);
  prefix[0] = 0;
  prefix.writeUInt32BE(length, 1);
  return prefix;
}

export function frame(message: Uint8Array): Buffer {
  return Buffer.concat([framePrefix(message.length), message]);
}

/**
 * Calls `handle` with each message of a call's request, in order: a message may span DATA chunks and a
 * chunk may hold several. The chunks of a message are joined once it is whole: joining at every chunk
 * copied a 1 MiB message (a cache blob's write) some 64 times over, in 16 KiB frames. We never accept
 * compression, so the flag is not read.
 */
export function onMessages(stream: Readable, handle: (message: Buffer) => void): void {
  let chunks: Buffer[] = [];
  let buffered = 0;
  // The current message's length with its prefix, once the prefix has come.
  let needed = -1;
  stream.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    buffered += chunk.length;
    for (;;) {
      if (needed < 0) {
        if (buffered < 5) return;
        if (chunks[0]!.length < 5) chunks = [Buffer.concat(chunks, buffered)];
        needed = 5 + chunks[0]!.readUInt32BE(1);
      }
      if (buffered < needed) return;
      const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, buffered);
      handle(all.subarray(5, needed));
      const rest = all.subarray(needed);
      chunks = rest.length > 0 ? [rest] : [];
      buffered = rest.length;
      needed = -1;
    }
  });
}

/** Starts a successful answer; the OK status follows as trailers when the stream is ended. */
export function respond(stream: http2.ServerHttp2Stream): void {
  if (stream.headersSent || stream.destroyed) return;
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': String(GRPC_STATUS.OK) }));
}

/** Ends a call that failed: a status alone when nothing was answered yet, else as trailers. */
export function endWithStatus(stream: http2.ServerHttp2Stream, code: number, message: string): void {
  if (stream.destroyed || stream.closed) return;
  const status = { 'grpc-status': String(code), 'grpc-message': encodeURIComponent(message) };
  if (!stream.headersSent) {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...status }, { endStream: true });
    return;
  }
  stream.removeAllListeners('wantTrailers');
  stream.once('wantTrailers', () => stream.sendTrailers(status));
  stream.end();
}

/** A call with one request and one answer. */
export function unaryCall(handle: (request: Buffer) => Promise<Uint8Array>): CallHandler {
  return (stream) => {
    let request: Buffer | undefined;
    onMessages(stream, (message) => (request ??= message));
    stream.on('end', () => {
      handle(request ?? Buffer.alloc(0)).then(
        (answer) => {
          if (stream.destroyed) return;
          respond(stream);
          stream.end(frame(answer));
        },
        (err: unknown) => endWithStatus(stream, err instanceof GrpcError ? err.code : GRPC_STATUS.INTERNAL, err instanceof GrpcError ? err.message : 'failed'),
      );
    });
  };
}

/**
 * Writes framed messages in batches: every write of one turn of the event loop goes out in one writev, and
 * a caller that has queued more than `budget` bytes waits until they are sent, so that memory holds at most
 * that much of the context whatever the daemon's pace.
 */
export function batchWriter(stream: Writable, budget = 512 * 1024) {
  let corked = false;
  const flush = () => {
    if (!corked) return;
    corked = false;
    stream.uncork();
  };
  return {
    /** Queues the chunks; `onSent` is told when they have left (the caller may then use their memory again). */
    write(chunks: readonly Uint8Array[], onSent?: () => void): void {
      if (stream.destroyed || stream.writableEnded) {
        onSent?.();
        return;
      }
      if (!corked) {
        corked = true;
        stream.cork();
        process.nextTick(flush);
      }
      chunks.forEach((chunk, i) => stream.write(chunk, i === chunks.length - 1 && onSent ? () => onSent() : undefined));
    },
    /** Resolves when the queue is under budget again, or the stream is gone. */
    async room(): Promise<void> {
      if (stream.writableLength <= budget || stream.destroyed) return;
      flush();
      await new Promise<void>((resolve) => {
        const done = () => {
          stream.off('drain', done);
          stream.off('close', done);
          resolve();
        };
        stream.on('drain', done);
        stream.on('close', done);
      });
    },
    flush,
  };
}
