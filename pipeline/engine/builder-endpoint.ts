// Where a configured builder is: its endpoint and TLS files made into the connection our clients take.
// tcp:// with `tls` is what DOCKER_TLS_VERIFY=1 with DOCKER_CERT_PATH gives (connection.ts); ssh:// goes
// through the ssh command as the docker CLI's does (ssh-dial.ts). A buildkitd's endpoint is parsed the same
// way (its tcp:// port is 1234 by default, as buildkitd's own examples run it) and spoken to as gRPC.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../model/errors.ts';
import type { BuilderConfig } from '../config/schema.ts';
import type { ConnectionOptions } from './docker/connection.ts';
import { parseSshEndpoint, sshSocket } from './docker/ssh-dial.ts';

export type BuilderEndpoint =
  | { kind: 'direct'; connection: ConnectionOptions }
  | { kind: 'ssh'; target: ReturnType<typeof parseSshEndpoint> }
  | { kind: 'buildkitd'; connection: ConnectionOptions };

/** Parsed without effects beyond reading the TLS files: a bad endpoint is the config's error, named with the builder. */
export function builderEndpoint(builder: BuilderConfig, baseDir: string, readFile: (file: string) => Buffer = readFileSync): BuilderEndpoint {
  const { endpoint } = builder;
  const direct = (connection: ConnectionOptions): BuilderEndpoint => ({ kind: builder.kind === 'buildkitd' ? 'buildkitd' : 'direct', connection });
  if (endpoint.startsWith('unix://')) return direct({ socketPath: endpoint.slice('unix://'.length) });
  if (endpoint.startsWith('ssh://')) return { kind: 'ssh', target: parseSshEndpoint(endpoint) };
  const tcp = /^tcp:\/\/([^:/\s]+|\[[0-9a-fA-F:]+\])(?::(\d{1,5}))?\/?$/.exec(endpoint);
  if (!tcp) throw new UserError({ message: `builder ${builder.name}: ${endpoint} is not tcp://host[:port]` });
  const host = tcp[1]!.replace(/^\[|\]$/g, '');
  const port = tcp[2] ? Number(tcp[2]) : builder.kind === 'buildkitd' ? 1234 : builder.tls ? 2376 : 2375;
  if (!builder.tls) return direct({ protocol: 'http', host, port });
  const read = (what: 'ca' | 'cert' | 'key') => {
    const file = path.resolve(baseDir, builder.tls![what]);
    try {
      return readFile(file);
    } catch {
      throw new UserError({ message: `builder ${builder.name}: its tls ${what} ${file} cannot be read`, hint: 'tls paths are relative to the config file' });
    }
  };
  return direct({ protocol: 'https', host, port, ca: read('ca'), cert: read('cert'), key: read('key') });
}

/** The connection to make now: an ssh endpoint gets its local socket, and says what ssh said when it failed. */
export async function connect(endpoint: BuilderEndpoint): Promise<{ connection: ConnectionOptions; explain?: () => string | undefined }> {
  if (endpoint.kind !== 'ssh') return { connection: endpoint.connection };
  const { socketPath, lastError } = await sshSocket(endpoint.target);
  return { connection: { socketPath }, explain: lastError };
}
