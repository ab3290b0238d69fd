// Credentials for a registry. They go with each request and nowhere else: never to disk, output or events.
import type { RegistryAuth } from './engine.ts';

// Docker Hub is known to the engine by its old index address.
export function serverAddress(registry: string): string {
  return registry === 'docker.io' ? 'https://index.docker.io/v1/' : registry;
}

/** DOCKER_HUB_USER and DOCKER_HUB_PASSWD, as the Makefile's `docker login` used them. */
export function environmentAuth(env: Readonly<Record<string, string | undefined>> = process.env) {
  return (registry: string): RegistryAuth | undefined => {
    const username = env['DOCKER_HUB_USER'];
    const password = env['DOCKER_HUB_PASSWD'];
    if (!username || !password) return undefined;
    return { username, password, serveraddress: serverAddress(registry) };
  };
}
