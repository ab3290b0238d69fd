// POST /build/prune (API ≥ 1.39: keep-storage, all, filters). 20.10 does not garbage-collect BuildKit's cache
// unless daemon.json says so, so we prune past a size ourselves. Build cache only: images are never touched.
import type { EngineApi } from '../docker/engine-api.ts';
import { text } from 'node:stream/consumers';
import { RunError } from '../../model/errors.ts';
import { engineMessage, streamRequest } from './engine-request.ts';

export async function pruneBuildCache(engine: EngineApi, keepBytes: number): Promise<{ reclaimed: number }> {
  if (!Number.isSafeInteger(keepBytes) || keepBytes < 0) throw new RangeError(`keepBytes must be a whole number of bytes, not ${keepBytes}`);
  try {
    // all=true: without it only dangling records are candidates, and keep-storage would not bound the cache.
    const answer = await streamRequest(engine, { method: 'POST', path: '/build/prune?', query: { 'keep-storage': keepBytes, all: true } });
    const body = JSON.parse(await text(answer)) as { SpaceReclaimed?: number };
    return { reclaimed: body.SpaceReclaimed ?? 0 };
  } catch (err) {
    throw new RunError(`pruning the build cache: ${engineMessage(err)}`);
  }
}
