// Credentials from environment variables that the config names for one registry (the Makefile's
// `docker login` with DOCKER_HUB_USER and DOCKER_HUB_PASSWD, which was for Docker Hub only). They are
// offered to that registry and to no other.
import type { CredentialVariables } from '../model/credentials.ts';
import { RunError } from '../model/errors.ts';
import { canonicalRegistry } from '../model/image-ref.ts';
import type { CredentialSource, Env } from './credential-source.ts';

export function variableCredentials(declared: readonly CredentialVariables[], env: Env): CredentialSource {
  return {
    name: 'the environment variables the config names',
    async find(registry) {
      const wanted = canonicalRegistry(registry);
      for (const entry of declared) {
        if (entry.registry !== wanted) continue;
        const username = env[entry.usernameVariable];
        const password = env[entry.passwordVariable];
        if (username && password) return { registry, username, password };
        if (username || password) {
          const [set, unset] = username ? [entry.usernameVariable, entry.passwordVariable] : [entry.passwordVariable, entry.usernameVariable];
          throw new RunError(`${set} is set but ${unset} is not, for ${registry}`, `set both, or neither to use ${registry}'s entry in config.json`);
        }
      }
      return undefined;
    },
  };
}
