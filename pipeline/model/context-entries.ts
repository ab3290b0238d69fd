// What a build context is made of, as plain data. The plan holds these; only packing touches the disk.

import type { FileEdit } from './file-edit.ts';
import type { SourcePosition } from './errors.ts';

/** The generated Dockerfile's name in every context we send: the builders are told this name. */
export const DOCKERFILE = 'Dockerfile';

/** What a fetched body must be: YAML that parses, UTF-8 text, any file, or a .tar.gz; never empty or an HTML page. */
export type FetchExpect = 'yaml' | 'text' | 'binary' | 'archive';

/** Seconds a fetch waits for the server's answer, and for the next bytes of the body, unless a step says otherwise. */
export const DEFAULT_FETCH_TIMEOUTS = { connect: 30, idle: 60 } as const;

/** Sources whose bytes are known only at build time: they are resolved into plain ones before packing. */
export type DeferredSource =
  /** A file fetched over HTTP (or one member of a fetched .tar.gz), from the cache when it is there. */
  | {
      kind: 'fetch';
      name: string;
      url: string;
      sha256?: string;
      extract?: string;
      mode: number;
      expect: FetchExpect;
      /** Seconds: until the answer, and between two chunks of the body. */
      timeouts: { connect: number; idle: number };
    }
  /** A file of the base image, read through the engine and edited; its owner goes in a build arg. */
  | {
      kind: 'image-file';
      name: string;
      imagePath: string;
      edit: FileEdit;
      ownerArg: string;
      /** The step's `file`, and the list's path (`prependToList.at`): where a problem with them is placed. */
      at?: { file: SourcePosition; path?: SourcePosition };
    };

export type ContextSource = PlainSource | DeferredSource;

export type PlainSource =
  /** A project file or directory, told apart only when packed; a directory honours `excludes`. */
  | {
      kind: 'path';
      name: string;
      path: string;
      origin: string;
      mode?: number;
      excludes: readonly string[];
      /** The directory it must stay in once symbolic links are resolved (the project, or a named source). */
      root?: string;
      /**
       * A file (or link) goes in as the one entry of a directory of this source's name, under its own name:
       * copied into a directory, a name COPY would read as a glob (`[id].tsx`) then never reaches COPY.
       */
      wrapFile?: boolean;
      /** The copy step's `from`: where a problem with the path is placed. */
      at?: SourcePosition;
    }
  /** Content made by the tool itself: the Dockerfile, an edited file. */
  | { kind: 'bytes'; name: string; data: string | Uint8Array; mode: number; origin?: string }
  /** An empty directory, for a mount point that must exist with a given mode. */
  | { kind: 'dir'; name: string; mode: number }
  /**
   * A fetched file known by its pin (the lock's sha256 and size) and not downloaded yet: its digest is the
   * same as the body's would be, so an image up to date in its registry is told without fetching anything.
   * `body` downloads it (or finds it in the cache) when its bytes are needed.
   */
  | { kind: 'pinned'; name: string; sha256: string; size: number; mode: number; origin: string; body: () => Promise<string> };

/** One tar entry, with everything that decides its bytes. */
export interface PackEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  size: number;
  /** Where the content comes from: a file on disk (streamed) or bytes in hand. */
  path?: string;
  data?: Uint8Array;
  linkname?: string;
  /** The project-relative path a user would recognise, for reports of what changed. */
  origin?: string;
  /** For a file on disk: what tells the digest cache it is unchanged. */
  stat?: { mtimeMs: number; ino: number };
  /** A pinned fetch not downloaded (the `pinned` source): its content's sha256, and how to get its bytes. */
  pinned?: { sha256: string; body: () => Promise<string> };
}

/** Byte order, not locale order: the same names sort the same on every machine. */
export function compareNames(a: string, b: string): number {
  // UTF-8's byte order is code point order, which UTF-16 units follow too, except where a surrogate (a code
  // point above U+FFFF) meets a unit from U+E000 up: only there is a unit moved. No Buffers: sorting the
  // manifest of 2,000 files made two per comparison (~25 ms a build).
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x >= 0xd800 && y >= 0xd800 ? inCodePointOrder(x) - inCodePointOrder(y) : x - y;
  }
  return a.length - b.length;
}

/** A UTF-16 unit from U+D800 up, placed where its code point sorts: surrogates above the units after them. */
function inCodePointOrder(unit: number): number {
  return unit <= 0xdfff ? unit + 0x2000 : unit - 0x800;
}

/** A record's entries in byte order of their keys: for digests and files that must not depend on insertion order. */
export function sortedEntries<V>(record: Readonly<Record<string, V>>): [string, V][] {
  return sortByName(Object.entries(record), ([key]) => key);
}

// Units from the surrogates up: only where one of them meets a unit of its own range or above do UTF-16
// order and byte order part.
const UNITS_OUT_OF_ORDER = /[\ud800-\uffff]/;

/**
 * Items sorted in byte order of their names, in place. Names without a unit from U+D800 up (nearly all)
 * compare natively, in UTF-16 order, which is then byte order: a context's 2,000 names sorted in ~1 ms
 * against ~6 ms with compareNames, whose loop in JavaScript the others still take.
 */
export function sortByName<T>(items: T[], nameOf: (item: T) => string): T[] {
  if (items.some((item) => UNITS_OUT_OF_ORDER.test(nameOf(item)))) return items.sort((a, b) => compareNames(nameOf(a), nameOf(b)));
  return items.sort((a, b) => {
    const x = nameOf(a);
    const y = nameOf(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}
