// The builders an engine can have, by name. Adding one is a folder under engine/ and a line here.
import type Docker from 'dockerode';
import { createBuildkitBuilder, hasBuildkit } from './buildkit/index.ts';
import { createClassicBuilder } from './docker-classic/classic-builder.ts';
import type { Failure } from './docker/docker-engine.ts';
import type { Builder, BuilderName } from './engine.ts';

export interface BuilderBackend {
  /** Whether this engine can build this way (asked once, at start). */
  available(docker: Docker): Promise<boolean>;
  create(docker: Docker, failure: Failure): Builder;
}

export const BUILDERS: Record<BuilderName, BuilderBackend> = {
  buildkit: { available: hasBuildkit, create: (docker) => createBuildkitBuilder(docker) },
  classic: { available: async () => true, create: createClassicBuilder },
};

/** Tried in this order when the user names no builder. */
export const PREFERRED: readonly BuilderName[] = ['buildkit', 'classic'];
