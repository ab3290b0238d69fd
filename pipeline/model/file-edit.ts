// An edit of a file of the base image, as plain data: the `edit` step makes it, the context applies it.

export type FileEdit =
  | { kind: 'prepend-to-list'; at: readonly string[]; items: readonly Readonly<Record<string, string>>[] }
  | { kind: 'append-line'; line: string; executable: boolean };
