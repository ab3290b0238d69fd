// Whether an engine builds with BuildKit through POST /build?version=2. Engines from 23 say so in /_ping's
// Builder-Version header ("2"); 20.10 sends that header only when daemon.json sets features.buildkit, yet
// builds version=2 all the same. BuildKit came into the Linux daemon in 18.09 (API 1.39); a Windows daemon
// has none.
import type Docker from 'dockerode';
import { RunError } from '../../model/errors.ts';
import { engineMessage, streamRequest } from './engine-request.ts';

export interface PingHeaders {
  apiVersion?: string;
  osType?: string;
  builderVersion?: string;
}

export function supportsBuildkit(ping: PingHeaders): boolean {
  if (ping.builderVersion === '2') return true;
  if (ping.osType !== undefined && ping.osType !== 'linux') return false;
  const [major = 0, minor = 0] = (ping.apiVersion ?? '').split('.').map(Number);
  return major > 1 || (major === 1 && minor >= 39);
}

export async function hasBuildkit(docker: Docker): Promise<boolean> {
  const answer = await streamRequest(docker, { method: 'GET', path: '/_ping' }).catch((err: unknown) => {
    throw new RunError(`asking the engine whether it has BuildKit: ${engineMessage(err)}`);
  });
  answer.resume();
  const header = (name: string) => {
    const value = answer.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  return supportsBuildkit({ apiVersion: header('api-version'), osType: header('ostype'), builderVersion: header('builder-version') });
}
