// The build cache is pruned at most every ten minutes on an engine, for a given limit: a prune walks the
// engine's whole cache, and after every build it cost each rebuild up to a quarter of a second.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PRUNE_INTERVAL_MS, pruningAtMostEvery } from '../../pipeline/engine/prune-schedule.ts';
import type { Builder } from '../../pipeline/engine/engine.ts';
import { tempDir } from '../support/temp.ts';

const GIB = 1024 ** 3;

/** A builder that counts its prunes, and a clock the test moves. */
async function setUp() {
  const file = path.join(await tempDir('bi-prune-'), 'pruned.json');
  const clock = { now: 1_800_000_000_000 };
  const prunes: number[] = [];
  const builder: Builder = { name: 'buildkit', build: async () => 'sha256:x', pruneCache: async (keep) => (prunes.push(keep), { reclaimed: 42 }) };
  const on = (engine: string) => pruningAtMostEvery(builder, { file, engine, now: () => clock.now });
  return { file, clock, prunes, on };
}

test('a second run within ten minutes does not prune again; one after does', async () => {
  const { clock, prunes, on } = await setUp();
  assert.equal(await on('unix:///var/run/docker.sock').pruneCache(4 * GIB), { reclaimed: 42 });
  clock.now += PRUNE_INTERVAL_MS - 1;
  assert.equal(await on('unix:///var/run/docker.sock').pruneCache(4 * GIB), { reclaimed: 0 });
  clock.now += 1;
  await on('unix:///var/run/docker.sock').pruneCache(4 * GIB);
  assert.equal(prunes, [4 * GIB, 4 * GIB]);
});

test('another engine, or a new limit, is pruned at once', async () => {
  const { prunes, on } = await setUp();
  await on('unix:///var/run/docker.sock').pruneCache(4 * GIB);
  await on('tcp://build-host:2376').pruneCache(4 * GIB);
  await on('unix:///var/run/docker.sock').pruneCache(1 * GIB);
  assert.equal(prunes, [4 * GIB, 4 * GIB, 1 * GIB]);
});

test('a damaged note, or one from the future (a clock set back), prunes', async () => {
  const { file, clock, prunes, on } = await setUp();
  await writeFile(file, '{"unix:///var/run/docker.sock 1073741824": ');
  await on('unix:///var/run/docker.sock').pruneCache(GIB);
  await writeFile(file, JSON.stringify({ [`unix:///var/run/docker.sock ${GIB}`]: clock.now + 60_000 }));
  await on('unix:///var/run/docker.sock').pruneCache(GIB);
  assert.equal(prunes.length, 2);
});

test('a prune that fails is tried again by the next run', async () => {
  const { file, clock } = await setUp();
  let calls = 0;
  const failing: Builder = {
    name: 'buildkit',
    build: async () => 'sha256:x',
    pruneCache: async () => {
      calls++;
      throw new Error('engine gone');
    },
  };
  const builder = pruningAtMostEvery(failing, { file, engine: 'e', now: () => clock.now });
  for (let run = 0; run < 2; run++) await builder.pruneCache(GIB).catch(() => {});
  assert.is(calls, 2);
});

test.run();
