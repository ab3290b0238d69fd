// An edit's result, remembered by what it was made from: the same bytes edited the same way give the same
// text. cm-container's rules are prepended to Cloudify's config.yaml, which parses it twice, and the yaml
// library is loaded for it (~15 ms together), on every run, also one that finds the image up to date;
// remembered, that run reads one small file. An edit that fails is not remembered. An edit's items may hold
// a value given with --set or by the environment (cm-container's rules name ${TYPE_REPO}): the result is
// kept with placeholders for those values, under a key that has their digest (given-values.ts).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FileEdit } from '../model/file-edit.ts';
import { concealGiven, givenDigest, revealGiven, type GivenValues } from '../model/given-values.ts';
import type { EditedFile } from './file-edits.ts';
import { writePrivately } from './state-file.ts';

export type ApplyEdit = (file: string, content: Uint8Array, mode: number, edit: FileEdit) => Promise<EditedFile>;

/** The edit made now; file-edits.ts (and the yaml library with it) is loaded by the first edit of a run. */
export const editNow: ApplyEdit = async (file, content, mode, edit) => (await import('./file-edits.ts')).applyEdit(file, content, mode, edit);

/** Edits remembered in `dir` (the user's cache, mode 0600: a base's files may be private). */
export function rememberingEdits(dir: string, edit: ApplyEdit = editNow, given: GivenValues = []): ApplyEdit {
  return async (file, content, mode, change) => {
    const hash = createHash('sha256')
      .update(JSON.stringify([file, mode, change, givenDigest(given)]))
      .update(content)
      .digest('hex');
    const key = path.join(dir, `${hash}.json`);
    const known = await readFile(key, 'utf8').then(
      (text) => parseEdited(text, given),
      () => undefined,
    );
    if (known) return known;
    const result = await edit(file, content, mode, change);
    const text = concealGiven(result.text, given);
    if (text === undefined) return result;
    await writePrivately(key, JSON.stringify({ ...result, text })).catch(() => {
      // A cache that cannot be written only costs the next run the edit.
    });
    return result;
  };
}

function parseEdited(text: string, given: GivenValues): EditedFile | undefined {
  try {
    const entry = JSON.parse(text) as EditedFile;
    return typeof entry.text === 'string' && typeof entry.mode === 'number' ? { text: revealGiven(entry.text, given), mode: entry.mode } : undefined;
  } catch {
    return undefined;
  }
}
