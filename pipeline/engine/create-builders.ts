// The machines of a run that names builders (config `builders:` or BUILD_IMAGES_BUILDERS): one engine each,
// all asked at once. One that does not answer stops the run before anything is built, naming it, as the one
// engine of DOCKER_HOST does; one that vanishes later costs only its images (run/builder-pool.ts). A
// buildkitd builds and DOCKER_HOST's engine takes in what it built (engine/buildkitd/).
import type { BuilderConfig } from '../config/schema.ts';
import { RunError } from '../model/errors.ts';
import { builderEndpoint, connect, type BuilderEndpoint } from './builder-endpoint.ts';
import { createEngine, type EngineOptions } from './create-engine.ts';
import { connectionOptions, describeConnection } from './docker/connection.ts';
import { engineApi } from './docker/engine-api.ts';
import type { BuildMachine, Engine } from './engine.ts';

export interface BuildersOptions extends Omit<EngineOptions, 'connection' | 'where'> {
  /** Where relative TLS paths start: the config file's directory. */
  baseDir: string;
  /** A builder's capacity when the config gives none (--concurrency). */
  capacity: number;
}

export async function createBuilders(builders: readonly BuilderConfig[], options: BuildersOptions): Promise<BuildMachine[]> {
  // Parsed first, all of them: a config mistake is said before any engine is asked.
  const endpoints = builders.map((builder) => builderEndpoint(builder, options.baseDir));
  const home = once(() => localEngine(options));
  return Promise.all(
    builders.map(async (builder, i): Promise<BuildMachine> => {
      const where = `${builder.endpoint} (builder ${builder.name})`;
      const endpoint = endpoints[i]!;
      const { connection, explain } = await connect(endpoint);
      const engine = await (async () => {
        if (endpoint.kind !== 'buildkitd') return createEngine({ ...options, connection, where });
        const { buildkitdDialer, buildkitdEngine } = await import('./buildkitd/index.ts');
        return buildkitdEngine({ where, dial: buildkitdDialer(connection), home: await home() });
      })().catch((err: unknown) => {
        if (!(err instanceof RunError)) throw err;
        const said = explain?.();
        const message = err.message.includes(`builder ${builder.name}`) ? err.message : `builder ${builder.name}: ${err.message}`;
        if (!said) throw new RunError(message, err.hint);
        throw new RunError(
          `builder ${builder.name}: ssh to ${builder.endpoint} failed: ${said}`,
          'that is the ssh command the docker CLI runs (ssh … docker system dial-stdio): check ~/.ssh/config, the key and known_hosts for this host',
        );
      });
      return {
        ...engine,
        name: builder.name,
        capacity: builder.capacity ?? options.capacity,
        ...(builder.platforms ? { platforms: builder.platforms } : {}),
        ...(endpoint.kind === 'buildkitd' ? { loadsInto: localBuilder(builders, endpoints) } : {}),
      };
    }),
  );
}

/** The engine builder that is the local engine (DOCKER_HOST), where a buildkitd's images are loaded. */
function localBuilder(builders: readonly BuilderConfig[], endpoints: readonly BuilderEndpoint[]): { builder?: string } {
  const local = describeConnection(connectionOptions());
  const i = endpoints.findIndex((e) => e.kind === 'direct' && describeConnection(e.connection) === local);
  return i < 0 ? {} : { builder: builders[i]!.name };
}

/** The engine a buildkitd's images are loaded into: DOCKER_HOST's, as `docker buildx build --load` loads them. */
async function localEngine(options: BuildersOptions): Promise<{ api: ReturnType<typeof engineApi>; engine: Engine }> {
  const connection = connectionOptions();
  const where = `${describeConnection(connection)} (the local engine, where buildkitd builders load their images)`;
  return { api: engineApi(connection), engine: await createEngine({ ...options, connection, where }) };
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}
