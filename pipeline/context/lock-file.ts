// build-images.lock.json: the digest pinned for every fetched URL. It is a committed file that nobody
// reads in review, so everything in it is checked before use: a `sha256` becomes a path in the cache, and
// `../../root/.docker/config.json` there would copy the host's credentials into an image.
import { z } from 'zod';
import { sortedEntries } from '../model/context-entries.ts';
import { UserError } from '../model/errors.ts';
import { redactUrl } from '../model/url.ts';

export const LOCK_FILE = 'build-images.lock.json';

export const SHA256 = /^[0-9a-f]{64}$/;

const lockSchema = z.strictObject({
  lockfileVersion: z.literal(1),
  fetched: z.record(
    z.string(),
    z.strictObject({
      sha256: z.string().regex(SHA256, 'a sha256 is 64 lower-case hex digits'),
      size: z.number().int().nonnegative(),
    }),
  ),
});

export type LockFile = z.output<typeof lockSchema>;

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
  const parsed = lockSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.length ? ` at ${describePath(issue.path)}` : '';
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
