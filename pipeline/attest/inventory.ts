// What a run learned of an image's inputs, recorded as it built (or found up to date) the image, and the
// files those inputs put into it: every COPY of the generated Dockerfile names a context entry and where it
// lands, so the bytes of each file the image gets from the config are the context's bytes, hashed here.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path/posix';
import type { PackEntry } from '../model/context-entries.ts';

/** A file fetched over HTTP: its URL as the config gives it (never with credentials: the config refuses them), the body's sha256. */
export interface FetchRecord {
  /** The context entry it became. */
  name: string;
  url: string;
  /** Of the fetched body (an archive's, when one member of it was taken). */
  sha256: string;
  /** The member taken out of a fetched .tar.gz. */
  extract?: string;
}

export interface ImageInputs {
  /** The image the run ended with: built now, or found up to date. */
  imageId: string;
  /** The context's entries as packed; for an image not built in this run, edits are their stand-ins. */
  entries: readonly PackEntry[];
  /** Entries that stand in for an edited file of the base: their bytes are read back from the image. */
  standIns: readonly string[];
  fetches: readonly FetchRecord[];
  base?: { ref: string; id?: string; digest?: string };
}

/** The run's record of each image's inputs, by config name. */
export interface InputLog {
  record(image: string, inputs: Omit<ImageInputs, 'base'>): void;
  base(image: string, base: NonNullable<ImageInputs['base']>): void;
  get(image: string): ImageInputs | undefined;
}

export function inputLog(): InputLog {
  const images = new Map<string, ImageInputs>();
  const bases = new Map<string, NonNullable<ImageInputs['base']>>();
  return {
    record: (image, inputs) => void images.set(image, inputs),
    base: (image, base) => void bases.set(image, base),
    get(image) {
      const inputs = images.get(image);
      const base = bases.get(image);
      return inputs && (base ? { ...inputs, base } : inputs);
    },
  };
}

/** A context entry that lands in the image, and where. */
export interface PlacedEntry {
  entry: PackEntry;
  /** Absolute, in the image. */
  path: string;
  /** In an image of several platforms, the one whose image gets this entry (a COPY by TARGETPLATFORM). */
  platform?: string;
}

/** The one variable our Dockerfiles leave unescaped in a COPY source (platformCopyArgs): the build's platform. */
const TARGET_PLATFORM = /(?<!\\)\$\{TARGETPLATFORM\}/;

/**
 * The sources and destination of each COPY line (our Dockerfiles write COPY only in JSON form, copyArgs); a
 * source chosen by the build's platform keeps `${TARGETPLATFORM}` in it, and says so.
 */
export function copyLines(dockerfile: string): { sources: string[]; destination: string; byPlatform: boolean[] }[] {
  const copies: { sources: string[]; destination: string; byPlatform: boolean[] }[] = [];
  for (const line of dockerfile.split('\n')) {
    if (!line.startsWith('COPY ')) continue;
    const start = line.indexOf(' ["');
    if (start < 0) continue;
    const raw = JSON.parse(line.slice(start + 1)) as string[];
    const words = raw.map((word) => word.replace(/\\([\\$])/g, '$1'));
    copies.push({ sources: words.slice(0, -1), destination: words.at(-1)!, byPlatform: raw.slice(0, -1).map((word) => TARGET_PLATFORM.test(word)) });
  }
  return copies;
}

/**
 * Each file entry with the path it has in the image: COPY of a file to `dir/` keeps its name there, to a
 * path takes that path; COPY of a directory copies what is under it. A later COPY to the same path wins.
 * A COPY by the build's platform places each platform's entry, told by its platform, at the same path.
 */
export function placeEntries(entries: readonly PackEntry[], dockerfile: string, platforms: readonly string[] = []): PlacedEntry[] {
  const placed = new Map<string, PlacedEntry>();
  const place = (source: string, destination: string, platform?: string) => {
    for (const entry of entries) {
      if (entry.type !== 'file') continue;
      let target: string | undefined;
      if (entry.name === source) target = destination.endsWith('/') ? path.join(destination, path.basename(source)) : destination;
      else if (entry.name.startsWith(`${source}/`)) target = path.join(destination, entry.name.slice(source.length + 1));
      if (target === undefined) continue;
      const at = path.resolve('/', target);
      placed.set(`${platform ?? ''}\0${at}`, { entry, path: at, ...(platform ? { platform } : {}) });
    }
  };
  for (const { sources, destination, byPlatform } of copyLines(dockerfile)) {
    sources.forEach((source, i) => {
      if (!byPlatform[i]) return place(source, destination);
      for (const platform of platforms) place(source.replace('${TARGETPLATFORM}', platform), destination, platform);
    });
  }
  const order = (p: PlacedEntry) => `${p.path}\0${p.platform ?? ''}`;
  return [...placed.values()].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}

export interface FileDigests {
  sha1: string;
  sha256: string;
  size: number;
}

/** SHA1 and SHA256 of the bytes, streamed: a Go binary is tens of MB. */
export async function digestBytes(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<FileDigests> {
  const sha1 = createHash('sha1');
  const sha256 = createHash('sha256');
  let size = 0;
  for await (const chunk of chunks) {
    sha1.update(chunk);
    sha256.update(chunk);
    size += chunk.length;
  }
  return { sha1: sha1.digest('hex'), sha256: sha256.digest('hex'), size };
}

export async function digestEntry(entry: PackEntry): Promise<FileDigests> {
  if (entry.data) return digestBytes([entry.data]);
  // A fetched file that was not needed to decide the image: its SHA1 needs its body now.
  return digestBytes(createReadStream(entry.pinned ? await entry.pinned.body() : entry.path!));
}
