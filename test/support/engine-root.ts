// A root file system holding a newer Debian's docker.io, for the tests' modern engines: bookworm's own
// docker.io is 20.10 (API 1.41, BuildKit 0.8), while users run Engine 26-29. Debian packages only:
// `debootstrap --variant=minbase SUITE` from the machine's own mirror, then `apt-get install docker.io` in it.
//
// Made once per machine and kept under /var/cache (about 330 MB, ~40 s to make here): a second run uses it as
// it is. It is made in a directory of its own and renamed into place when complete, so a run killed half-way
// leaves no half root that a later run would take, and two runs making it at once each end with a whole one.
// A root older than MAX_AGE is made again (under a new name), so that sid's engine does not stay months behind.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { alive, removeTree } from './mounts.ts';

export const ROOTS = process.env['BUILD_IMAGES_TEST_ROOTS'] || '/var/cache/build-images-test/roots';
const DAY_MS = 24 * 3600 * 1000;
const MAX_AGE_MS = 14 * DAY_MS;
// Raised when what goes into a root changes, so that an older root is not taken for a new one.
const LAYOUT = 1;
const STAMP = '.build-images-root';

export interface EngineRoot {
  root: string;
  /** The docker.io package's version in it, such as 28.5.2+dfsg4-5. */
  version: string;
  /** Seconds it took to make, or 0 when it was in the cache. */
  madeIn: number;
}

/** The root for a Debian suite (sid, trixie) with docker.io in it, from the cache or made now. */
export async function engineRoot(suite: string, log: (line: string) => void = () => {}): Promise<EngineRoot> {
  if (!/^[a-z]+$/.test(suite)) throw new Error(`not a Debian suite name: ${suite}`);
  const kept = keptRoots(suite);
  const newest = kept.at(-1);
  if (newest && Date.now() - newest.made < MAX_AGE_MS) return { root: newest.root, version: newest.version, madeIn: 0 };
  for (const tool of ['debootstrap', 'unshare', 'chroot']) {
    if (!onPath(tool)) throw new Error(`${tool} is missing: the tests' ${suite} engine is made with it (apt-get install debootstrap util-linux; .ci/run does)`);
  }
  const started = Date.now();
  await mkdir(ROOTS, { recursive: true });
  // A new name each time: a run that started earlier may still run an engine on the previous root.
  const root = path.join(ROOTS, `${suite}-docker-v${LAYOUT}-${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}-${process.pid}`);
  const building = path.join(ROOTS, `.${suite}-building-${process.pid}`);
  // What a run stopped half-way (Ctrl-C during debootstrap) left: its process is gone.
  for (const name of listNames(ROOTS)) {
    const pid = Number(/^\.[a-z]+-building-(\d+)$/.exec(name)?.[1] ?? 0);
    if (pid > 0 && !alive(pid)) await removeTree(path.join(ROOTS, name)).catch((err: Error) => log(`${name}: ${err.message}`));
  }
  await removeTree(building);
  try {
    const mirror = debianMirror();
    log(`making the ${suite} engine's root in ${root} (debootstrap from ${mirror}, then docker.io)`);
    await run('debootstrap', ['--variant=minbase', suite, building, mirror], building);
    // No service may start inside: the root is only ever a file system for one dockerd.
    await writeFile(path.join(building, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    // sid's Release file on a snapshot mirror has expired: apt refuses it without this.
    const apt = ['-o', 'Acquire::Check-Valid-Until=false', '-qq'];
    const env = ['/usr/bin/env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'DEBIAN_FRONTEND=noninteractive', 'LC_ALL=C'];
    await run('chroot', [building, ...env, 'apt-get', ...apt, 'update'], building);
    await run('chroot', [building, ...env, 'apt-get', ...apt, 'install', '-y', '--no-install-recommends', 'docker.io'], building);
    await run('chroot', [building, ...env, 'apt-get', 'clean'], building);
    const version = await output('chroot', [building, 'dpkg-query', '-W', '-f', '${Version}', 'docker.io']);
    // Where the machine's root is put aside when the engine's namespace turns this tree into its root.
    await mkdir(path.join(building, '.old-root'));
    await writeFile(path.join(building, STAMP), `${version}\n`);
    await rename(building, root);
    // Roots made over 15 days ago go: a run still using one would have started when it was the newest (under
    // 14 days old), a day ago at least, and no test run lasts that long.
    for (const old of kept)
      if (Date.now() - old.made > MAX_AGE_MS + DAY_MS) await removeTree(old.root).catch((err: Error) => log(`${old.root}: ${err.message}`));
    return { root, version, madeIn: (Date.now() - started) / 1000 };
  } finally {
    await removeTree(building).catch((err: Error) => log(`${building}: ${err.message}`));
  }
}

/** The complete roots of a suite in the cache, oldest first. */
function keptRoots(suite: string): { root: string; version: string; made: number }[] {
  const prefix = `${suite}-docker-v${LAYOUT}-`;
  return listNames(ROOTS)
    .filter((n) => n.startsWith(prefix))
    .sort()
    .flatMap((n) => {
      const root = path.join(ROOTS, n);
      try {
        const stamp = path.join(root, STAMP);
        return [{ root, version: readFileSync(stamp, 'utf8').trim(), made: statSync(stamp).mtimeMs }];
      } catch {
        return [];
      }
    });
}

function listNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * The machine's own Debian mirror, as apt's sources name it (this machine may reach no other), or
 * BUILD_IMAGES_TEST_DEBIAN_MIRROR.
 */
export function debianMirror(env: NodeJS.ProcessEnv = process.env, dir = '/etc/apt'): string {
  if (env['BUILD_IMAGES_TEST_DEBIAN_MIRROR']) return env['BUILD_IMAGES_TEST_DEBIAN_MIRROR'];
  const texts: string[] = [];
  for (const file of [path.join(dir, 'sources.list'), ...listDir(path.join(dir, 'sources.list.d'))]) {
    try {
      texts.push(readFileSync(file, 'utf8'));
    } catch {
      // an unreadable or vanished sources file says nothing
    }
  }
  for (const text of texts) {
    // deb822 (.sources): a stanza's URIs with its Suites; one-line format: deb URL SUITE COMPONENTS.
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/im.exec(stanza)?.[1];
      const suites = /^Suites:\s*(.+)$/im.exec(stanza)?.[1] ?? '';
      if (uri && /debian\/?$/.test(uri) && !/security/.test(suites)) return uri;
    }
    for (const line of text.split('\n')) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line.trim());
      if (m && /debian\/?$/.test(m[1]!) && !/security/.test(m[2]!)) return m[1]!;
    }
  }
  return 'http://deb.debian.org/debian';
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => n.endsWith('.list') || n.endsWith('.sources'))
      .sort()
      .map((n) => path.join(dir, n));
  } catch {
    return [];
  }
}

function onPath(tool: string): boolean {
  return (process.env['PATH'] || '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((d) => existsSync(path.join(d, tool)));
}

/** Runs a command; its output is kept and shown only when it fails. */
function run(command: string, args: string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (chunk: Buffer) => (out = (out + chunk.toString()).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} ${args.slice(0, 4).join(' ')} … (for ${what}) failed (exit ${code}):\n${out.split('\n').slice(-15).join('\n')}`)),
    );
  });
}

function output(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`${command} ${args.join(' ')} failed (exit ${code})`))));
  });
}
