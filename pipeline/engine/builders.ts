// The builders an engine can have, by name. Adding one is a folder under engine/ and a line here. Each is
// loaded when the run first builds: a run that finds every image up to date never loads gRPC or protobuf.
import type Docker from 'dockerode';
import type { Failure } from './docker/docker-engine.ts';
import type { PingHeaders } from './docker/engine-api.ts';
import { supportsBuildkit } from './buildkit/detect.ts';
import type { Builder, BuilderName } from './engine.ts';

export interface BuilderBackend {
  /** Whether this engine can build this way, from its answer to the one ping of a run. */
  available(ping: PingHeaders): boolean;
  load(): Promise<(docker: Docker, failure: Failure) => Builder>;
}

export const BUILDERS: Record<BuilderName, BuilderBackend> = {
  buildkit: {
    available: supportsBuildkit,
    load: async () => {
      const { createBuildkitBuilder } = await import('./buildkit/index.ts');
      return (docker) => createBuildkitBuilder(docker);
    },
  },
  classic: { available: () => true, load: async () => (await import('./docker-classic/classic-builder.ts')).createClassicBuilder },
};

/** Tried in this order when the user names no builder. */
export const PREFERRED: readonly BuilderName[] = ['buildkit', 'classic'];

/** The builder, loaded (with dockerode) on its first use. */
export function lazyBuilder(name: BuilderName, dockerode: () => Promise<Docker>, failure: Failure): Builder {
  let loaded: Promise<Builder> | undefined;
  const builder = () => (loaded ??= Promise.all([BUILDERS[name].load(), dockerode()]).then(([create, docker]) => create(docker, failure)));
  return {
    name,
    build: async (request) => (await builder()).build(request),
    pruneCache: async (keepBytes) => (await builder()).pruneCache(keepBytes),
  };
}
