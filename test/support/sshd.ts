// An OpenSSH server of the test's own on 127.0.0.1, for the engine a builder reaches over ssh:// (the docker
// CLI's way: `ssh … host docker system dial-stdio`). The openssh-server package of the machine's own Debian
// release is downloaded and unpacked into the tools cache (never installed: installing it would start a
// system sshd), with libwrap0, which it needs and a minimal machine lacks. sshd runs in a mount namespace of its own, where
// /etc/passwd is a copy that has its privilege-separation user `sshd` and /run is a tmpfs holding its empty
// /run/sshd: the machine's files are not changed. Keys, host key, authorized_keys and the client's
// ~/.ssh (config, known_hosts) are made here; the client's ssh sees them through a bind of that home over
// /root in the mount namespace the CLI runs in (`asSshClient`), since ssh reads ~ from the password file.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fetchDebianPackages, TOOLS } from './oci-tools.ts';
import { freePort } from './registry.ts';
import { tempDir } from './temp.ts';

export interface Sshd {
  port: number;
  /** The client's home: .ssh/config names the server `buildhost`, with its key and known host. */
  home: string;
  /** The host key the server shows, as known_hosts writes it. */
  hostKey: string;
  stop(): Promise<void>;
}

/** sshd and the library it lacks, unpacked from the packages of the machine's own Debian release, once. */
async function sshdProgram(): Promise<{ sshd: string; libraryPath: string }> {
  const keptOf = (name: string, file: string) =>
    (existsSync(TOOLS) ? readdirSync(TOOLS).sort() : []).filter((n) => n.startsWith(`${name}_`) && existsSync(path.join(TOOLS, n, file))).at(-1);
  const find = () => ({ server: keptOf('openssh-server', 'usr/sbin/sshd'), wrap: keptOf('libwrap0', 'lib') ?? keptOf('libwrap0', 'usr/lib') });
  if (!find().server || !find().wrap) await fetchDebianPackages(['openssh-server', 'libwrap0'], undefined, machineSuite());
  const { server, wrap } = find();
  if (!server || !wrap) throw new Error(`openssh-server and libwrap0 could not be had from Debian ${machineSuite()}`);
  // libwrap0's multiarch folders (lib/x86_64-linux-gnu, usr/lib/…): dpkg-architecture is not on a minimal machine.
  const root = path.join(TOOLS, wrap);
  const libraries = ['lib', 'usr/lib'].flatMap((dir) =>
    existsSync(path.join(root, dir))
      ? readdirSync(path.join(root, dir))
          .filter((n) => n.endsWith('-linux-gnu'))
          .map((n) => path.join(root, dir, n))
      : [],
  );
  return { sshd: path.join(TOOLS, server, 'usr/sbin/sshd'), libraryPath: libraries.join(':') };
}

/** The machine's Debian release (bookworm): its sshd runs with the machine's own libraries. */
function machineSuite(): string {
  const codename = /^VERSION_CODENAME=(\w+)$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
  if (!codename) throw new Error('/etc/os-release names no VERSION_CODENAME: the ssh test needs a Debian release');
  return codename;
}

// Run by sh inside `unshare --mount`: the mounts stay in that namespace.
const SSHD_NAMESPACE = `set -e
passwd=$1; shift
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -m 0755 /run/sshd
mount --bind "$passwd" /etc/passwd
exec "$@"`;

/** sshd on 127.0.0.1 that lets root in with the test's key; its sessions get DOCKER_HOST=dockerHost. */
export async function startSshd(dockerHost: string): Promise<Sshd> {
  const { sshd, libraryPath } = await sshdProgram();
  const dir = await tempDir('bi-sshd-');
  const keygen = (file: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'build-images test', '-f', path.join(dir, file)]);
  keygen('host_key');
  keygen('client_key');
  await writeFile(path.join(dir, 'authorized_keys'), readFileSync(path.join(dir, 'client_key.pub')));
  const port = await freePort();
  await writeFile(
    path.join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${dir}/host_key`,
      'PidFile none',
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      'AllowUsers root',
      // The temporary directory is not root's own 0700 one.
      'StrictModes no',
      `SetEnv DOCKER_HOST=${dockerHost}`,
    ].join('\n') + '\n',
  );
  const passwd = readFileSync('/etc/passwd', 'utf8');
  await writeFile(path.join(dir, 'passwd'), /^sshd:/m.test(passwd) ? passwd : `${passwd.trimEnd()}\nsshd:x:65533:65534::/run/sshd:/usr/sbin/nologin\n`);

  const child: ChildProcess = spawn(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      SSHD_NAMESPACE,
      'sh',
      path.join(dir, 'passwd'),
      'env',
      `LD_LIBRARY_PATH=${libraryPath}`,
      sshd,
      '-D',
      '-e',
      '-f',
      path.join(dir, 'sshd_config'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('close', resolve));
    child.kill('SIGTERM');
    await gone;
  };
  try {
    await listening(port, child, () => log);
  } catch (err) {
    await stop();
    throw err;
  }

  const hostKey = `[127.0.0.1]:${port} ${readFileSync(path.join(dir, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}`;
  const home = path.join(dir, 'home');
  await mkdir(path.join(home, '.ssh'), { recursive: true, mode: 0o700 });
  await writeFile(path.join(home, '.ssh', 'known_hosts'), `${hostKey}\n`);
  await writeFile(
    path.join(home, '.ssh', 'config'),
    [
      'Host buildhost',
      '  HostName 127.0.0.1',
      `  Port ${port}`,
      `  IdentityFile ${dir}/client_key`,
      '  IdentitiesOnly yes',
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
    ].join('\n') + '\n',
    { mode: 0o600 },
  );
  return { port, home, hostKey, stop };
}

async function listening(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited (${child.exitCode}): ${log().trim()}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`sshd did not listen on 127.0.0.1:${port} in 10 s: ${log().trim()}`);
}

/** The command prefix that runs a program with `home` as root's home, for ssh, in a mount namespace of its own. */
export function asSshClient(home: string): string[] {
  if (os.userInfo().homedir !== '/root') throw new Error('the ssh test runs as root (ssh reads ~ from the password file)');
  return ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'set -e; mount --bind "$1" /root; shift; exec "$@"', 'sh', home];
}
