// The machines of a run that names builders (config `builders:` or BUILD_IMAGES_BUILDERS): one engine each,
// all asked at once. One that does not answer stops the run before anything is built, naming it, as the one
// engine of DOCKER_HOST does; one that vanishes later costs only its images (run/builder-pool.ts).
import type { BuilderConfig } from '../config/schema.ts';
import { RunError } from '../model/errors.ts';
import { builderEndpoint, connect } from './builder-endpoint.ts';
import { createEngine, type EngineOptions } from './create-engine.ts';
import type { BuildMachine } from './engine.ts';

export interface BuildersOptions extends Omit<EngineOptions, 'connection' | 'where'> {
  /** Where relative TLS paths start: the config file's directory. */
  baseDir: string;
  /** A builder's capacity when the config gives none (--concurrency). */
  capacity: number;
}

export async function createBuilders(builders: readonly BuilderConfig[], options: BuildersOptions): Promise<BuildMachine[]> {
  // Parsed first, all of them: a config mistake is said before any engine is asked.
  const endpoints = builders.map((builder) => builderEndpoint(builder, options.baseDir));
  return Promise.all(
    builders.map(async (builder, i): Promise<BuildMachine> => {
      const where = `${builder.endpoint} (builder ${builder.name})`;
      const engine = await connect(builder, endpoints[i]!)
        .then((connection) => createEngine({ ...options, connection, where }))
        .catch((err: unknown) => {
          throw err instanceof RunError && !err.message.includes(`builder ${builder.name}`)
            ? new RunError(`builder ${builder.name}: ${err.message}`, err.hint)
            : err;
        });
      return { ...engine, name: builder.name, capacity: builder.capacity ?? options.capacity, ...(builder.platforms ? { platforms: builder.platforms } : {}) };
    }),
  );
}
