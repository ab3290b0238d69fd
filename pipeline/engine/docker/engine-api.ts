// The Engine API over node:http on the engine's connection: the small JSON calls (ping, inspect, list,
// tag, remove), and the streams and the upgraded connection that BuildKit's build and session need. A run
// that finds every image up to date, or builds with BuildKit, needs nothing else; loading dockerode (with
// the gRPC, protobuf and ssh2 modules it requires at start) cost such a run ~0.15 s of its ~0.7 s of CPU.
// dockerode is kept for pull, push, containers and the classic builder. Paths carry no API version: the
// daemon answers in its own, so nothing here pins an old one (Engine 29 refuses versions below 1.44).
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import type { ConnectionOptions } from './connection.ts';
import type Https from 'node:https';

export interface ApiAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body parsed as JSON; undefined when it is empty or not JSON (`/_ping` answers "OK"). */
  json: unknown;
}

/** Shaped as docker-modem's errors are, so that one `engineFailure` reads both. */
export class EngineApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly json: { message?: string } | null,
  ) {
    super(json?.message ?? `HTTP ${statusCode}`);
  }
}

export interface StreamRequest {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string | number | boolean>;
  headers?: Record<string, string | string[]>;
  body?: Readable;
  signal?: AbortSignal;
}

export interface EngineApi {
  /** Rejects with an EngineApiError on a status of 400 and up, with the connection's error when there is none. */
  request(method: 'GET' | 'POST' | 'DELETE', path: string, query?: Record<string, string>): Promise<ApiAnswer>;
  /** The answer as a stream, on a connection of its own; a failing status rejects as `request` does. */
  stream(request: StreamRequest): Promise<IncomingMessage>;
  /** The connection itself once the engine has switched protocols (101), as POST /grpc answers. */
  upgrade(request: Omit<StreamRequest, 'body' | 'query'>): Promise<Duplex>;
  /**
   * A new connection to the engine, for a protocol of its own (gRPC with prior knowledge, which Engine 29.2
   * serves on its socket). Absent over TLS: the daemon forces ALPN http/1.1 there.
   */
  dial?(): Duplex;
}

// Bodies of these calls are small; an answer larger than this is not the engine's.
const MAX_BODY = 16 * 1024 * 1024;

export function engineApi(connection: ConnectionOptions): EngineApi {
  const secure = 'protocol' in connection && connection.protocol === 'https';
  // One connection reused across the run's small calls; idle, it does not keep the process alive.
  // node:https (and TLS with it) is loaded only for an engine over TLS: ~2 ms of every other run. Loaded
  // synchronously, as this client is made; process.getBuiltinModule would do it from Node 20.16 only.
  const https = secure ? (createRequire(import.meta.url)('node:https') as typeof Https) : undefined;
  const agent = https ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const target =
    'socketPath' in connection
      ? // servername: no TLS on a socket, and Node would otherwise work out a name for it with a regular expression whose first use costs 20-45 ms (measured, Node 20).
        { socketPath: connection.socketPath, servername: '' }
      : connection.protocol === 'https'
        ? { host: connection.host, port: connection.port, ca: connection.ca, cert: connection.cert, key: connection.key }
        : { host: connection.host, port: connection.port };
  const send = (options: http.RequestOptions) => (https ?? http).request({ ...target, ...options });
  const dial =
    'socketPath' in connection
      ? () => net.connect(connection.socketPath)
      : connection.protocol === 'http'
        ? () => net.connect(connection.port, connection.host)
        : undefined;

  return {
    ...(dial ? { dial } : {}),
    request: (method, path, query) =>
      new Promise((resolve, reject) => {
        const request = send({ agent, method, path: withQuery(path, query) });
        request.on('response', (res) =>
          readBody(res, `${method} ${path}`).then(({ status, json }) => {
            if (status >= 400) reject(apiError(status, json));
            else resolve({ status, headers: res.headers, json });
          }, reject),
        );
        request.on('error', reject);
        request.end();
      }),

    stream: ({ method, path, query, headers = {}, body, signal }) =>
      new Promise((resolve, reject) => {
        const request = send({ agent: false, method, path: withQuery(path, query), headers, signal });
        request.on('response', (res) => {
          const status = res.statusCode ?? 0;
          if (status < 400) resolve(res);
          else readBody(res, `${method} ${path}`).then(({ json }) => reject(apiError(status, json)), reject);
        });
        request.on('error', (err) => {
          // A request that failed reads no more of its body: the context's open files are closed.
          body?.destroy();
          reject(err);
        });
        if (!body) {
          request.end();
          return;
        }
        // A body that fails (a context file changed while it was read) fails the request with its own error.
        body.on('error', (err) => request.destroy(err));
        body.pipe(request);
      }),

    upgrade: ({ method, path, headers = {}, signal }) =>
      new Promise((resolve, reject) => {
        const request = send({ agent: false, method, path, headers: { Connection: 'Upgrade', ...headers }, signal });
        request.on('upgrade', (_res, socket, head) => {
          // Bytes of the new protocol that arrived with the 101 belong to it.
          if (head.length > 0) socket.unshift(head);
          resolve(socket);
        });
        request.on('response', (res) =>
          readBody(res, `${method} ${path}`).then(({ status, json }) => reject(apiError(status, json ?? { message: `HTTP ${status}: no upgrade` })), reject),
        );
        request.on('error', reject);
        request.end();
      }),
  };
}

function withQuery(path: string, query?: Record<string, string | number | boolean>): string {
  if (!query) return path;
  return `${path}?${new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]))}`;
}

function apiError(status: number, json: unknown): EngineApiError {
  return new EngineApiError(status, json && typeof json === 'object' ? (json as { message?: string }) : null);
}

/** A small answer read whole, bounded. */
function readBody(res: IncomingMessage, what: string): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) res.destroy(new Error(`the engine's answer to ${what} is over ${MAX_BODY} bytes`));
      else chunks.push(chunk);
    });
    res.on('error', reject);
    res.on('end', () => resolve({ status: res.statusCode ?? 0, json: parseJson(Buffer.concat(chunks).toString('utf8')) }));
  });
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A path segment holding an image name or ID: `/` and `:` stay (the daemon's router expects them), the rest is escaped. */
export function nameInPath(name: string): string {
  return encodeURIComponent(name).replace(/%2F/gi, '/').replace(/%3A/gi, ':').replace(/%40/gi, '@');
}

/** What `/_ping` says of the engine in its headers, for choosing a builder. */
export interface PingHeaders {
  apiVersion?: string;
  osType?: string;
  builderVersion?: string;
}

export async function ping(api: EngineApi): Promise<PingHeaders> {
  const { headers } = await api.request('GET', '/_ping');
  const header = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  return { apiVersion: header('api-version'), osType: header('ostype'), builderVersion: header('builder-version') };
}
