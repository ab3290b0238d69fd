// What fetch and context tests share: a fetcher's settings in a folder of their own, and the clean error a
// call must fail with.
import path from 'node:path';
import * as assert from 'uvu/assert';
import { LOCK_FILE, type FetchSettings } from '../../pipeline/context/fetcher.ts';
import { RunError, UserError } from '../../pipeline/model/errors.ts';
import { tempDir } from './temp.ts';

export async function fetchSettings(extra: Partial<FetchSettings> = {}): Promise<FetchSettings> {
  const dir = await tempDir('bi-fetch-');
  return {
    cacheDir: path.join(dir, 'cache'),
    lockPath: path.join(dir, LOCK_FILE),
    offline: false,
    updateLock: false,
    signal: new AbortController().signal,
    ...extra,
  };
}

/** The error a promise rejects with, which must be ours (a RunError or a UserError), never a bare one. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  const outcome = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(outcome instanceof RunError || outcome instanceof UserError, `expected a RunError or UserError, got ${String(outcome)}`);
  return outcome as Error;
}
