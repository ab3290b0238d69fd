// config.json's `auths`, as `docker login` leaves them without a helper.
import { RunError } from '../model/errors.ts';
import { serverAddress } from '../model/image-ref.ts';
import type { CredentialSource } from './credential-source.ts';
import type { DockerConfig } from './docker-config.ts';

export function configAuths(config: DockerConfig): CredentialSource {
  return {
    name: 'config.json auths',
    async find(registry) {
      const server = serverAddress(registry);
      const entry = config.auths?.[server] ?? config.auths?.[`https://${server}`] ?? config.auths?.[`http://${server}`];
      if (!entry) return undefined;
      if (entry.identitytoken) return { registry, identityToken: entry.identitytoken };
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0) throw new RunError(`the auths entry for ${server} in config.json is not user:password in base64`);
        return { registry, username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
      }
      if (entry.username && entry.password) return { registry, username: entry.username, password: entry.password };
      return undefined;
    },
  };
}
