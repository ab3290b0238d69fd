// BuildKit's cache pruned at most every PRUNE_INTERVAL_MS on an engine, for a given limit. A prune walks the
// engine's whole build cache: 35-55 ms on a fresh engine, 210-235 ms on one with ~100 images and a day's
// builds here, and the engine does it after the build it runs beside. After every build, it cost each
// rebuild that much; what ten minutes of builds add is well within any limit worth setting. A lower limit
// is a new one, pruned to at once.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writePrivately } from '../context/state-file.ts';
import type { Builder } from './engine.ts';

export const PRUNE_INTERVAL_MS = 10 * 60 * 1000;

export interface PruneSchedule {
  /** The user's file of when each engine was last pruned, to which limit. */
  file: string;
  /** Which engine this is (its address). */
  engine: string;
  intervalMs?: number;
  now?: () => number;
}

export function pruningAtMostEvery(builder: Builder, { file, engine, intervalMs = PRUNE_INTERVAL_MS, now = Date.now }: PruneSchedule): Builder {
  return {
    name: builder.name,
    build: (request) => builder.build(request),
    async pruneCache(keepBytes) {
      // The engine's address comes from DOCKER_HOST: kept as its digest, as every value from the environment.
      const key = `${createHash('sha256').update(engine).digest('hex')} ${keepBytes}`;
      const stamps = await readStamps(file);
      const last = stamps[key];
      // A clock set back makes a stamp from the future: not trusted.
      if (last !== undefined && now() - last >= 0 && now() - last < intervalMs) return { reclaimed: 0 };
      const pruned = await builder.pruneCache(keepBytes);
      // Written after the prune, so that one that failed is tried again by the next run.
      await writePrivately(file, JSON.stringify({ ...(await readStamps(file)), [key]: now() })).catch(() => {
        // A stamp that cannot be written only means the next run prunes too.
      });
      return pruned;
    },
  };
}

async function readStamps(file: string): Promise<Record<string, number>> {
  try {
    const stamps = JSON.parse(await readFile(file, 'utf8')) as unknown;
    if (typeof stamps !== 'object' || stamps === null || Array.isArray(stamps)) return {};
    return Object.fromEntries(Object.entries(stamps).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
  } catch {
    return {};
  }
}
