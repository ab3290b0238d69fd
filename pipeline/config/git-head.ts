// The HEAD commit of a git checkout, read from its .git files, for a variable's `gitCommit`. No git is
// run: a checkout's own config can make git run programs (core.fsmonitor and the like), and git refuses
// a checkout owned by another user; neither should decide a tag.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** The full commit hash HEAD names, or undefined when `dir` is no git checkout (or HEAD names no commit yet). */
export function gitHead(dir: string): string | undefined {
  try {
    const gitDir = findGitDir(dir);
    if (!gitDir) return undefined;
    const head = read(path.join(gitDir, 'HEAD'));
    if (head === undefined) return undefined;
    if (SHA.test(head)) return head;
    const ref = /^ref:\s*(refs\/\S+)$/.exec(head)?.[1];
    return ref && !ref.split('/').includes('..') ? resolveRef(gitDir, ref) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The commit of the checkout `dir` is in (it may be a folder of it), as `git rev-parse HEAD` finds it there,
 * without starting git: a run that changed nothing spent more on that process than on its engine calls.
 */
export function enclosingGitHead(dir: string): string | undefined {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    if (statSync(path.join(current, '.git'), { throwIfNoEntry: false })) return gitHead(current);
    if (path.dirname(current) === current) return undefined;
  }
}

/** `.git` is a directory, or in a worktree or submodule a file `gitdir: <path>`. */
function findGitDir(dir: string): string | undefined {
  const dotGit = path.join(dir, '.git');
  const stat = statSync(dotGit, { throwIfNoEntry: false });
  if (!stat) return undefined;
  if (stat.isDirectory()) return dotGit;
  const pointer = /^gitdir:\s*(.+)$/m.exec(read(dotGit) ?? '')?.[1];
  return pointer ? path.resolve(dir, pointer.trim()) : undefined;
}

/** A branch is a loose ref, in a worktree's own dir or the common one, or a line of packed-refs. */
function resolveRef(gitDir: string, ref: string): string | undefined {
  const common = read(path.join(gitDir, 'commondir'));
  const dirs = [gitDir, ...(common ? [path.resolve(gitDir, common)] : [])];
  for (const d of dirs) {
    const loose = read(path.join(d, ...ref.split('/')));
    if (loose && SHA.test(loose)) return loose;
  }
  for (const d of dirs) {
    for (const line of (read(path.join(d, 'packed-refs')) ?? '').split('\n')) {
      const [sha, name] = line.trim().split(/\s+/);
      if (name === ref && sha && SHA.test(sha)) return sha;
    }
  }
  return undefined;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}
