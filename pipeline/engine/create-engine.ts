// The one place that connects to an engine and picks its backends: the image store on the Engine API, and
// the builder the user asked for or the best one the engine has. The engine is pinged once: that answer
// says both that it is there and which builders it has.
import type Docker from 'dockerode';
import { RunError } from '../model/errors.ts';
import { BUILDERS, lazyBuilder, PREFERRED } from './builders.ts';
import { connectionOptions, describeConnection, type ConnectionOptions } from './docker/connection.ts';
import { pruningAtMostEvery } from './prune-schedule.ts';
import { dockerImageStore, engineFailure } from './docker/docker-engine.ts';
import { engineApi, ping, type PingHeaders } from './docker/engine-api.ts';
import type { BuilderName, Engine } from './engine.ts';

export interface EngineOptions {
  /** undefined: the first of PREFERRED that the engine has. */
  builder?: BuilderName;
  connection?: ConnectionOptions;
  /** Told once when the engine lacks the preferred builder. */
  notice?: (message: string) => void;
  /** Where the last prune of each engine's build cache is noted: pruned at most every 10 minutes. Every time without. */
  pruneStamps?: string;
  /** How failures name the engine (a builder's name and endpoint); default: its connection. */
  where?: string;
}

export async function createEngine(options: EngineOptions = {}): Promise<Engine> {
  const connection = options.connection ?? connectionOptions();
  const failure = engineFailure(options.where ?? describeConnection(connection));
  const api = engineApi(connection);
  const dockerode = once(async () => {
    const { default: Docker } = await import('dockerode');
    // No `timeout`: docker-modem applies it as a socket idle timeout, which kills a long quiet RUN.
    return new Docker(connection) as Docker;
  });
  const headers = await ping(api).catch((err: unknown) => {
    throw failure('asking the engine', err);
  });
  const builder = options.builder ?? firstAvailable(headers, options.notice);
  if (options.builder && !BUILDERS[builder].available(headers)) {
    throw new RunError(`this engine has no ${builder} builder`, `build with --builder ${PREFERRED.filter((b) => b !== builder).join(' or ')}`);
  }
  const built = lazyBuilder(builder, { api, dockerode, apiVersion: headers.apiVersion }, failure);
  const schedule = options.pruneStamps === undefined ? undefined : { file: options.pruneStamps, engine: options.where ?? describeConnection(connection) };
  return { images: dockerImageStore(api, dockerode, failure), builder: schedule ? pruningAtMostEvery(built, schedule) : built };
}

function firstAvailable(headers: PingHeaders, notice?: (message: string) => void): BuilderName {
  const name = PREFERRED.find((b) => BUILDERS[b].available(headers)) ?? 'classic';
  if (name !== PREFERRED[0]) notice?.(`this engine has no ${PREFERRED[0]} builder: building with the ${name} one`);
  return name;
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}
