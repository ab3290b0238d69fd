// load → variables → graph → plan: everything a command needs before it touches the engine. Pure but for
// reading the config file (and a git checkout's HEAD, for a variable's gitCommit).
import path from 'node:path';
import { UserError, type Problem } from '../model/errors.ts';
import { buildGraph, type Graph } from '../plan/graph.ts';
import { loadConfig, validateConfig, type ParsedConfig } from './load-config.ts';
import { planBuild, type Plan } from '../plan/plan.ts';
import { credentialVariables } from './credential-variables.ts';
import { gitHead } from './git-head.ts';
import type { CredentialVariables } from '../model/credentials.ts';
import { configSchema, type Config } from './schema.ts';
import { withPlatforms } from '../model/platform.ts';
import { defaultedVariables, interpolateConfig, type Variables } from './variables.ts';

export interface Prepared {
  /** Validated, with every ${VARIABLE} outside `variables:` already replaced. */
  config: Config;
  variables: Variables;
  /** Variables left at a default they asked to be reported. */
  notices: string[];
  graph: Graph;
  plan: Plan;
  /** Which environment variables carry which registry's credentials. */
  credentials: CredentialVariables[];
}

export interface PrepareOptions {
  file: string;
  sets: Record<string, string>;
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
  now?: Date;
  /** `--platform`: every image's platforms, over the config's. */
  platforms?: readonly string[];
}

export async function prepare({ file, sets, env = process.env, cwd, now = new Date(), platforms }: PrepareOptions): Promise<Prepared> {
  const loaded = await loadConfig(file, cwd);
  return prepareLoaded(loaded, sets, env, now, gitHead, platforms);
}

/** What preparing works out on the way, which the shell's cache of prepared configs keeps (prepared-cache.ts). */
export interface PreparedParts {
  prepared: Prepared;
  raw: Record<string, unknown>;
  /** The `variables:` section, validated. */
  declared: Config['variables'];
  /** The sections that may use variables, with their values in. */
  interpolated: Record<string, unknown>;
}

export function prepareLoaded(...args: Parameters<typeof prepareParts>): Prepared {
  return prepareParts(...args).prepared;
}

/**
 * In passes, so that each sees real values: the variables section, then the variables' values, then every
 * ${NAME} of the rest replaced, then the whole config against the schema (a URL or a path is checked as
 * it will be used), then the graph, then the plan.
 */
export function prepareParts(
  parsed: ParsedConfig,
  sets: Record<string, string>,
  env: Readonly<Record<string, string | undefined>>,
  now: Date = new Date(),
  readCommit: (dir: string) => string | undefined = gitHead,
  platforms?: readonly string[],
): PreparedParts {
  const declared = configSchema.shape.variables.safeParse(parsed.raw['variables']);
  if (!declared.success) {
    throw new UserError(parsed.describe(declared.error.issues.map((issue) => ({ ...issue, path: ['variables', ...issue.path] }))));
  }
  const problems: Problem[] = [];
  const interpolation = interpolateConfig(parsed.raw, declared.data, parsed.locate, problems, {
    env,
    sets,
    now,
    gitCommit: (dir) => readCommit(path.resolve(parsed.projectDir, dir)),
  });
  const { variables } = interpolation;
  const interpolated = withPlatforms(interpolation.interpolated, platforms);
  // The schema looks too, so that a file's mistakes come out together; what it says of a string whose
  // variable was unknown would only repeat that.
  const loaded = validateConfig(parsed, interpolated, problems);
  const credentials = credentialVariables(loaded.config, loaded.locate, problems);
  if (problems.length > 0) throw new UserError(problems);
  const graph = buildGraph(loaded.config, loaded.locate);
  const plan = planBuild(loaded, graph);
  const notices = defaultedVariables(declared.data, variables);
  return { prepared: { config: loaded.config, variables, notices, graph, plan, credentials }, raw: parsed.raw, declared: declared.data, interpolated };
}
