// A config that did not change is not read again. Parsing the YAML, checking it against the schema and
// planning its images took ~0.1 s of a 0.26 s run that found every image up to date, most of it loading
// the yaml and zod libraries and the step kinds; remembered, a run reads one JSON file and loads none of
// them. What is remembered is keyed by everything it was made from: this build of the tool, the file's
// name, folder and bytes (the first key), then the config with its variables' values in (the second).
//
// A run's ${TIMESTAMP} changes every second, and a config that tags with it would never find its plan
// again: the plan is kept with the run's timestamp written as a placeholder, and a later run finds it
// under its own timestamp written the same way, then has its own put back.
//
// It is kept in the user's cache, not in the project: a plan decides what reaches an image, and a file a
// checkout brought along must not be able to decide it. Only a config that prepared without a problem is
// remembered; anything unexpected on the way (no file, another build of the tool, a damaged JSON, a problem
// with the variables) prepares from the file as before, so every error a user sees still comes from the
// full pass, placed at its line and column.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Prepared, PrepareOptions, PreparedParts } from '../config/prepare.ts';
import { gitHead } from '../config/git-head.ts';
import { defaultedVariables, interpolateConfig } from '../config/variables.ts';
import type { Graph } from '../plan/graph.ts';
import type { ImagePlan, Plan } from '../plan/plan.ts';
import type { Problem } from '../model/errors.ts';
import { withPlatforms } from '../model/platform.ts';
import { concealGiven, givenDigest, givenValues, revealGiven, type GivenValues } from '../model/given-values.ts';
import { defaultCacheDir } from './cache-dir.ts';
import { writePrivately } from './state-file.ts';

/** Plans kept per config text: a few --set lines, or a few environments, each find theirs. */
const PLANS_KEPT = 8;
const PLACEHOLDER = '@@build-images:TIMESTAMP@@';

// Set by `npm run build` (esbuild.config.js) to a digest of the tool's sources. Run from the sources
// (tsx, the tests' own imports) there is none, and nothing is remembered: a changed step kind would
// otherwise plan from a stale memory.
declare const BUILD_IMAGES_BUILD_ID: string | undefined;
const BUILD_ID = typeof BUILD_IMAGES_BUILD_ID === 'string' ? BUILD_IMAGES_BUILD_ID : undefined;

interface Remembered {
  /** The first key: this build, the file's name, its folder and its bytes. */
  key: string;
  raw: Record<string, unknown>;
  declared: PreparedParts['declared'];
  /** By the second key: the plan's values as JSON, the timestamp as PLACEHOLDER. */
  plans: Record<string, string>;
}

/** What a plan is kept as: its maps as lists of pairs. */
interface KeptPlan {
  config: Prepared['config'];
  credentials: Prepared['credentials'];
  graph: { targets: [string, unknown][]; dependencies: [string, readonly string[]][]; order: readonly string[]; actionTargets: readonly string[] };
  plan: { projectDir: string; images: [string, ImagePlan][] };
}

export interface PreparedCache {
  prepare(options: PrepareOptions): Promise<Prepared>;
}

/**
 * Configs remembered in `dir`, a file per config file. `buildId` names the tool's build; without one (run
 * from its sources) every config is prepared afresh.
 */
export function preparedCache(dir = path.join(defaultCacheDir(), 'prepared-configs'), buildId: string | undefined = BUILD_ID): PreparedCache {
  return {
    async prepare(options) {
      const absolute = path.resolve(options.cwd ?? process.cwd(), options.file);
      const bytes = buildId === undefined ? undefined : await readFile(absolute).catch(() => undefined);
      if (buildId === undefined || bytes === undefined) return (await import('../config/prepare.ts')).prepare(options);
      const key = digest(buildId, options.file, absolute, bytes);
      // One file per build of the tool and config file: two builds used in turn (a global install and a
      // project's own) do not replace each other's memory on every run.
      const store = path.join(dir, `${digest(buildId, absolute)}.json`);
      const remembered = await readRemembered(store);
      const found = remembered?.key === key ? recall(remembered, options) : undefined;
      if (found) return found;
      const parts = await prepareAfresh(options);
      await remember(store, key, remembered, parts, options).catch(() => {
        // A cache: a run that cannot write it (a read-only checkout) is only slower next time.
      });
      return parts.prepared;
    },
  };
}

async function prepareAfresh(options: PrepareOptions): Promise<PreparedParts> {
  const { loadConfig } = await import('../config/load-config.ts');
  const { prepareParts } = await import('../config/prepare.ts');
  return prepareParts(
    await loadConfig(options.file, options.cwd),
    options.sets,
    options.env ?? process.env,
    options.now ?? new Date(),
    gitHead,
    options.platforms,
  );
}

/** The plan remembered for this config with these variables; undefined sends it through the full pass. */
function recall(remembered: Remembered, options: PrepareOptions): Prepared | undefined {
  try {
    const problems: Problem[] = [];
    // Positions are only needed for problems, and a problem sends the config through the full pass.
    const nowhere = () => ({ file: options.file, line: 1, col: 1 });
    const projectDir = path.dirname(path.resolve(options.cwd ?? process.cwd(), options.file));
    const interpolation = interpolateConfig(remembered.raw, remembered.declared, nowhere, problems, {
      env: options.env ?? process.env,
      sets: options.sets,
      now: options.now ?? new Date(),
      gitCommit: (dir) => gitHead(path.resolve(projectDir, dir)),
    });
    if (problems.length > 0) return undefined;
    const { variables } = interpolation;
    const interpolated = withPlatforms(interpolation.interpolated, options.platforms);
    const stamp = variables.get('TIMESTAMP')!.value;
    const given = givenValues(variables, options.env ?? process.env);
    const planKey = planKeyOf(remembered.raw, interpolated, stamp, given);
    const kept = planKey === undefined ? undefined : remembered.plans[planKey];
    if (kept === undefined) return undefined;
    const plan = JSON.parse(revealGiven(kept, given, true).replaceAll(PLACEHOLDER, stamp)) as KeptPlan;
    return {
      config: plan.config,
      credentials: plan.credentials,
      variables,
      notices: defaultedVariables(remembered.declared, variables),
      graph: { ...plan.graph, targets: new Map(plan.graph.targets), dependencies: new Map(plan.graph.dependencies) } as Graph,
      plan: { projectDir: plan.plan.projectDir, images: new Map(plan.plan.images) } satisfies Plan,
    };
  } catch {
    // A damaged memory, or a variable's problem: the full pass says what is wrong, where.
    return undefined;
  }
}

/**
 * The second key: the config with its values in, the timestamp written as the placeholder, and the values
 * given with --set or by the environment (a plan is kept with placeholders for them: a run with other
 * values must not find it). None when the timestamp or the placeholder is written into the file itself,
 * where putting the run's own back in would change what the user wrote.
 */
function planKeyOf(raw: unknown, interpolated: unknown, stamp: string, given: GivenValues): string | undefined {
  const written = JSON.stringify(raw);
  if (written.includes(stamp) || written.includes(PLACEHOLDER)) return undefined;
  return digest(JSON.stringify(interpolated).replaceAll(stamp, PLACEHOLDER), givenDigest(given));
}

async function remember(store: string, key: string, earlier: Remembered | undefined, parts: PreparedParts, options: PrepareOptions): Promise<void> {
  const { prepared } = parts;
  const stamp = prepared.variables.get('TIMESTAMP')!.value;
  const env = options.env ?? process.env;
  const given = givenValues(prepared.variables, env);
  const planKey = planKeyOf(parts.raw, parts.interpolated, stamp, given);
  if (planKey === undefined) return;
  const kept: KeptPlan = {
    config: prepared.config,
    credentials: prepared.credentials,
    graph: { ...prepared.graph, targets: [...prepared.graph.targets], dependencies: [...prepared.graph.dependencies] },
    plan: { projectDir: prepared.plan.projectDir, images: [...prepared.plan.images] },
  };
  const text = JSON.stringify(kept);
  // A value that is a secret where it is used never goes to disk, even in a config that wrote it in.
  if (secretValues(prepared, env).some((secret) => text.includes(secret))) return;
  // Nor does a value given with --set or by the environment: the plan keeps a placeholder in its place.
  const concealed = concealGiven(text.replaceAll(stamp, PLACEHOLDER), given, true);
  if (concealed === undefined || revealGiven(concealed, given, true).replaceAll(PLACEHOLDER, stamp) !== text) return;
  const plans = Object.entries(earlier?.key === key ? earlier.plans : {}).filter(([k]) => k !== planKey);
  const remembered: Remembered = {
    key,
    raw: parts.raw,
    declared: parts.declared,
    plans: Object.fromEntries([...plans.slice(-(PLANS_KEPT - 1)), [planKey, concealed]]),
  };
  await writePrivately(store, JSON.stringify(remembered));
}

/** The values of the registry passwords and the build secrets the environment holds for this config. */
function secretValues({ credentials, config }: Prepared, env: Readonly<Record<string, string | undefined>>): string[] {
  const names = [
    ...credentials.flatMap((c) => [c.usernameVariable, c.passwordVariable]),
    ...Object.values(config.secrets).flatMap((s) => ('env' in s ? [s.env] : [])),
  ];
  return names.map((name) => env[name] ?? '').filter((value) => value.length >= 4);
}

async function readRemembered(store: string): Promise<Remembered | undefined> {
  try {
    const remembered = JSON.parse(await readFile(store, 'utf8')) as Remembered;
    return typeof remembered === 'object' && remembered !== null && typeof remembered.plans === 'object' ? remembered : undefined;
  } catch {
    return undefined;
  }
}

function digest(...parts: (string | Uint8Array)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(typeof part === 'string' ? `${part.length}:${part}` : part);
  return hash.digest('hex');
}
