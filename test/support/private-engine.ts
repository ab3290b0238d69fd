// An engine of the tests' own: a dockerd with its own socket, data root, exec root, pid file and (empty)
// config file, so that the stand-ins the tests import under public names (ubuntu:16.04, alpine:latest,
// cloudifyplatform/community:18.7.23) never meet, replace or get replaced by a user's images.
//
// The data root is fresh on every run and removed afterwards. A kept one was measured too (README, "The
// tests' engine is never yours"): it starts no faster, and the stand-ins it would keep take a fraction of a
// second to import; but it carries a killed run's leftovers and an older rootfs() into the next run, and two
// suites at once would share it. A fresh one makes every run start from the same empty engine.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { alive, removeTree } from './mounts.ts';

export interface PrivateEngine {
  /** unix://<dir>/docker.sock, for DOCKER_HOST. */
  host: string;
  dir: string;
  dataRoot: string;
  pidFile: string;
  log: string;
  /** SIGTERM, a bounded wait, then SIGKILL; then the directory is removed. Safe to call twice. */
  stop(): Promise<void>;
}

export const NO_TEST_ENGINE =
  'the integration tests run on an engine of their own, never on your default one: run `npm test` as root ' +
  '(it starts a private dockerd), or set BUILD_IMAGES_TEST_DOCKER_HOST to a disposable engine (unix:///... or tcp://...)';

// Under /tmp, not os.tmpdir(): the exec root holds containerd's sockets, and a unix socket path may not
// exceed 107 bytes. The prefix keeps clear of other engines' directories (/tmp/bi-<name>).
const PARENT = '/tmp';
const PREFIX = 'bi-test-';

export interface EngineOptions {
  timeoutMs?: number;
  /**
   * A root file system with its own dockerd (test/support/engine-root.ts): the engine runs in a mount
   * namespace of its own whose root is that tree. Without it, the machine's own dockerd.
   */
  root?: string;
  /** More daemon flags, such as `--feature containerd-snapshotter=true`. */
  args?: string[];
}

// The namespace's setup, run by sh inside `unshare --mount` (mounts made there stay there): the tree is
// bound onto itself so that it can become the root, gets /proc, /sys (with the cgroups), /dev and a /run of
// its own, and the machine's /tmp, where the engine's directory is (its socket is reached from outside).
// pivot_root, not chroot: under a chroot dockerd half works (importing an image fails remounting /, and
// `docker exec` runs in the machine's root). exec keeps one pid from setpriv to dockerd, so that a signal
// to the child is a signal to dockerd, and the death signal set by setpriv holds for it.
const ENTER_ROOT = `set -e
root=$1; shift
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mount --bind /tmp "$root/tmp"
cd "$root"
pivot_root . .old-root
umount -l /.old-root
exec /usr/sbin/dockerd "$@"`;

export async function startPrivateEngine({ timeoutMs = 60_000, root, args: extra = [] }: EngineOptions = {}): Promise<PrivateEngine> {
  if (process.getuid?.() !== 0) throw new Error('a private dockerd needs root');
  const dockerd = root ? path.join(root, 'usr/sbin/dockerd') : onPath('dockerd');
  if (!dockerd || !existsSync(dockerd)) throw new Error(root ? `${root} holds no dockerd` : "dockerd is missing: install Debian's docker.io (.ci/run does)");
  const unshare = root ? onPath('unshare') : '';
  if (root && !unshare) throw new Error('unshare is missing (util-linux): the modern engines run in a mount namespace of their own');
  await sweepLeftovers();
  const dir = await mkdtemp(path.join(PARENT, PREFIX));
  const socket = path.join(dir, 'docker.sock');
  const dataRoot = path.join(dir, 'data');
  const pidFile = path.join(dir, 'docker.pid');
  const log = path.join(dir, 'dockerd.log');
  // An empty config file: dockerd would otherwise read /etc/docker/daemon.json, whose hosts or data-root
  // would clash with the flags below, or whose settings would differ from one machine to the next.
  await writeFile(path.join(dir, 'daemon.json'), '{}\n');
  await writeFile(path.join(dir, 'owner'), `${process.pid}\n`);
  const args = [
    '--iptables=false', // the tests' containers need no network, and a sandbox may lack iptables
    '--bridge=none',
    '--config-file',
    path.join(dir, 'daemon.json'),
    '-H',
    `unix://${socket}`,
    '--data-root',
    dataRoot,
    '--exec-root',
    path.join(dir, 'exec'),
    '--pidfile',
    pidFile,
    ...extra,
  ];
  const daemon: string[] = root
    ? [unshare!, '--mount', '--propagation', 'private', '/bin/sh', '-c', ENTER_ROOT, 'enter-root', root, ...args]
    : [dockerd, ...args];
  // Its own process group, so that the terminal's Ctrl-C reaches the tests and not the engine under them
  // (we stop it after them); setpriv's death signal stops it even when this process is killed outright.
  const command = existsSync('/usr/bin/setpriv') ? ['/usr/bin/setpriv', '--pdeathsig', 'TERM', ...daemon] : daemon;
  const out = openSync(log, 'a');
  const child = spawn(command[0]!, command.slice(1), { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => ((exited = true), resolve()));
    child.once('error', (err) => (writeFileSync(log, `${err.message}\n`, { flag: 'a' }), (exited = true), resolve()));
  });
  const engine: PrivateEngine = { host: `unix://${socket}`, dir, dataRoot, pidFile, log, stop: once(() => stopEngine(child, exit, () => exited, dir)) };
  const started = Date.now();
  while (!(await ping(socket))) {
    if (exited || Date.now() - started > timeoutMs) {
      const tail = (await readFile(log, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
      await engine.stop();
      throw new Error(`the tests' dockerd ${exited ? 'exited' : `did not answer within ${timeoutMs / 1000} s`}:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return engine;
}

function onPath(tool: string): string | undefined {
  return (process.env['PATH'] ?? '')
    .split(':')
    .map((d) => path.join(d, tool))
    .find((f) => existsSync(f));
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

async function stopEngine(child: ChildProcess, exit: Promise<void>, exited: () => boolean, dir: string): Promise<void> {
  if (!exited()) {
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exit, new Promise((r) => (timer = setTimeout(r, 20_000)))]);
    clearTimeout(timer);
    if (!exited()) {
      child.kill('SIGKILL');
      await exit;
    }
  }
  // A dockerd killed outright may leave its containerd behind, and containerd its shims.
  killOwned(path.join(dir, 'exec/containerd/containerd.pid'), dir);
  killAllOwned(dir);
  await removeTree(dir).catch((err: Error) => {
    process.stderr.write(`could not remove the tests' engine directory ${dir}: ${err.message}\n`);
  });
}

/** Kills the process a pid file names, if it still is one of ours. */
function killOwned(pidFile: string, dir: string): void {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8'));
  } catch {
    return;
  }
  if (pid > 0 && ownedBy(pid, dir)) process.kill(pid, 'SIGKILL');
}

/** Kills every process whose command line names our directory: containerd's shims name its socket there. */
function killAllOwned(dir: string): void {
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (pid > 0 && pid !== process.pid && ownedBy(pid, dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
}

/** True when the process runs with our directory on its command line: a pid file can outlive its process. */
function ownedBy(pid: number, dir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .some((arg) => arg.startsWith(dir + '/'));
  } catch {
    return false;
  }
}

/** The directories of earlier runs whose test process is gone (killed outright): their engine is stopped and removed. */
async function sweepLeftovers(): Promise<void> {
  for (const name of readdirSync(PARENT).filter((n) => n.startsWith(PREFIX))) {
    const dir = path.join(PARENT, name);
    const owner = Number(await readFile(path.join(dir, 'owner'), 'utf8').catch(() => ''));
    if (!(owner > 0) || alive(owner)) continue;
    for (const file of ['docker.pid', 'exec/containerd/containerd.pid']) killOwned(path.join(dir, file), dir);
    killAllOwned(dir);
    await removeTree(dir).catch(() => {});
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
