// Dockerfile text is built from arrays of lines, never by string templates, and every value that reaches a
// line is written the way that instruction reads it back, or refused when no writing survives: the parser
// is line-based and no quoting carries a line break, so the config's schema refuses line breaks in every
// value that lands in a line (fields.ts). What each builder does with an escape was checked on the engine,
// classic builder and BuildKit alike (test/integration/dockerfile-values.test.ts keeps it so).

/**
 * JSON (exec) form, for instructions that take their arguments as they are (RUN, CMD, ENTRYPOINT): the
 * builders decode the JSON and expand nothing, so any character gets through, a newline as `\n`.
 */
export function jsonArgs(args: readonly string[]): string {
  return JSON.stringify(args).replaceAll('","', '", "');
}

/**
 * COPY's JSON form. After decoding it, both builders expand `$NAME` in COPY's words and drop a
 * backslash before any character, so `\` and `$` are escaped once more for that pass: `$HOME` in a path
 * stays `$HOME`.
 */
export function copyArgs(sources: readonly string[], destination: string): string {
  return jsonArgs([...sources, destination].map((word) => word.replace(/[\\$]/g, '\\$&')));
}

/**
 * COPY of one context entry per platform, `DIR/<platform>/NAME`, chosen by the build's TARGETPLATFORM (declared
 * as an ARG of the stage). DIR and NAME are entry names (entryName: nothing to escape); only the variable is
 * left for the builder to expand.
 */
export function platformCopyArgs(dir: string, name: string, destination: string): string {
  return jsonArgs([`${dir}/\${TARGETPLATFORM}/${name}`, destination.replace(/[\\$]/g, '\\$&')]);
}

/**
 * A double-quoted word, for ENV, LABEL and WORKDIR. Inside double quotes both builders unescape only
 * `\\`, `\"` and `\$` and keep every other character as written (a tab, `\n` as two characters), and
 * expand `$NAME` unless escaped: a value is written literally.
 */
export function quoted(value: string): string {
  return `"${value.replace(/[\\"$]/g, '\\$&')}"`;
}

/** `KEY="value"` for ENV and LABEL. */
export function keyValue(key: string, value: string): string {
  return `${key}=${quoted(value)}`;
}

/** A string under /bin/sh -c, in exec form: a multi-line script stays one instruction, run as sh runs it. */
export function shellArgs(script: string): string {
  return jsonArgs(['/bin/sh', '-c', script]);
}

/** Parts may be lists: a LABEL of 100,000 labels must not become 100,000 function arguments. */
export function instruction(keyword: string, ...parts: (string | readonly string[])[]): string {
  return [keyword, ...parts.flat()].join(' ');
}

/**
 * A name for a context entry, made of the characters COPY reads literally. COPY takes its sources as
 * glob patterns, and neither builder honours an escaped `*`, `?` or `[` (the classic builder drops the
 * backslash, BuildKit looks for it in the name), so those and anything unusual become `_`.
 */
export function entryName(name: string): string {
  return name.replace(/[^A-Za-z0-9._+-]/g, '_') || '_';
}

export function renderDockerfile(from: string, instructions: readonly string[]): string {
  return [`FROM ${from}`, ...instructions].join('\n') + '\n';
}
