// build-images.lock.json: the digest pinned for every fetched URL. It is a committed file that nobody
// reads in review, so everything in it is checked before use: a `sha256` becomes a path in the cache, and
// `../../root/.docker/config.json` there would copy the host's credentials into an image. Checked by hand,
// not with zod: the lock is read by every run that fetches, and loading zod cost such a run ~25 ms.
import { sortedEntries } from '../model/context-entries.ts';
import { UserError } from '../model/errors.ts';
import { redactUrl } from '../model/url.ts';

export const LOCK_FILE = 'build-images.lock.json';

export const SHA256 = /^[0-9a-f]{64}$/;

export interface LockFile {
  lockfileVersion: 1;
  fetched: Record<string, { sha256: string; size: number }>;
}

type Problem = { at: readonly string[]; message: string };

/** The first way `json` is not a lock file, with where in it; undefined when it is one. */
function lockProblem(json: unknown): Problem | undefined {
  const object = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
  const extra = (value: Record<string, unknown>, keys: string[]) => Object.keys(value).find((key) => !keys.includes(key));
  if (!object(json)) return { at: [], message: 'expected an object' };
  const unknown = extra(json, ['lockfileVersion', 'fetched']);
  if (unknown !== undefined) return { at: [], message: `unrecognized key: "${unknown}"` };
  if (json['lockfileVersion'] !== 1) return { at: ['lockfileVersion'], message: 'expected 1' };
  if (!object(json['fetched'])) return { at: ['fetched'], message: 'expected an object' };
  for (const [url, entry] of Object.entries(json['fetched'])) {
    if (!object(entry)) return { at: ['fetched', url], message: 'expected an object' };
    const unknownField = extra(entry, ['sha256', 'size']);
    if (unknownField !== undefined) return { at: ['fetched', url], message: `unrecognized key: "${unknownField}"` };
    if (typeof entry['sha256'] !== 'string' || !SHA256.test(entry['sha256']))
      return { at: ['fetched', url, 'sha256'], message: 'a sha256 is 64 lower-case hex digits' };
    const size = entry['size'];
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
      return { at: ['fetched', url, 'size'], message: 'a size is a whole number of bytes' };
  }
  return undefined;
}

export const emptyLock = (): LockFile => ({ lockfileVersion: 1, fetched: {} });

const HINT = `fix it by hand, or delete it (or the entry): the next run pins what it fetches again`;

/** The lock's content, checked; anything else is a UserError naming the file and the entry. */
export function parseLock(file: string, text: string): LockFile {
  if (text.trim() === '') throw new UserError({ message: `${file} is empty`, hint: HINT });
  if (/^(<{7}|={7}|>{7})( |$)/m.test(text)) {
    throw new UserError({
      message: `${file} has merge-conflict markers`,
      hint: 'resolve the conflict (one sha256 per URL), or delete the entries in conflict and run with --update-lock',
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UserError({ message: `${file} is not valid JSON: ${(err as Error).message}`, hint: HINT });
  }
  const issue = lockProblem(json);
  if (issue === undefined) return json as LockFile;
  const where = issue.at.length ? ` at ${describePath(issue.at)}` : '';
  throw new UserError({
    message: `${file} is not a build-images lock file${where}: ${issue.message}`,
    hint: `expected {"lockfileVersion": 1, "fetched": {"<url>": {"sha256": "<64 hex digits>", "size": <bytes>}}}; ${HINT}`,
  });
}

function describePath(at: readonly PropertyKey[]): string {
  // The URL is the entry a user looks for; one that carries a password is shown without it.
  return at.map((key, i) => (i === 1 ? `"${redactUrl(String(key))}"` : String(key))).join(' › ');
}

export function serializeLock(lock: LockFile): string {
  return `${JSON.stringify({ lockfileVersion: 1, fetched: Object.fromEntries(sortedEntries(lock.fetched)) }, null, 2)}\n`;
}
