// Secret values (build secrets, registry passwords and tokens), gathered as they become known: each is told to
// the CI (GitHub's ::add-mask::) before anything that could print it, and taken out of every event, so that a
// build that echoes its secret does not put it in the terminal, --json, annotations, summaries or files. A
// multi-line value (a key file) is masked line by line, as a CI log masks lines; lines shorter than
// MIN_LENGTH are not (a lone '{' of a JSON key would blank every brace of the log) and carry no secret alone.
import type { Reporter, RunEvent } from '../run/events.ts';

export const MIN_LENGTH = 4;
export const REDACTED = '***';

export interface SecretMask {
  add(value: string | undefined): void;
  redact(event: RunEvent): RunEvent;
  /** The values known so far, longest first: a document the run writes is checked against them. */
  values(): readonly string[];
}

export function secretMask(announce: (value: string) => void = () => {}): SecretMask {
  const values = new Set<string>();
  let longestFirst: string[] = [];
  const remember = (value: string) => {
    if (value.length < MIN_LENGTH || values.has(value)) return;
    values.add(value);
    longestFirst = [...values].sort((a, b) => b.length - a.length);
    announce(value);
  };
  const scrub = (text: string) => longestFirst.reduce((t, v) => (t.includes(v) ? t.split(v).join(REDACTED) : t), text);
  const deep = (value: unknown): unknown => {
    if (typeof value === 'string') return scrub(value);
    if (Array.isArray(value)) return value.map(deep);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deep(v)]));
    return value;
  };
  return {
    add(value) {
      if (!value) return;
      // A log is masked line by line: a value of several lines is masked as its lines.
      for (const line of value.split(/\r\n|\r|\n/)) remember(line.trim());
    },
    redact: (event) => (values.size === 0 ? event : (deep(event) as RunEvent)),
    values: () => longestFirst,
  };
}

export function redacting(reporter: Reporter, mask: SecretMask): Reporter {
  return { emit: (event) => reporter.emit(mask.redact(event)), close: () => reporter.close() };
}
