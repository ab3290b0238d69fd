// The little of a gRPC client BuildKit's Control API needs, on node:http2 itself, next to our server
// (grpc-server.ts) and with the same framing. Not @grpc/grpc-js: it costs 55-73 ms to import, and it has no
// public way to ride a connection that is already open (the engine's `POST /grpc` upgrade), so an engine
// before 29.2 would need a loopback proxy in between. The connection is any duplex: an upgraded socket, a
// unix socket spoken to with prior knowledge, a TLS socket that negotiated h2.
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { frame, onMessages } from './grpc-server.ts';

/** A call that ended with a status other than OK, in the server's words. */
export class GrpcCallError extends Error {
  constructor(
    readonly code: number,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

// The daemon's side of a session carries the whole context: a window of 64 KiB would stall it each round trip.
const WINDOW = 8 * 1024 * 1024;

/** An HTTP/2 client session on this connection; resolves once the server's settings show it speaks HTTP/2. */
export function connectGrpc(socket: Duplex, timeoutMs = 5000): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect('http://localhost', { createConnection: () => socket, settings: { initialWindowSize: WINDOW } });
    let settled = false;
    // Errors after the first (a reset following a protocol error) have nothing left to tell.
    session.on('error', () => {});
    socket.on('error', () => {});
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`no HTTP/2 answer in ${timeoutMs} ms`)), timeoutMs);
    const closed = () => fail(new Error('the connection closed before HTTP/2 was spoken'));
    session.once('error', fail);
    session.once('close', closed);
    session.once('remoteSettings', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.off('error', fail);
      session.off('close', closed);
      session.setLocalWindowSize(WINDOW);
      resolve(session);
    });
  });
}

export type Metadata = Record<string, string | string[]>;

/** Opens a call: messages are written framed (`frame`); the answer's messages are read with `onMessages`. */
export function openCall(session: http2.ClientHttp2Session, path: string, metadata: Metadata = {}, signal?: AbortSignal): http2.ClientHttp2Stream {
  return session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...metadata }, signal ? { signal } : {});
}

/**
 * Resolves when a call has ended with OK, rejects with its status otherwise. The status comes in the trailers,
 * or in the headers of an answer that has no messages.
 */
export function callStatus(call: http2.ClientHttp2Stream, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let status: { code: number; message: string } | undefined;
    const read = (headers: http2.IncomingHttpHeaders) => {
      const code = headers['grpc-status'];
      if (code !== undefined) status = { code: Number(code), message: decodeMessage(headers['grpc-message']) };
    };
    call.on('response', read);
    call.on('trailers', read);
    call.on('error', (err) => reject(err));
    call.on('close', () => {
      if (status?.code === 0) resolve();
      else if (status) reject(new GrpcCallError(status.code, path, status.message || `gRPC status ${status.code}`));
      else reject(new GrpcCallError(2, path, `${path} ended without a status`));
    });
  });
}

/** A call with one request and one answer. */
export async function unary(session: http2.ClientHttp2Session, path: string, request: Uint8Array, signal?: AbortSignal): Promise<Buffer> {
  const call = openCall(session, path, {}, signal);
  let answer: Buffer | undefined;
  onMessages(call, (message) => (answer ??= Buffer.from(message)));
  const ended = callStatus(call, path);
  call.end(frame(request));
  await ended;
  return answer ?? Buffer.alloc(0);
}

function decodeMessage(value: string | string[] | undefined): string {
  const text = Array.isArray(value) ? value.join(', ') : (value ?? '');
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
