// Errors are values: a user error carries where it happened and a hint, and is rendered once, at the CLI's
// edge, without a stack trace. Anything that is not a UserError is a bug and keeps its stack.

export interface SourcePosition {
  file: string;
  line: number;
  col: number;
}

export interface Problem {
  message: string;
  at?: SourcePosition;
  hint?: string;
}

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/**
 * How many problems are listed at most: a file of a million unknown keys gave as many errors and hints
 * (163 MB of stderr). The rest are counted.
 */
export const MAX_PROBLEMS = 50;

/** A mistake in the config or the command line: exit 2, every problem listed (up to MAX_PROBLEMS), no stack. */
export class UserError extends Error {
  readonly problems: Problem[];
  constructor(problems: Problem[] | Problem) {
    const all = Array.isArray(problems) ? problems : [problems];
    const list =
      all.length <= MAX_PROBLEMS
        ? all
        : [
            ...all.slice(0, MAX_PROBLEMS),
            { message: `${all.length - MAX_PROBLEMS} more problems are not listed`, hint: 'fix the ones above and run again: the rest are counted, not shown' },
          ];
    super(list.map(formatProblem).join('\n'));
    this.name = 'UserError';
    this.problems = list;
  }
}

/** A build, push or host command that failed for reasons outside the config: exit 1. */
export class RunError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'RunError';
  }
}

/**
 * What the config asks of an input that the input does not have, found only at build time (a base image's
 * file that is missing, a directory or binary; a project path that is not there): exit 2 like every other
 * config error, once it is placed at the step that asked (`at`, or the step's `about` field).
 */
export class InputMismatch extends RunError {
  constructor(
    message: string,
    hint?: string,
    readonly about: 'file' | 'path' = 'file',
  ) {
    super(message, hint);
    this.name = 'InputMismatch';
  }
}

export class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

export function formatPosition(at: SourcePosition): string {
  return `${at.file}:${at.line}:${at.col}`;
}

export function formatProblem(p: Problem): string {
  const where = p.at ? `${formatPosition(p.at)}: ` : '';
  const hint = p.hint ? `\n  hint: ${p.hint}` : '';
  return `${where}error: ${p.message}${hint}`;
}

/** The closest of `candidates` to `word`, if it is close enough to be what the user meant. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return best !== undefined && bestDistance <= limit ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
