// What a failed write says: the file and, for a full or read-only disk, the disk, so that the user looks at
// the disk rather than at the archive or the engine that was being handled at the time.
import path from 'node:path';
import { RunError } from '../model/errors.ts';

const WRITE_PROBLEMS: Record<string, [string, string]> = {
  ENOSPC: ['no space left on the disk that holds it', 'free some space there (df -h shows it)'],
  EDQUOT: ['the disk quota is exhausted', 'free some space, or raise the quota'],
  EROFS: ['the file system is read-only', 'make it writable, or point the tool elsewhere'],
  EACCES: ['permission denied', 'check the owner and mode of the directory'],
  EPERM: ['operation not permitted', 'check the owner and mode of the directory'],
};

export function isWriteProblem(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code !== undefined && (err as NodeJS.ErrnoException).code! in WRITE_PROBLEMS;
}

/** A RunError naming `file` (and its directory, the place to free space in) for an error of writing it. */
export function writeFailure(file: string, err: unknown): Error {
  if (err instanceof RunError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  const known = code ? WRITE_PROBLEMS[code] : undefined;
  if (known) return new RunError(`cannot write ${file}: ${known[0]} (${path.dirname(file)}, ${code})`, known[1]);
  return new RunError(`cannot write ${file}: ${(err as Error)?.message ?? String(err)}`);
}
