// load → variables → graph → plan: everything a command needs before it touches the engine. Pure but for
// reading the config file.
import os from 'node:os';
import { buildGraph, type Graph } from './graph.ts';
import { loadConfig, type LoadedConfig } from './load-config.ts';
import { planBuild, type Plan } from './plan.ts';
import { resolveVariables, type Variables } from './variables.ts';

export interface Prepared {
  loaded: LoadedConfig;
  variables: Variables;
  graph: Graph;
  plan: Plan;
}

export interface PrepareOptions {
  file: string;
  sets: Record<string, string>;
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
}

export async function prepare({ file, sets, env = process.env, cwd }: PrepareOptions): Promise<Prepared> {
  const loaded = await loadConfig(file, cwd);
  return prepareLoaded(loaded, sets, env);
}

export function prepareLoaded(loaded: LoadedConfig, sets: Record<string, string>, env: Readonly<Record<string, string | undefined>>): Prepared {
  const variables = resolveVariables(loaded.config, loaded.locate, { env, sets, userName: userName() });
  const graph = buildGraph(loaded.config, loaded.locate);
  const plan = planBuild(loaded, variables, graph);
  return { loaded, variables, graph, plan };
}

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'user';
  }
}

