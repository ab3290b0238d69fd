// What a build context is made of, as plain data. The plan holds these; only packing touches the disk.

export type ContextSource =
  /** A project file or directory, told apart only when packed; a directory honours `excludes`. */
  | { kind: 'path'; name: string; path: string; origin: string; mode?: number; excludes: readonly string[] }
  /** Content made by the tool itself: the Dockerfile, an edited file. */
  | { kind: 'bytes'; name: string; data: string | Uint8Array; mode: number; origin?: string }
  /** An empty directory, for a mount point that must exist with a given mode. */
  | { kind: 'dir'; name: string; mode: number };

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
}

/** Byte order, not locale order: the same names sort the same on every machine. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
