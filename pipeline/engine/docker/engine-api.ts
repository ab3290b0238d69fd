// The Engine API's small JSON calls (ping, inspect, list, tag, remove) over node:http on the engine's
// connection. A run that finds every image up to date needs nothing else, and loading dockerode (with the
// gRPC, protobuf and ssh2 modules it requires at start) cost such a run ~0.15 s of its ~0.7 s: dockerode
// is loaded only for what streams (pull, push, containers, builds). Paths carry no API version: the daemon
// answers in its own, so nothing here pins an old one (Engine 29 refuses versions below 1.44).
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { ConnectionOptions } from './connection.ts';

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

export interface EngineApi {
  /** Rejects with an EngineApiError on a status of 400 and up, with the connection's error when there is none. */
  request(method: 'GET' | 'POST' | 'DELETE', path: string, query?: Record<string, string>): Promise<ApiAnswer>;
}

// Bodies of these calls are small; an answer larger than this is not the engine's.
const MAX_BODY = 16 * 1024 * 1024;

export function engineApi(connection: ConnectionOptions): EngineApi {
  const secure = 'protocol' in connection && connection.protocol === 'https';
  // One connection reused across the run's calls; idle, it does not keep the process alive.
  const agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const target =
    'socketPath' in connection
      ? { socketPath: connection.socketPath }
      : connection.protocol === 'https'
        ? { host: connection.host, port: connection.port, ca: connection.ca, cert: connection.cert, key: connection.key }
        : { host: connection.host, port: connection.port };
  return {
    request: (method, path, query) =>
      new Promise((resolve, reject) => {
        const search = query ? `?${new URLSearchParams(query)}` : '';
        const request = (secure ? https : http).request({ ...target, agent, method, path: `${path}${search}` }, (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY) res.destroy(new Error(`the engine's answer to ${method} ${path} is over ${MAX_BODY} bytes`));
            else chunks.push(chunk);
          });
          res.on('error', reject);
          res.on('end', () => {
            const json = parseJson(Buffer.concat(chunks).toString('utf8'));
            const status = res.statusCode ?? 0;
            if (status >= 400) reject(new EngineApiError(status, json && typeof json === 'object' ? (json as { message?: string }) : null));
            else resolve({ status, headers: res.headers, json });
          });
        });
        request.on('error', reject);
        request.end();
      }),
  };
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
