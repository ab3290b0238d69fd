// Mounts left under a directory the test bed removes: a dockerd that did not shut down cleanly leaves its
// network namespace bound at exec/netns/default, and a debootstrap stopped half-way leaves /proc, /sys and
// perhaps /dev mounted in the root it was making. fs.rm fails on such a tree (EBUSY at the mount point) and
// leaves it behind, and what a binding shows (the machine's /dev) must never be deleted with it. So what is
// mounted is unmounted first, and a tree that still has something mounted in it is not removed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';

/** Mount points at or under dir, deepest first. */
export function mountsUnder(dir: string): string[] {
  let table: string;
  try {
    table = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  return table
    .split('\n')
    .map((line) => (line.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((point) => point === dir || point.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
}

export function unmountUnder(dir: string): void {
  for (const point of mountsUnder(dir)) spawnSync('umount', ['-l', point], { stdio: 'ignore' });
}

/** Removes a tree once nothing is mounted in it; refuses (rejects) while something still is. */
export async function removeTree(dir: string): Promise<void> {
  unmountUnder(dir);
  const left = mountsUnder(dir);
  if (left.length > 0) throw new Error(`not removed: ${left.join(', ')} still mounted`);
  await rm(dir, { recursive: true, force: true });
}

/** Whether the run that owns a leftover (its pid) still runs: only a dead run's trees are removed. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
