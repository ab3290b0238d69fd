// Whether an engine builds with BuildKit through POST /build?version=2. Engines from 23 say so in /_ping's
// Builder-Version header ("2"); 20.10 sends that header only when daemon.json sets features.buildkit, yet
// builds version=2 all the same. BuildKit came into the Linux daemon in 18.09 (API 1.39); a Windows daemon
// has none. Read from the run's one ping; this module loads nothing else of BuildKit's.
import type { PingHeaders } from '../docker/engine-api.ts';

export function supportsBuildkit(ping: PingHeaders): boolean {
  if (ping.builderVersion === '2') return true;
  if (ping.osType !== undefined && ping.osType !== 'linux') return false;
  const [major = 0, minor = 0] = (ping.apiVersion ?? '').split('.').map(Number);
  return major > 1 || (major === 1 && minor >= 39);
}
