// Dockerfile text is built from arrays of lines, never by string templates, and every argument that may
// hold a space or a quote is written in the JSON (exec) form, which the classic builder parses strictly.

export function jsonArgs(args: readonly string[]): string {
  return JSON.stringify(args).replaceAll('","', '", "');
}

export function instruction(keyword: string, ...parts: string[]): string {
  return [keyword, ...parts].join(' ');
}

/** `KEY="value"` with the escapes ENV and LABEL understand. */
export function keyValue(key: string, value: string): string {
  return `${key}=${JSON.stringify(value)}`;
}

export function renderDockerfile(from: string, instructions: readonly string[]): string {
  return [`FROM ${from}`, ...instructions].join('\n') + '\n';
}
