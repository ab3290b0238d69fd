// Raw requests on the engine's own connection (docker.modem: socket, tcp or tls as configured), for the calls
// dockerode does not make the way BuildKit needs. Paths carry no API version: the daemon then answers in its
// own current version, so nothing here pins an old one (Engine 29 refuses API versions below 1.44).
import type Docker from 'dockerode';
import type { IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';

interface DialOptions {
  method: 'GET' | 'POST';
  /** Ends with `?` when `query` is given. */
  path: string;
  query?: Record<string, string | number | boolean>;
  headers?: Record<string, string | string[]>;
  body?: Readable;
  signal?: AbortSignal;
}

export interface EngineFailure extends Error {
  statusCode?: number;
  json?: { message?: string } | null;
  code?: string;
}

interface Modem {
  dial(options: object, callback: (err: EngineFailure | null, result: unknown) => void): void;
}

const modem = (docker: Docker) => docker.modem as unknown as Modem;

/** A request whose answer is read as a stream; rejects on a status other than 200. */
export function streamRequest(docker: Docker, options: DialOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    modem(docker).dial(
      {
        method: options.method,
        path: options.path,
        // _query/_body: docker-modem otherwise also sends the query as a JSON body on a POST without a file.
        options: { _query: { ...options.query }, _body: {} },
        headers: { ...options.headers },
        file: options.body,
        abortSignal: options.signal,
        isStream: true,
        statusCodes: { 200: true, 400: 'bad parameter', 404: 'not found', 500: 'server error' },
      },
      (err, res) => (err ? reject(err) : resolve(res as IncomingMessage)),
    );
  });
}

/** An upgraded connection (101), as POST /session gives. */
export function hijack(docker: Docker, options: DialOptions): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    modem(docker).dial(
      {
        method: options.method,
        path: options.path,
        headers: { ...options.headers },
        hijack: true,
        statusCodes: { 101: true, 200: true, 400: 'bad parameter', 500: 'server error' },
      },
      (err, socket) => (err ? reject(err) : resolve(socket as Duplex)),
    );
  });
}

/** The engine's own words for a failed request, without docker-modem's "(HTTP code N) reason - " prefix. */
export function engineMessage(err: unknown): string {
  const e = err as EngineFailure;
  const text = e.json?.message ?? e.message ?? String(err);
  return text.replace(/^\(HTTP code \d+\) [\w ]+ - /, '').trim();
}
