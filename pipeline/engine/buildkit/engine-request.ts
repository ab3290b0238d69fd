// The requests BuildKit's build needs of the engine, on our own client (engine/docker/engine-api.ts): a
// streamed answer (POST /build, /build/prune) and an upgraded connection (POST /grpc). A BuildKit
// build never loads dockerode.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { EngineApi, StreamRequest } from '../docker/engine-api.ts';

export interface EngineFailure extends Error {
  statusCode?: number;
  json?: { message?: string } | null;
  code?: string;
}

/** A request whose answer is read as a stream; rejects on a status of 400 and up. */
export function streamRequest(api: EngineApi, options: StreamRequest): Promise<IncomingMessage> {
  return api.stream({ ...options, path: options.path.replace(/\?$/, '') });
}

/** An upgraded connection (101), as POST /grpc gives. */
export function hijack(api: EngineApi, options: Omit<StreamRequest, 'body' | 'query'>): Promise<Duplex> {
  return api.upgrade(options);
}

/** The engine's own words for a failed request, without docker-modem's "(HTTP code N) reason - " prefix. */
export function engineMessage(err: unknown): string {
  const e = err as EngineFailure;
  const text = e.json?.message ?? e.message ?? String(err);
  return text.replace(/^\(HTTP code \d+\) [\w ]+ - /, '').trim();
}
