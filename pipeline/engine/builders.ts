// The builders an engine can have, by name. Adding one is a folder under engine/ and a line here. Each is
// loaded when the run first builds: a run that finds every image up to date never loads gRPC or protobuf,
// and BuildKit's builds never load dockerode.
import type Docker from 'dockerode';
import type { Failure } from './docker/docker-engine.ts';
import type { EngineApi, PingHeaders } from './docker/engine-api.ts';
import { supportsBuildkit } from './buildkit/detect.ts';
import type { Builder, BuilderName } from './engine.ts';

/** The engine's connection, as our own client and, loaded on demand, as dockerode. */
export interface EngineAccess {
  api: EngineApi;
  /** The engine's API version from the run's one ping: no request pins one of its own. */
  apiVersion?: string;
  dockerode(): Promise<Docker>;
}

export interface BuilderBackend {
  /** Whether this engine can build this way, from its answer to the one ping of a run. */
  available(ping: PingHeaders): boolean;
  load(): Promise<(engine: EngineAccess, failure: Failure) => Builder | Promise<Builder>>;
}

export const BUILDERS: Record<BuilderName, BuilderBackend> = {
  buildkit: {
    available: supportsBuildkit,
    load: async () => {
      const { createBuildkitBuilder } = await import('./buildkit/index.ts');
      return (engine) => createBuildkitBuilder(engine.api, { apiVersion: engine.apiVersion });
    },
  },
  classic: {
    available: () => true,
    load: async () => {
      const { createClassicBuilder } = await import('./docker-classic/classic-builder.ts');
      return async (engine, failure) => createClassicBuilder(await engine.dockerode(), failure);
    },
  },
};

/** Tried in this order when the user names no builder. */
export const PREFERRED: readonly BuilderName[] = ['buildkit', 'classic'];

/** The builder, loaded on its first use. */
export function lazyBuilder(name: BuilderName, engine: EngineAccess, failure: Failure): Builder {
  let loaded: Promise<Builder> | undefined;
  const builder = () => (loaded ??= BUILDERS[name].load().then((create) => create(engine, failure)));
  return {
    name,
    build: async (request) => (await builder()).build(request),
    pruneCache: async (keepBytes) => (await builder()).pruneCache(keepBytes),
  };
}
