// The timing loop shared by the parts: for each case, every side built in turn (interleaved, so that a
// slow minute of the machine hurts all sides alike), `runs` times; the median of each.
import { checkInterrupted, median } from './processes.ts';

export type CaseKey = 'cold' | 'noop' | 'changed';

export const CASE_TITLES: Record<CaseKey, string> = {
  cold: 'cold (no layer cache)',
  noop: 'nothing changed',
  changed: 'one file changed',
};

/** One way of building the same images: build-images with a builder, or a baseline. */
export interface Side {
  name: string;
  kind: 'build-images' | 'baseline';
  /** Builds; `cold`: without any layer cache. Returns the seconds it took, as the user waits. */
  build(cold: boolean): Promise<number>;
  /** Before a cold build: what the side's own cold state needs (binaries removed, BuildKit cache pruned). */
  makeCold(): Promise<void>;
  /** Before a one-file-changed build: the edit a developer makes, a new one each time. */
  change(): Promise<void>;
  /** The references it builds, by image name, to compare the sides' images. */
  images?: Record<string, string>;
}

export type Medians = Record<string, number>;

export async function measureCases(sides: Side[], cases: CaseKey[], runs: number, log: (line: string) => void): Promise<Record<CaseKey, Medians>> {
  const measured = {} as Record<CaseKey, Medians>;
  // The cold case last: its BuildKit prune empties the cache of every side on the engine, and a side that
  // finds its images up to date (build-images) would not fill it again in the warm-up below, so its
  // `one file changed` would rebuild every step, where a user's cache holds its last build.
  for (const key of [...cases].sort((a, b) => Number(a === 'cold') - Number(b === 'cold'))) {
    // Each side builds once, untimed, first. Before the cold case, so that no side pays alone for what
    // stays warm for all (the Go build cache, fetched files, the page cache); before the others, so that
    // each starts from its own built state (a BuildKit cache pruned for another side's cold build would
    // otherwise make its `nothing changed` a cold build).
    for (const side of sides) await side.build(false);
    const times: Record<string, number[]> = Object.fromEntries(sides.map((s) => [s.name, []]));
    for (let i = 0; i < runs; i++) {
      for (const side of sides) {
        checkInterrupted();
        if (key === 'cold') await side.makeCold();
        if (key === 'changed') await side.change();
        times[side.name]!.push(await side.build(key === 'cold'));
      }
    }
    measured[key] = Object.fromEntries(Object.entries(times).map(([name, xs]) => [name, median(xs)]));
    log(
      `  ${CASE_TITLES[key]}: ${Object.entries(times)
        .map(([name, xs]) => `${name} ${xs.map((x) => x.toFixed(2)).join('/')}`)
        .join(', ')}`,
    );
  }
  // Reported in the order asked for.
  return Object.fromEntries(cases.map((key) => [key, measured[key]])) as Record<CaseKey, Medians>;
}
