// Which values of a run are secrets, and the services that tell the mask of each as it is read: the
// environment's registry passwords and build secrets are known before anything prints, a secret file or a
// credential helper's answer only when the run reads it, which is before it could reach any output.
import type { Config } from '../config/schema.ts';
import type { Plan } from '../plan/plan.ts';
import type { CredentialVariables } from '../model/credentials.ts';
import type { RunServices } from '../run/services.ts';
import type { SecretMask } from '../report/secret-mask.ts';

export function knownSecrets(
  secrets: Config['secrets'],
  credentials: readonly CredentialVariables[],
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const fromEnv = Object.values(secrets).flatMap((source) => ('env' in source ? [env[source.env]] : []));
  const passwords = credentials.map((c) => env[c.passwordVariable]);
  return [...fromEnv, ...passwords].filter((v): v is string => Boolean(v));
}

/**
 * The signing keys given by environment variable: the whole PEM and each line of its body, since a
 * command's output (the signing hook inherits the environment) may break it into lines.
 */
export function signingKeySecrets(plan: Plan, env: Readonly<Record<string, string | undefined>>): string[] {
  const values = new Set<string>();
  for (const image of plan.images.values()) {
    const key = image.sign.key;
    const pem = key && 'env' in key ? env[key.env] : undefined;
    if (!pem) continue;
    values.add(pem.trim());
    for (const line of pem.split(/\r?\n/)) if (line.length >= 16 && !line.startsWith('-----')) values.add(line.trim());
  }
  return [...values];
}

export function maskingServices(services: RunServices, mask: SecretMask): RunServices {
  return {
    ...services,
    credentials: async (registry) => {
      const found = await services.credentials(registry);
      if (found && 'password' in found) {
        mask.add(found.password);
        mask.add(Buffer.from(`${found.username}:${found.password}`).toString('base64'));
      } else if (found) mask.add(found.identityToken);
      return found;
    },
    secret: (id) => {
      const read = services.secret(id);
      return async () => {
        const value = await read();
        mask.add(value.toString('utf8'));
        return value;
      };
    },
  };
}
