// Where a configured builder is: its endpoint and TLS files made into the connection our clients take.
// tcp:// with `tls` is what DOCKER_TLS_VERIFY=1 with DOCKER_CERT_PATH gives (connection.ts); ssh:// goes
// through the ssh command as the docker CLI's does (ssh-dial.ts).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RunError, UserError } from '../model/errors.ts';
import type { BuilderConfig } from '../config/schema.ts';
import type { ConnectionOptions } from './docker/connection.ts';
import { parseSshEndpoint, sshSocket } from './docker/ssh-dial.ts';

export type BuilderEndpoint =
  { kind: 'direct'; connection: ConnectionOptions } | { kind: 'ssh'; target: ReturnType<typeof parseSshEndpoint> } | { kind: 'buildkitd' };

/** Parsed without effects beyond reading the TLS files: a bad endpoint is the config's error, named with the builder. */
export function builderEndpoint(builder: BuilderConfig, baseDir: string, readFile: (file: string) => Buffer = readFileSync): BuilderEndpoint {
  if (builder.kind === 'buildkitd') return { kind: 'buildkitd' };
  const { endpoint } = builder;
  if (endpoint.startsWith('unix://')) return { kind: 'direct', connection: { socketPath: endpoint.slice('unix://'.length) } };
  if (endpoint.startsWith('ssh://')) return { kind: 'ssh', target: parseSshEndpoint(endpoint) };
  const tcp = /^tcp:\/\/([^:/\s]+|\[[0-9a-fA-F:]+\])(?::(\d{1,5}))?\/?$/.exec(endpoint);
  if (!tcp) throw new UserError({ message: `builder ${builder.name}: ${endpoint} is not tcp://host[:port]` });
  const host = tcp[1]!.replace(/^\[|\]$/g, '');
  const port = tcp[2] ? Number(tcp[2]) : builder.tls ? 2376 : 2375;
  if (!builder.tls) return { kind: 'direct', connection: { protocol: 'http', host, port } };
  const read = (what: 'ca' | 'cert' | 'key') => {
    const file = path.resolve(baseDir, builder.tls![what]);
    try {
      return readFile(file);
    } catch {
      throw new UserError({ message: `builder ${builder.name}: its tls ${what} ${file} cannot be read`, hint: 'tls paths are relative to the config file' });
    }
  };
  return { kind: 'direct', connection: { protocol: 'https', host, port, ca: read('ca'), cert: read('cert'), key: read('key') } };
}

/** The connection to make now: an ssh endpoint gets its local socket; a buildkitd is refused, saying why. */
export async function connect(builder: BuilderConfig, endpoint: BuilderEndpoint): Promise<ConnectionOptions> {
  if (endpoint.kind === 'direct') return endpoint.connection;
  if (endpoint.kind === 'ssh') return { socketPath: await sshSocket(endpoint.target) };
  throw new RunError(
    `builder ${builder.name}: a buildkitd builder cannot be built with yet (${builder.endpoint})`,
    'this build has no BuildKit Control API client (issue 23); give the builder `kind: engine` on a Docker engine, or leave it out',
  );
}
