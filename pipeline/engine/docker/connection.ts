// Where the engine is, read from the environment the way the docker CLI reads it. docker-modem differs
// (DOCKER_TLS_VERIFY must be exactly "1", no ~/.docker default for the certificates), so we do it here.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../model/errors.ts';

export type ConnectionOptions =
  | { socketPath: string }
  | { protocol: 'http'; host: string; port: number }
  | { protocol: 'https'; host: string; port: number; ca: Buffer; cert: Buffer; key: Buffer };

export function connectionOptions(
  env: Readonly<Record<string, string | undefined>> = process.env,
  readFile: (file: string) => Buffer = readFileSync,
  home: string = os.homedir(),
): ConnectionOptions {
  const host = env['DOCKER_HOST'] || 'unix:///var/run/docker.sock';
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  if (host.startsWith('/')) return { socketPath: host };
  const tcp = /^tcp:\/\/([^:/]+|\[[^\]]+\])(?::(\d+))?\/?$/.exec(host);
  if (!tcp) {
    throw new UserError({
      message: `DOCKER_HOST=${host}: only unix:// and tcp:// engines are supported`,
      hint: 'for a remote engine over ssh, name it as a builder (builders: endpoint ssh://user@host), or forward its socket (ssh -L) and point DOCKER_HOST at it',
    });
  }
  const tls = Boolean(env['DOCKER_TLS_VERIFY']);
  const hostname = tcp[1]!.replace(/^\[|\]$/g, '');
  const port = tcp[2] ? Number(tcp[2]) : tls ? 2376 : 2375;
  if (!tls) return { protocol: 'http', host: hostname, port };
  const certDir = env['DOCKER_CERT_PATH'] || path.join(home, '.docker');
  const read = (name: string) => {
    try {
      return readFile(path.join(certDir, name));
    } catch {
      throw new UserError({
        message: `DOCKER_TLS_VERIFY is set but ${path.join(certDir, name)} cannot be read`,
        hint: 'set DOCKER_CERT_PATH to the directory holding ca.pem, cert.pem and key.pem',
      });
    }
  };
  return { protocol: 'https', host: hostname, port, ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') };
}

export function describeConnection(options: ConnectionOptions): string {
  return 'socketPath' in options ? `unix://${options.socketPath}` : `${options.protocol}://${options.host}:${options.port}`;
}
