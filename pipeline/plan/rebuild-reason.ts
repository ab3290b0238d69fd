// Why an image is rebuilt, told from what the previous image recorded in its labels, so that no state
// outside the engine is needed: its base image ID, a hash of each build arg (never the value: an arg may
// hold a secret), and a manifest of its inputs (path → digest).
import { createHash } from 'node:crypto';
import { sortedEntries } from '../model/context-entries.ts';
import { ARGS_LABEL, BASE_LABEL, INPUTS_LABEL } from './labels.ts';

/** The manifest's key for the generated Dockerfile: a change there is a change of the steps. */
export const DOCKERFILE_KEY = '(Dockerfile)';

export interface InputsRecord {
  baseId: string;
  args: Readonly<Record<string, string>>;
  manifest: Readonly<Record<string, string>>;
}

export interface RebuildReason {
  reason: string;
  /** With `inputs changed`: the inputs that differ, as paths relative to the project (or URLs). */
  changed?: string[];
}

const short = (digest: string) => (digest.startsWith('sha256:') ? digest.slice(7, 23) : digest.slice(0, 16));

export type RecordLabels = Record<typeof BASE_LABEL | typeof ARGS_LABEL | typeof INPUTS_LABEL, string>;

export function recordLabels(record: InputsRecord): RecordLabels {
  const hashedArgs = Object.fromEntries(sortedEntries(record.args).map(([name, value]) => [name, short(createHash('sha256').update(value).digest('hex'))]));
  const manifest = boundedManifest(sortedEntries(record.manifest));
  return {
    [BASE_LABEL]: record.baseId,
    [ARGS_LABEL]: JSON.stringify(hashedArgs),
    [INPUTS_LABEL]: JSON.stringify(manifest),
  };
}

/** Compares the labels of the image a tag names now with what this build would record (`now`, when made already). */
export function rebuildReason(
  previous: Readonly<Record<string, string>> | undefined,
  current: InputsRecord,
  now: RecordLabels = recordLabels(current),
): RebuildReason {
  if (!previous) return { reason: 'no image yet' };
  const oldBase = previous[BASE_LABEL];
  if (oldBase === undefined) return { reason: 'the image was not built by build-images' };
  if (oldBase !== current.baseId) {
    return { reason: `base image changed (${short(oldBase).slice(0, 12)} → ${short(current.baseId).slice(0, 12)})` };
  }
  const changedArgs = diffKeys(parse(previous[ARGS_LABEL]), parse(now[ARGS_LABEL]));
  if (changedArgs.length > 0) return { reason: `build args changed (${changedArgs.join(', ')})` };
  const changed = diffKeys(parse(previous[INPUTS_LABEL]), parse(now[INPUTS_LABEL]));
  const files = changed.filter((key) => key !== DOCKERFILE_KEY);
  if (files.length > 0) return { reason: `inputs changed (${files.join(', ')})`, changed: files };
  if (changed.length > 0) return { reason: 'steps changed (the generated Dockerfile differs)' };
  return { reason: 'labels changed' };
}

/**
 * A manifest over this size is told by folder instead: the files below a depth are one entry per folder,
 * with a digest of what it holds, so that a rebuild still names where the change is (`files/dir042/`). The
 * labels reach the engine as build args in the request line, which the daemon refuses past 1 MiB (HTTP 431:
 * a context of 25,000 files did it); and the engine reads every image's config whole each time it lists
 * images (`docker images`, our own search by label): at the former 256 KiB, 68 images of a 2,000-file
 * context (85 KB of labels each) made a listing take 100-170 ms of the engine's time, while a build ran.
 * This size keeps every file named in a context of ~500.
 */
export const INPUTS_LABEL_MAX = 32 * 1024;

function boundedManifest(entries: readonly [string, string][]): Record<string, string> {
  // Measured from the entries, in one pass, before anything is made: a manifest of 2,000 files written out
  // only to find it must be folded took ~15 ms of a build.
  let length = 2 + Math.max(0, entries.length - 1);
  let deepest = 0;
  for (const [path, digest] of entries) {
    length += jsonStringLength(path) + 1 + jsonStringLength(short(digest));
    deepest = Math.max(deepest, segments(path));
  }
  if (length <= INPUTS_LABEL_MAX) return Object.fromEntries(entries.map(([path, digest]) => [path, short(digest)]));
  let folded: Record<string, string> = {};
  for (let depth = deepest - 1; depth >= 0; depth--) {
    folded = byFolder(entries, depth);
    if (jsonLength(folded) <= INPUTS_LABEL_MAX) break;
  }
  return folded;
}

const segments = (path: string) => {
  let count = 1;
  for (let at = path.indexOf('/'); at !== -1; at = path.indexOf('/', at + 1)) count++;
  return count;
};

// A character JSON.stringify writes as an escape: a quote, a backslash, a control character, a lone surrogate.
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/** The length of JSON.stringify(text), counted. */
const jsonStringLength = (text: string) => (ESCAPED.test(text) ? JSON.stringify(text).length : text.length + 2);

/** The length of JSON.stringify(record), counted rather than written. */
export function jsonLength(record: Readonly<Record<string, string>>): number {
  const fields = Object.entries(record);
  let length = 2 + Math.max(0, fields.length - 1);
  for (const [key, value] of fields) length += jsonStringLength(key) + 1 + jsonStringLength(value);
  return length;
}

/** Entries of more than `depth` path segments grouped under their folder at that depth (depth 0: all in one). */
function byFolder(entries: readonly [string, string][], depth: number): Record<string, string> {
  const grouped = new Map<string, [string, string][]>();
  const kept: [string, string][] = [];
  for (const [path, digest] of entries) {
    if (segments(path) <= depth) {
      kept.push([path, short(digest)]);
      continue;
    }
    let end = 0;
    for (let k = 0; k < depth; k++) end = path.indexOf('/', end + (k === 0 ? 0 : 1));
    const folder = depth === 0 ? '(all inputs)' : `${path.slice(0, end)}/`;
    const held = grouped.get(folder);
    if (held) held.push([path, digest]);
    else grouped.set(folder, [[path, digest]]);
  }
  const folders = [...grouped].map(([folder, held]): [string, string] => [folder, short(createHash('sha256').update(JSON.stringify(held)).digest('hex'))]);
  return Object.fromEntries(sortedEntries(Object.fromEntries([...kept, ...folders])));
}

function parse(json: string | undefined): Record<string, string> {
  try {
    return json ? (JSON.parse(json) as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** Keys added, removed or with another value, sorted. */
function diffKeys(before: Record<string, string>, after: Record<string, string>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => before[k] !== after[k]).sort();
}
