// The one place that connects to an engine and picks its backends: the image store over dockerode, and the
// builder the user asked for or the best one the engine has.
import Docker from 'dockerode';
import { RunError } from '../model/errors.ts';
import { BUILDERS, lazyBuilder, PREFERRED } from './builders.ts';
import { connectionOptions, describeConnection, type ConnectionOptions } from './docker/connection.ts';
import { dockerImageStore, engineFailure } from './docker/docker-engine.ts';
import type { BuilderName, Engine } from './engine.ts';

export interface EngineOptions {
  /** undefined: the first of PREFERRED that the engine has. */
  builder?: BuilderName;
  connection?: ConnectionOptions;
  /** Told once when the engine lacks the preferred builder. */
  notice?: (message: string) => void;
}

export async function createEngine(options: EngineOptions = {}): Promise<Engine> {
  const connection = options.connection ?? connectionOptions();
  // No `timeout`: docker-modem applies it as a socket idle timeout, which kills a long quiet RUN.
  const docker = new Docker(connection);
  const failure = engineFailure(describeConnection(connection));
  const images = dockerImageStore(docker, failure);
  await images.ping();
  // Each builder's availability is asked once: chosen by us, it was just found available.
  const builder = options.builder ?? (await firstAvailable(docker, options.notice));
  if (options.builder && !(await BUILDERS[builder].available(docker))) {
    throw new RunError(`this engine has no ${builder} builder`, `build with --builder ${PREFERRED.filter((b) => b !== builder).join(' or ')}`);
  }
  return { images, builder: lazyBuilder(builder, docker, failure) };
}

async function firstAvailable(docker: Docker, notice?: (message: string) => void): Promise<BuilderName> {
  for (const name of PREFERRED) {
    if (await BUILDERS[name].available(docker)) {
      if (name !== PREFERRED[0]) notice?.(`this engine has no ${PREFERRED[0]} builder: building with the ${name} one`);
      return name;
    }
  }
  return 'classic';
}
