// What the graph part reads from the repository's build.config.yaml, so that the baseline follows the
// config (a new type-file list, new variables) instead of a copy of its internals: the variables it
// declares, the fetch steps of an image, the outputs of its host commands, and the bases (from the tool's
// own --dry-run plan).
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { CLI } from './engine-bed.ts';
import { run } from './processes.ts';

interface RawConfig {
  variables?: Record<string, string | { default?: string }>;
  sources?: Record<string, string>;
  images: Record<string, { base: string; steps?: Record<string, Record<string, unknown>>[] }>;
}

export interface ConfigFacts {
  variables: Set<string>;
  /** `${NAME}` and `${NAME:-fallback}` resolved against the sets, then the defaults, then the environment. */
  resolve(text: string): string;
  fetches(image: string): { url: string; to: string }[];
  /** Output paths of the image's host commands, as written (`source:path` or project-relative). */
  commandOutputs(image: string): string[];
  sources: Record<string, string>;
}

export async function readConfig(file: string, sets: Record<string, string>): Promise<ConfigFacts> {
  const raw = parse(await readFile(file, 'utf8')) as RawConfig;
  const defaults = Object.fromEntries(Object.entries(raw.variables ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : (v?.default ?? '')]));
  const value = (name: string, depth: number): string | undefined =>
    sets[name] ?? (defaults[name] !== undefined ? resolve(defaults[name]!, depth + 1) : process.env[name]);
  const resolve = (text: string, depth = 0): string => {
    if (depth > 20) throw new Error(`variables nest too deep in ${text}`);
    return text.replace(/\$\{(\w+)(?::-([^}]*))?\}/g, (_, name: string, fallback?: string) => value(name, depth) || (fallback ?? ''));
  };
  const stepsOf = (image: string) => {
    const found = raw.images[image];
    if (!found) throw new Error(`${file} has no image ${image}: the benchmark builds px-oci-mon, px-spec-websvc and cm-container`);
    return found.steps ?? [];
  };
  return {
    variables: new Set(Object.keys(raw.variables ?? {})),
    resolve: (text) => resolve(text),
    fetches: (image) =>
      stepsOf(image)
        .filter((s) => s['fetch'])
        .map((s) => s['fetch'] as { url: string; to: string })
        .map((f) => ({ url: resolve(f.url), to: resolve(f.to) })),
    commandOutputs: (image) => stepsOf(image).flatMap((s) => ((s['command'] as { outputs?: string[] } | undefined)?.outputs ?? []).map((o) => resolve(o))),
    sources: raw.sources ?? {},
  };
}

export interface PlannedImage {
  base: string;
  tags: string[];
}

/** Each image's base and tags, as the tool plans them with these arguments (no Docker call). */
export async function plannedImages(cwd: string, args: string[]): Promise<Record<string, PlannedImage>> {
  const out = await run({ cmd: process.execPath, args: [CLI, '--dry-run', '--json', ...args], cwd, env: { CI: 'true' } });
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    const event = JSON.parse(line) as { type: string; images?: ({ name: string } & PlannedImage)[] };
    if (event.type === 'plan') return Object.fromEntries((event.images ?? []).map((i) => [i.name, { base: i.base, tags: i.tags }]));
  }
  throw new Error('the dry run printed no plan');
}
