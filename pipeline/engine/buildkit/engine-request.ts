// The requests BuildKit's build needs of the engine, on our own client (engine/docker/engine-api.ts): a
// streamed answer (POST /build, /build/prune) and an upgraded connection (POST /session). A BuildKit
// build never loads dockerode.
import type { IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type { EngineApi } from '../docker/engine-api.ts';

interface DialOptions {
  method: 'GET' | 'POST';
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

/** A request whose answer is read as a stream; rejects on a status of 400 and up. */
export function streamRequest(api: EngineApi, options: DialOptions): Promise<IncomingMessage> {
  return api.stream({ ...options, path: options.path.replace(/\?$/, '') });
}

/** An upgraded connection (101), as POST /session gives. */
export function hijack(api: EngineApi, options: Omit<DialOptions, 'body' | 'query'>): Promise<Duplex> {
  return api.upgrade(options);
}

/** The engine's own words for a failed request, without docker-modem's "(HTTP code N) reason - " prefix. */
export function engineMessage(err: unknown): string {
  const e = err as EngineFailure;
  const text = e.json?.message ?? e.message ?? String(err);
  return text.replace(/^\(HTTP code \d+\) [\w ]+ - /, '').trim();
}
