// One place credentials may come from. A registry's are looked up in a chain of these, the first that
// has some wins (as testcontainers-node's RegistryAuthLocator chain does).
import type { Credentials } from '../model/credentials.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export interface CredentialSource {
  readonly name: string;
  /** The credentials for this registry (`docker.io` for Docker Hub), or undefined when it has none. */
  find(registry: string): Promise<Credentials | undefined>;
}

export async function firstFound(sources: readonly CredentialSource[], registry: string): Promise<Credentials | undefined> {
  for (const source of sources) {
    const found = await source.find(registry);
    if (found) return found;
  }
  return undefined;
}
