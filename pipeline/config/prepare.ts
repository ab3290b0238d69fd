// load → variables → graph → plan: everything a command needs before it touches the engine. Pure but for
// reading the config file.
import os from 'node:os';
import { UserError, type Problem } from '../model/errors.ts';
import { buildGraph, type Graph } from '../plan/graph.ts';
import { loadConfig, validateConfig, type LoadedConfig, type ParsedConfig } from './load-config.ts';
import { planBuild, type Plan } from '../plan/plan.ts';
import { configSchema } from './schema.ts';
import { defaultedVariables, interpolateDeep, resolveVariables, type Variables } from './variables.ts';

export interface Prepared {
  loaded: LoadedConfig;
  variables: Variables;
  /** Variables left at a default they asked to be reported. */
  notices: string[];
  graph: Graph;
  plan: Plan;
}

export interface PrepareOptions {
  file: string;
  sets: Record<string, string>;
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
  now?: Date;
}

export async function prepare({ file, sets, env = process.env, cwd, now = new Date() }: PrepareOptions): Promise<Prepared> {
  const loaded = await loadConfig(file, cwd);
  return prepareLoaded(loaded, sets, env, now);
}

/**
 * In passes, so that each sees real values: the variables section, then the variables' values, then every
 * ${NAME} of the rest replaced, then the whole config against the schema (a URL or a path is checked as
 * it will be used), then the graph, then the plan.
 */
export function prepareLoaded(
  parsed: ParsedConfig,
  sets: Record<string, string>,
  env: Readonly<Record<string, string | undefined>>,
  now: Date = new Date(),
): Prepared {
  const declared = configSchema.shape.variables.safeParse(parsed.raw['variables']);
  if (!declared.success) {
    throw new UserError(parsed.describe(declared.error.issues.map((issue) => ({ ...issue, path: ['variables', ...issue.path] }))));
  }
  const variables = resolveVariables(declared.data, parsed.locate, { env, sets, userName: userName(), now });
  const problems: Problem[] = [];
  const interpolated: Record<string, unknown> = { ...parsed.raw };
  for (const key of ['source', 'sources', 'images'] as const) {
    if (key in parsed.raw) interpolated[key] = interpolateDeep(parsed.raw[key], [key], variables, parsed.locate, problems);
  }
  // The schema looks too, so that a file's mistakes come out together; what it says of a string whose
  // variable was unknown would only repeat that.
  const loaded = validateConfig(parsed, interpolated, problems);
  const graph = buildGraph(loaded.config, loaded.locate);
  const plan = planBuild(loaded, graph);
  return { loaded, variables, notices: defaultedVariables(declared.data, variables), graph, plan };
}

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'user';
  }
}

