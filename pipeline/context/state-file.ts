// Files the tool rewrites whole during a run (the lock, the digest cache, command stamps). Each is written
// beside itself and renamed over it, so an interrupted run or a full disk leaves the old file or the new
// one, never half of one and never a 0-byte temporary. Several runs may share a project (CI jobs, a make
// -j calling us twice): a file many of them add to (the lock) is read, changed and written under a lock
// file, so that no run's additions are lost to another's write.
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RunError } from '../model/errors.ts';
import { writeFailure } from './disk-errors.ts';

/** Writes `text` to `file` atomically; a failure names the file and the disk, and leaves nothing behind. */
export async function writeStateFile(file: string, text: string): Promise<void> {
  const tmp = `${file}.${randomUUID()}.tmp`;
  try {
    await mkdir(path.dirname(file), { recursive: true });
    const handle = await open(tmp, 'wx');
    try {
      await handle.writeFile(text);
      // Without it a crash right after the rename may leave an empty file on some file systems.
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw writeFailure(file, err);
  }
}

/**
 * A cache file, the user's alone (a base's files may be private), written whole or not at all. A cache,
 * so no sync: a crash loses an entry, which the next run makes again.
 */
export async function writePrivately(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, text, { mode: 0o600 });
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

/** Writes one after the other within this process: images finish in parallel. */
export function stateFileWriter(file: string): (text: string) => Promise<void> {
  let queue = Promise.resolve();
  return (text) => {
    const next = queue.then(() => writeStateFile(file, text));
    queue = next.catch(() => {});
    return next;
  };
}

/**
 * Reads the file (undefined when absent), lets `change` make the new text from it, and writes that, all
 * under `<file>.lock`, so that concurrent runs each see the others' changes. `change` may throw: nothing
 * is written then.
 */
export async function updateStateFile(file: string, change: (current: string | undefined) => string, options: LockOptions = {}): Promise<void> {
  const release = await acquireLock(file, options);
  try {
    const current = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw new RunError(`cannot read ${file}: ${err.code === 'EISDIR' ? 'it is a directory' : err.message}`, 'remove it: the tool writes it again');
    });
    await writeStateFile(file, change(current));
  } finally {
    await release();
  }
}

export interface LockOptions {
  /** How long to wait for another run's lock before taking it over: a held lock lasts milliseconds. */
  staleMs?: number;
  isAlive?: (pid: number) => boolean;
}

const processAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * `<file>.lock`, created exclusively and holding its owner's PID; one left by a dead process, or held too
 * long, is taken over. A failure is reported as one of writing `file` itself.
 */
async function acquireLock(file: string, { staleMs = 10_000, isAlive = processAlive }: LockOptions): Promise<() => Promise<void>> {
  const lockFile = `${file}.lock`;
  await mkdir(path.dirname(lockFile), { recursive: true }).catch((err: unknown) => {
    throw writeFailure(file, err);
  });
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    let created = false;
    try {
      const handle = await open(lockFile, 'wx');
      created = true;
      await handle.writeFile(String(process.pid)).finally(() => handle.close());
      return () => rm(lockFile, { force: true });
    } catch (err) {
      if (created) await rm(lockFile, { force: true });
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw writeFailure(file, err);
    }
    const owner = Number(await readFile(lockFile, 'utf8').catch(() => ''));
    const age = await stat(lockFile).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    const abandoned = (Number.isInteger(owner) && owner > 0 && owner !== process.pid && !isAlive(owner)) || age > staleMs;
    if (abandoned || Date.now() - started > staleMs) {
      await rm(lockFile, { force: true });
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(5 * 2 ** Math.min(attempt, 5), 100)));
  }
}
