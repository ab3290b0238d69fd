// Turns the sources known only at build time into plain ones: fetched files into cache paths, files of
// the base image into edited bytes (and their owners into build args). The two happen apart: fetches first,
// for the digest of the inputs; edits only once the image must be built, because they need the base image
// on the engine, and an image found up to date in a registry must be decided without pulling its base.
import path from 'node:path';
import type { ContextSource, PlainSource } from '../model/context-entries.ts';
import type { ImageFile } from '../engine/engine.ts';
import type { Fetcher } from './fetcher.ts';
import { InputMismatch, UserError } from '../model/errors.ts';
import { editNow, type ApplyEdit } from './edit-cache.ts';
import type { FetchRecord } from '../attest/inventory.ts';

export interface SourceResolvers {
  fetcher: Fetcher;
  /** Reads a file of the image being built upon. */
  readBaseFile(imagePath: string): Promise<ImageFile>;
  /** How an edit is made: remembered between runs (edit-cache.ts), or made now. */
  edit?: ApplyEdit;
}

export interface ResolvedSources {
  sources: PlainSource[];
  args: Record<string, string>;
}

type EditSource = Extract<ContextSource, { kind: 'image-file' }>;
/** Plain sources, and the edits of base files still to make. */
export type FetchedSource = PlainSource | EditSource;

export async function resolveSources(sources: readonly ContextSource[], resolvers: SourceResolvers): Promise<ResolvedSources> {
  return resolveEdits(await resolveFetches(sources, resolvers.fetcher), resolvers);
}

/**
 * `fetches`, when given, gets each fetched file's URL and the sha256 of its body (for the SBOM, attest/).
 * `deferPinned`: a file the lock pins is not fetched but stands in by its pin (whose digest is the body's),
 * so that an image up to date in its registry is told without a download; a member of an archive is
 * fetched, since the lock pins the archive, not the member.
 */
export async function resolveFetches(
  sources: readonly ContextSource[],
  fetcher: Fetcher,
  fetches?: FetchRecord[],
  deferPinned = false,
): Promise<FetchedSource[]> {
  const resolved: FetchedSource[] = [];
  for (const source of sources) {
    const pin = deferPinned && source.kind === 'fetch' && !source.extract ? await fetcher.pinned(source.url, { sha256: source.sha256 }) : undefined;
    if (source.kind === 'fetch' && pin) {
      // The lock's own check holds when the body comes: a changed file fails as it would have here.
      const options = { sha256: source.sha256, expect: source.expect, timeouts: source.timeouts };
      let body: Promise<string> | undefined;
      const fetch = () => (body ??= fetcher.fetch(source.url, options).then((fetched) => fetched.path));
      resolved.push({ kind: 'pinned', name: source.name, sha256: pin.sha256, size: pin.size, mode: source.mode, origin: source.url, body: fetch });
      fetches?.push({ name: source.name, url: source.url, sha256: pin.sha256 });
    } else if (source.kind === 'fetch') {
      const fetched = await fetcher.fetch(source.url, { sha256: source.sha256, expect: source.expect, timeouts: source.timeouts });
      const file = source.extract ? await fetcher.extract(fetched, source.extract, source.url) : fetched.path;
      const origin = source.extract ? `${source.url}#${source.extract}` : source.url;
      resolved.push({ kind: 'path', name: source.name, path: file, origin, mode: source.mode, excludes: [] });
      fetches?.push({ name: source.name, url: source.url, sha256: fetched.sha256, ...(source.extract ? { extract: source.extract } : {}) });
    } else {
      resolved.push(source);
    }
  }
  return resolved;
}

/**
 * Each edit as what decides its bytes apart from the base image: the file's path and every edit of it up to
 * this one. With the base's identity in the digest beside them, equal stand-ins mean equal edited files, so
 * the digest of the inputs needs no byte of the base (and no owner of its files).
 */
export function editStandIns(sources: readonly FetchedSource[]): PlainSource[] {
  const edits = new Map<string, unknown[]>();
  return sources.map((source) => {
    if (source.kind !== 'image-file') return source;
    const stack = [...(edits.get(source.imagePath) ?? []), source.edit];
    edits.set(source.imagePath, stack);
    return { kind: 'bytes', name: source.name, data: JSON.stringify(['edit', source.imagePath, stack]), mode: 0, origin: source.imagePath };
  });
}

/**
 * A reproducible command's output, copied as it is, as what decides its bytes (command-recipe.ts): known
 * before the command has run, so that the image's digest is too. A copy of a directory that holds an output
 * takes its bytes from the disk.
 */
export function outputStandIns<S extends FetchedSource>(sources: readonly S[], outputs: ReadonlyMap<string, string>): (S | PlainSource)[] {
  if (outputs.size === 0) return [...sources];
  return sources.map((source) => {
    const recipe = source.kind === 'path' ? outputs.get(source.path) : undefined;
    if (source.kind !== 'path' || recipe === undefined) return source;
    return {
      kind: 'bytes',
      name: source.name,
      data: JSON.stringify(['output', recipe, source.wrapFile ?? false]),
      mode: source.mode ?? 0,
      origin: source.origin,
    };
  });
}

/** Whether every output these sources read is read whole, as outputStandIns stands in for it. */
export function readsOutputsWhole(sources: readonly FetchedSource[], outputs: ReadonlyMap<string, string>): boolean {
  return sources.every(
    (source) => source.kind !== 'path' || outputs.has(source.path) || ![...outputs.keys()].some((output) => output.startsWith(`${source.path}${path.sep}`)),
  );
}

export async function resolveEdits(sources: readonly FetchedSource[], resolvers: Omit<SourceResolvers, 'fetcher'>): Promise<ResolvedSources> {
  const resolved: PlainSource[] = [];
  const args: Record<string, string> = {};
  // A second edit of the same file starts from the first one's result, not the base's: each COPY writes the
  // whole file, and the last must hold every edit (otherwise it silently undid the earlier ones).
  const edited = new Map<string, ImageFile>();
  for (const source of sources) {
    if (source.kind !== 'image-file') {
      resolved.push(source);
      continue;
    }
    const { file, result } = await editOf(source, edited, resolvers).catch((err: unknown) => {
      // What the base image lacks is the config's mistake, placed at the step that asked for it.
      if (!(err instanceof InputMismatch) || !source.at) throw err;
      throw new UserError({
        message: `edit: ${err.message}`,
        hint: err.hint,
        at: err.about === 'path' ? (source.at.path ?? source.at.file) : source.at.file,
      });
    });
    edited.set(source.imagePath, { ...file, content: Buffer.from(result.text), mode: result.mode });
    resolved.push({ kind: 'bytes', name: source.name, data: result.text, mode: result.mode, origin: source.imagePath });
    args[source.ownerArg] = `${file.uid}:${file.gid}`;
  }
  return { sources: resolved, args };
}

async function editOf(source: EditSource, edited: ReadonlyMap<string, ImageFile>, resolvers: Omit<SourceResolvers, 'fetcher'>) {
  const file = edited.get(source.imagePath) ?? (await resolvers.readBaseFile(source.imagePath));
  const result = await (resolvers.edit ?? editNow)(source.imagePath, file.content, file.mode, source.edit);
  return { file, result };
}
