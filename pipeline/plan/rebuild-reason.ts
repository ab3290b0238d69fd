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

const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 16);

export function recordLabels(record: InputsRecord): Record<typeof BASE_LABEL | typeof ARGS_LABEL | typeof INPUTS_LABEL, string> {
  const hashedArgs = Object.fromEntries(sortedEntries(record.args).map(([name, value]) => [name, short(createHash('sha256').update(value).digest('hex'))]));
  const manifest = Object.fromEntries(sortedEntries(record.manifest).map(([path, digest]) => [path, short(digest)]));
  return {
    [BASE_LABEL]: record.baseId,
    [ARGS_LABEL]: JSON.stringify(hashedArgs),
    [INPUTS_LABEL]: JSON.stringify(manifest),
  };
}

/** Compares the labels of the image a tag names now with what this build would record. */
export function rebuildReason(previous: Readonly<Record<string, string>> | undefined, current: InputsRecord): RebuildReason {
  if (!previous) return { reason: 'no image yet' };
  const now = recordLabels(current);
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
