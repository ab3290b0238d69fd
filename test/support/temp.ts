// Temporary folders for tests, removed when the test process ends, so that a run leaves none behind.
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const made: string[] = [];
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** Removed with the temporary folders, such as a link a test made beside one. */
export function removeAtExit(file: string): string {
  made.push(file);
  return file;
}

export function tempDirSync(prefix: string): string {
  return removeAtExit(mkdtempSync(path.join(os.tmpdir(), prefix)));
}

export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}
