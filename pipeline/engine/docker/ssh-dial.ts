// An engine over ssh, as the docker CLI reaches one (cli/connhelper): `ssh ... HOST docker system
// dial-stdio` carries one connection to the remote engine's socket over the ssh process's stdin and stdout.
// docker-modem's own ssh:// goes through ssh2 with an agent only (no ~/.ssh/config, no known_hosts of the
// user's ssh); the ssh command is what the user already trusts. Each connection of our clients becomes one
// such process, through a unix socket of our own in a private directory, so that the Engine API client,
// dockerode and BuildKit's hijacked session all see a plain socket.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../model/errors.ts';

export interface SshTarget {
  user?: string;
  host: string;
  port?: number;
}

/** ssh://[user@]host[:port], as the docker CLI takes it (no path, no password; nothing that ssh would read as an option). */
export function parseSshEndpoint(endpoint: string): SshTarget {
  const match = /^ssh:\/\/(?:([^-@:/\s][^@:/\s]*)@)?([^-@:/\s[\]][^@:/\s[\]]*|\[[0-9a-fA-F:]+\])(?::(\d{1,5}))?\/?$/.exec(endpoint);
  if (!match) {
    throw new UserError({ message: `${endpoint}: expected ssh://[user@]host[:port]`, hint: 'a password cannot go in the endpoint: use a key or ssh-agent' });
  }
  const port = match[3] === undefined ? undefined : Number(match[3]);
  if (port !== undefined && (port < 1 || port > 65535)) throw new UserError({ message: `${endpoint}: port ${port} is out of range` });
  return { ...(match[1] ? { user: match[1] } : {}), host: match[2]!.replace(/^\[|\]$/g, ''), ...(port ? { port } : {}) };
}

/** The command the docker CLI runs for such an endpoint (20.10+: a connect timeout, no terminal). */
export function sshDialCommand(target: SshTarget): string[] {
  return [
    'ssh',
    '-o',
    'ConnectTimeout=30',
    '-T',
    ...(target.user ? ['-l', target.user] : []),
    ...(target.port ? ['-p', String(target.port)] : []),
    '--',
    target.host,
    'docker',
    'system',
    'dial-stdio',
  ];
}

/** A unix socket whose every connection is a fresh `ssh ... dial-stdio`; gone when the process exits. */
export async function sshSocket(target: SshTarget, spawnDial = spawn): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'build-images-ssh-'));
  const socketPath = path.join(dir, 'engine.sock');
  const [command, ...args] = sshDialCommand(target);
  const server = net.createServer((socket) => {
    const child = spawnDial(command!, args, { stdio: ['pipe', 'pipe', 'ignore'] });
    socket.pipe(child.stdin!);
    child.stdout!.pipe(socket);
    const end = () => socket.destroy();
    child.on('exit', end);
    child.on('error', end);
    socket.on('close', () => child.kill());
    socket.on('error', () => child.kill());
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socketPath, resolve));
  // Idle, it keeps no run alive; the directory goes with the process.
  server.unref();
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return socketPath;
}
