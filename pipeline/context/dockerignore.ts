// `.dockerignore` semantics, as the docker CLI applies them: patterns relative to the copied directory,
// `*` and `?` within one path segment, `**` across segments, `!` re-includes, the last matching pattern
// wins, and a pattern that matches a directory excludes everything below it.

export interface IgnoreRule {
  negate: boolean;
  regex: RegExp;
}

export function parseIgnoreFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

export function compileIgnore(patterns: readonly string[]): IgnoreRule[] {
  return patterns.map((raw) => {
    const negate = raw.startsWith('!');
    const body = (negate ? raw.slice(1) : raw)
      .trim()
      .replace(/^\/+|\/+$/g, '')
      .replace(/^\.\//, '');
    return { negate, regex: new RegExp(`^${globToRegex(body)}(?:/.*)?$`) };
  });
}

export function isIgnored(relativePath: string, rules: readonly IgnoreRule[]): boolean {
  let ignored = false;
  for (const rule of rules) {
    if (rule.regex.test(relativePath)) ignored = !rule.negate;
  }
  return ignored;
}

function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` may match no directory at all; a trailing `**` matches everything below.
      if (glob[i + 2] === '/') {
        out += '(?:.*/)?';
        i += 2;
      } else {
        out += '.*';
        i += 1;
      }
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return out;
}
