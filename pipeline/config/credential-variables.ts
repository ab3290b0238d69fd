// The config's `credentials:`: which environment variables carry which registry's credentials. Each
// entry is checked here and its registry named once, so that the lookup compares hosts, not spellings.
import type { CredentialVariables } from '../model/credentials.ts';
import type { Problem, SourcePosition } from '../model/errors.ts';
import { parseRegistry } from '../model/image-ref.ts';
import type { ConfigPath } from './load-config.ts';
import type { Config } from './schema.ts';

export function credentialVariables(config: Config, locate: (at: ConfigPath) => SourcePosition, problems: Problem[]): CredentialVariables[] {
  const declared: CredentialVariables[] = [];
  config.credentials.forEach((entry, i) => {
    const parsed = parseRegistry(entry.registry);
    if (!parsed.ok) {
      problems.push({
        message: `registry '${entry.registry}' names no registry: ${parsed.problem}`,
        at: locate(['credentials', i, 'registry']),
        hint: 'write a host (docker.io, registry.example:5000) or a repository in it (${DOCKER_HUB_REPO})',
      });
      return;
    }
    declared.push({ registry: parsed.registry, usernameVariable: entry.usernameVariable, passwordVariable: entry.passwordVariable });
  });
  return declared;
}
