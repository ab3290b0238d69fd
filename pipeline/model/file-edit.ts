// An edit of a file of the base image, as plain data: the `edit` step makes it, the context applies it.

/**
 * The largest base-image file `edit` reads. An edit holds the file in memory, and parses it as YAML when it
 * prepends to a list (several times its size again): config files and start-up scripts are kilobytes, and a
 * 400 MiB file once took 2.4 GiB. Checked from the archive's header, before any byte is buffered.
 */
export const EDITABLE_FILE_MAX = 16 * 1024 * 1024;

export type FileEdit =
  | { kind: 'prepend-to-list'; at: readonly string[]; items: readonly Readonly<Record<string, string>>[] }
  | { kind: 'append-line'; line: string; executable: boolean };
