// POST /build/prune: build cache only, images are never touched. 20.10 does not garbage-collect BuildKit's
// cache unless daemon.json says so, so we prune past a size ourselves. Its parameters depend on the API
// version: `keep-storage` (from 1.39) until 1.47; from 1.48 BuildKit's `reserved-space`, `max-used-space` and
// `min-free-space` (Engine 29's own client sends no keep-storage). The version is the engine's own, from
// /_ping: paths carry none (Engine 29 refuses versions below its minimum).
import { ping, type EngineApi } from '../docker/engine-api.ts';
import { text } from 'node:stream/consumers';
import { RunError } from '../../model/errors.ts';
import { engineMessage, streamRequest } from './engine-request.ts';

/** The query that prunes the cache down to `limit` bytes on an engine of this API version. */
export function pruneQuery(limit: number, apiVersion: string | undefined): Record<string, string | number | boolean> {
  // all=true: without it only dangling records are candidates, and the limit would not bound the cache.
  if (!atLeast(apiVersion, 1, 48)) return { 'keep-storage': limit, all: true };
  // BuildKit keeps max(max-used-space, reserved-space) and treats 0 as "no cap": prune(0) removes all of it,
  // as keep-storage=0 did.
  return { 'max-used-space': limit, 'reserved-space': limit, all: true };
}

export async function pruneBuildCache(engine: EngineApi, limit: number, apiVersion?: string): Promise<{ reclaimed: number }> {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`the limit must be a whole number of bytes, not ${limit}`);
  try {
    const version = apiVersion ?? (await ping(engine)).apiVersion;
    const answer = await streamRequest(engine, { method: 'POST', path: '/build/prune?', query: pruneQuery(limit, version) });
    const body = JSON.parse(await text(answer)) as { SpaceReclaimed?: number };
    return { reclaimed: body.SpaceReclaimed ?? 0 };
  } catch (err) {
    throw new RunError(`pruning the build cache: ${engineMessage(err)}`);
  }
}

/** Whether an API version such as "1.51" is at least major.minor; an unknown one is taken as old. */
export function atLeast(version: string | undefined, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)$/.exec(version ?? '');
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}
