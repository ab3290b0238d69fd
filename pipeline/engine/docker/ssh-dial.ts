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

export interface SshSocket {
  socketPath: string;
  /** What ssh last wrote on its stderr before a connection ended badly ("Host key verification failed."). */
  lastError(): string | undefined;
}

// ssh's stderr is kept to this much per connection: enough for its reason, never a flood.
const STDERR_KEPT = 2048;

/** A unix socket whose every connection is a fresh `ssh ... dial-stdio`; gone when the process exits. */
export async function sshSocket(target: SshTarget, spawnDial = spawn): Promise<SshSocket> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'build-images-ssh-'));
  const socketPath = path.join(dir, 'engine.sock');
  const [command, ...args] = sshDialCommand(target);
  let lastError: string | undefined;
  const children = new Set<ReturnType<typeof spawnDial>>();
  process.once('exit', () => children.forEach((child) => child.kill()));
  const server = net.createServer((socket) => {
    const child = spawnDial(command!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_KEPT)));
    // ssh gone (refused, killed) while our client still writes: its stdin fails; the connection ends when
    // ssh has closed, once what it said is known.
    child.stdin!.on('error', () => {});
    child.stdout!.on('error', () => socket.destroy());
    socket.pipe(child.stdin!);
    // Ended by the close below, not by stdout's end: by then what ssh said on stderr is known.
    child.stdout!.pipe(socket, { end: false });
    // On close, not exit: what ssh wrote before it exited is still on its way through stdout.
    child.on('close', (code) => {
      if (code !== 0 && stderr.trim()) lastError = stderr.trim().split('\n').at(-1);
      // Closed once what ssh sent is out, even if our client still has a request on its way that nothing reads.
      socket.end(() => socket.destroy());
    });
    child.on('error', (err) => {
      lastError = `${command}: ${err.message}`;
      socket.destroy();
    });
    socket.on('close', () => child.kill());
    socket.on('error', () => child.kill());
    // An idle kept-alive connection (our clients' agents unref theirs) must not keep the run alive: this end
    // and its ssh neither. While a request is under way, the client's own socket keeps the process up.
    for (const handle of [socket, child, child.stdin, child.stdout, child.stderr]) (handle as { unref?: () => void } | null)?.unref?.();
    children.add(child);
    child.on('close', () => children.delete(child));
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socketPath, resolve));
  // Idle, it keeps no run alive; the directory goes with the process.
  server.unref();
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return { socketPath, lastError: () => lastError };
}
