// Loading in passes, as a user wants to hear of problems: YAML syntax first (every error at once), then the
// schema (every issue at once), each placed at file:line:col. The cross-field rules come later, in resolve.
import { open } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isScalar, isSeq, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { z } from 'zod';
import { didYouMean, MAX_PROBLEMS, UserError, type Problem, type SourcePosition } from '../model/errors.ts';
import { DEFAULT_CONFIG_FILE } from '../model/project-files.ts';
import { configSchema, type Config } from './schema.ts';
import { parseYaml, yamlValue } from './yaml-source.ts';
import { decodeUtf8 } from '../model/utf8-text.ts';
import { stepKindNames } from '../../steps/index.ts';

export type ConfigPath = readonly (string | number)[];

/** A config file read and parsed as YAML, not yet validated: the raw value and how to point into it. */
export interface ParsedConfig {
  /** The file as the user named it, for messages. */
  file: string;
  projectDir: string;
  raw: Record<string, unknown>;
  /** The position of a value (or of the nearest enclosing one that is written down). */
  locate(at: ConfigPath): SourcePosition;
  /** zod's issues as problems a user can act on, placed in the file. */
  describe(issues: readonly z.core.$ZodIssue[]): Problem[];
}

export interface LoadedConfig extends Omit<ParsedConfig, 'raw' | 'describe'> {
  /** Validated, with every ${VARIABLE} outside `variables:` already replaced. */
  config: Config;
}

/**
 * The largest config read: 100 times this repository's. The YAML parser takes about 2 s a MiB of small keys
 * here (1,000,000 unknown keys, 12 MB, took 45 s and 2.2 GB before an error was said), so a larger file is
 * refused before it is read.
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export async function loadConfig(file: string, cwd = process.cwd()): Promise<ParsedConfig> {
  const absolute = path.resolve(cwd, file);
  const cannotRead = (err: NodeJS.ErrnoException): never => {
    const reason = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a directory' : err.message;
    throw new UserError({
      message: `cannot read ${file}: ${reason}`,
      hint: `run build-images where ${DEFAULT_CONFIG_FILE} is, or name the file with --file`,
    });
  };
  const handle = await open(absolute).catch(cannotRead);
  let bytes: Buffer;
  try {
    const { size, isFile } = await handle.stat().then((s) => ({ size: s.size, isFile: s.isFile() }), cannotRead);
    if (isFile && size > MAX_CONFIG_BYTES) {
      throw new UserError({
        message: `${file} is ${(size / 1024 / 1024).toFixed(1)} MiB: a config is at most ${MAX_CONFIG_BYTES / 1024 / 1024} MiB`,
        at: { file, line: 1, col: 1 },
        hint: 'a config describes images in a few kilobytes: is this the file you meant? Share repeated steps with YAML anchors',
      });
    }
    bytes = await handle.readFile().catch(cannotRead);
  } finally {
    await handle.close();
  }
  const decoded = decodeUtf8(bytes);
  if (!decoded.ok) {
    throw new UserError({
      message: `${file} is not UTF-8 text: ${decoded.reason}`,
      at: { file, line: decoded.line, col: decoded.col },
      hint: 'save the file as UTF-8 (in most editors: "Save with encoding", UTF-8)',
    });
  }
  return parseConfig(decoded.text, file, path.dirname(absolute));
}

/** Pure: the text of a config file to its parsed value, or a UserError listing every YAML problem. */
export function parseConfig(text: string, file: string, projectDir: string): ParsedConfig {
  const { source, problems } = parseYaml(text, file);
  if (problems.length > 0) throw new UserError(problems);
  const { doc, position } = source;
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    throw new UserError({
      message: `${file} is empty`,
      at: { file, line: 1, col: 1 },
      hint: 'declare at least `images:`; the README has a complete example',
    });
  }

  const index = nodeIndex(doc);
  const locate = (at: ConfigPath): SourcePosition => position(index.offset(at));
  const converted = yamlValue(source);
  if (converted.problems.length > 0) throw new UserError(converted.problems);
  const raw = converted.value;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UserError({ message: `${file} must be a map of settings (images:, variables:, ...)`, at: locate([]) });
  }
  const describe = (issues: readonly z.core.$ZodIssue[]) => dedupe(flattenUnions(issues)).flatMap((issue) => describeIssue(issue, index, locate, position));
  return { file, projectDir, raw: raw as Record<string, unknown>, locate, describe };
}

/**
 * The last pass: the whole config, its variables already replaced, against the schema. `earlier` are the
 * problems of the passes before; they are reported with the schema's, which says nothing more where they did.
 */
export function validateConfig(parsed: ParsedConfig, interpolated: Record<string, unknown>, earlier: readonly Problem[] = []): LoadedConfig {
  const result = configSchema.safeParse(interpolated);
  const seen = new Set(earlier.map((p) => (p.at ? `${p.at.line}:${p.at.col}` : '')));
  const schemaProblems = result.success ? [] : parsed.describe(result.error.issues).filter((p) => !p.at || !seen.has(`${p.at.line}:${p.at.col}`));
  const problems = [...earlier, ...schemaProblems].sort((a, b) => (a.at?.line ?? 0) - (b.at?.line ?? 0) || (a.at?.col ?? 0) - (b.at?.col ?? 0));
  if (problems.length > 0 || !result.success) throw new UserError(problems);
  return { file: parsed.file, projectDir: parsed.projectDir, locate: parsed.locate, config: result.data };
}

/** Finds the YAML node of a config path in time proportional to the path: each map's keys indexed once. */
interface NodeIndex {
  /** The offset of the value at a path, or of the nearest enclosing one that is written down. */
  offset(at: ConfigPath): number;
  /** The offset of a key in the map at `mapPath`, so that an unknown key is pointed at, not its map. */
  keyOffset(mapPath: ConfigPath, key: string): number | undefined;
  /** The value at a path when it is written as a scalar; null also for a key written with no value. */
  scalar(at: ConfigPath): unknown;
}

function nodeIndex(doc: Document): NodeIndex {
  const keys = new WeakMap<YAMLMap, Map<string, Pair>>();
  const pairsOf = (map: YAMLMap): Map<string, Pair> => {
    let pairs = keys.get(map);
    if (!pairs) {
      pairs = new Map();
      for (const pair of map.items) if (isScalar(pair.key)) pairs.set(String(pair.key.value ?? ''), pair as Pair);
      keys.set(map, pairs);
    }
    return pairs;
  };
  /** The nodes along a path as far as it is written; a key with no value stands for its value. */
  const walk = (at: ConfigPath): { nodes: Node[]; empty: boolean } => {
    const nodes: Node[] = [];
    let node: unknown = doc.contents;
    let empty = false;
    for (const segment of [undefined, ...at]) {
      if (segment !== undefined) {
        if (isMap(node)) {
          const pair = pairsOf(node).get(String(segment));
          empty = pair !== undefined && pair.value === null;
          node = pair?.value ?? pair?.key;
        } else if (isSeq(node) && typeof segment === 'number') node = node.items[segment];
        else node = undefined;
      }
      if (!node || !(node as Node).range) break;
      nodes.push(node as Node);
    }
    return { nodes, empty };
  };
  return {
    offset: (at) => walk(at).nodes.pop()?.range?.[0] ?? 0,
    keyOffset(mapPath, key) {
      const map = walk(mapPath).nodes[mapPath.length];
      const keyNode = isMap(map) ? (pairsOf(map).get(key)?.key as Node | undefined) : undefined;
      return keyNode?.range?.[0];
    },
    scalar(at) {
      const { nodes, empty } = walk(at);
      const node = nodes[at.length];
      return empty ? null : isScalar(node) ? node.value : undefined;
    },
  };
}

/**
 * A union's issues, when the value's type chose one of its branches, are that branch's: `{defualt: x}`
 * for a variable is a map, so it is the map form that is wrong, and zod's "Invalid input" says nothing.
 */
function flattenUnions(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== 'invalid_union' || !('errors' in issue)) return [issue];
    // Absent: every branch says so; one of them says it well enough.
    if (issue.errors.length > 0 && issue.errors.every((branch) => branch.length === 1 && branch[0]!.path.length === 0 && isMissing(branch[0]!))) {
      return [{ ...issue.errors[0]![0]!, path: issue.path } as z.core.$ZodIssue];
    }
    // A branch that fails at its root (another type, or a string none of an enum's) is not the one the
    // value chose: `cache.to: {type: registry, mode: all}` is the map form with a wrong mode.
    const typeMatched = issue.errors.filter((branch) => !branch.some((i) => (i.code === 'invalid_type' || i.code === 'invalid_value') && i.path.length === 0));
    // Else the one branch of the value's type, wrong as it is: `to: inlin` is the enum's string.
    const sameType = issue.errors.filter((branch) => !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0));
    const chosen = typeMatched.length === 1 ? typeMatched : sameType;
    if (chosen.length !== 1) return [issue];
    return flattenUnions(chosen[0]!.map((i) => ({ ...i, path: [...issue.path, ...i.path] }) as z.core.$ZodIssue));
  });
}

function dedupe(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  // An unknown step kind also fails the one-kind rule; the unknown key is the useful message. A misspelt
  // key also leaves the key it meant missing: the did-you-mean says that already.
  const unknownAt = new Map<string, string[]>();
  for (const i of issues) if (i.code === 'unrecognized_keys') unknownAt.set(i.path.join('.'), [...(unknownAt.get(i.path.join('.')) ?? []), ...i.keys]);
  const misspelt = (i: z.core.$ZodIssue) => {
    if (!isMissing(i) || i.path.length === 0) return false;
    const wanted = String(i.path[i.path.length - 1]);
    return (unknownAt.get(i.path.slice(0, -1).join('.')) ?? []).some((key) => didYouMean(key, [wanted]) === wanted);
  };
  return issues.filter((i) => !(i.code === 'custom' && unknownAt.has(i.path.join('.'))) && !misspelt(i));
}

function isMissing(issue: z.core.$ZodIssue): boolean {
  return issue.code === 'invalid_type' && issue.message.endsWith('received undefined');
}

function describeIssue(
  issue: z.core.$ZodIssue,
  index: NodeIndex,
  locate: (at: ConfigPath) => SourcePosition,
  position: (offset: number) => SourcePosition,
): Problem | Problem[] {
  const at = issue.path as (string | number)[];
  const where = at.length ? ` at ${at.join('.')}` : '';
  if (issue.code === 'unrecognized_keys') {
    const isStep = at.length === 4 && at[0] === 'images' && at[2] === 'steps';
    const known = isStep ? stepKindNames : knownKeys(at);
    return issue.keys.map((key, i) => {
      const offset = index.keyOffset(at, key);
      const problem = {
        message: isStep ? `unknown step kind '${key}'` : `unknown key '${key}'${where}`,
        at: offset === undefined ? locate(at) : position(offset),
      };
      // The keys come in file order, and only the first MAX_PROBLEMS of all are shown: a later one of this
      // map never is, and is only counted (a did-you-mean for each of 70,000 keys took a second).
      if (i >= MAX_PROBLEMS) return problem;
      // A key of another form of the map (`ref` in `cache.to: {type: local}`): its keys are not these.
      if (known.includes(key)) return problem;
      const near = didYouMean(key, known);
      return {
        ...problem,
        hint:
          key === '<<'
            ? 'YAML merge keys (<<) are not read: write the keys out, or alias the whole map'
            : near
              ? `did you mean '${near}'?`
              : `expected one of: ${known.join(', ')}`,
      };
    });
  }
  if (issue.code === 'invalid_key') {
    // A record's key that its rule refuses (an empty label key): said with the rule, at the key.
    const key = String(at[at.length - 1]);
    const parent = at.slice(0, -1);
    const offset = index.keyOffset(parent, key);
    return {
      message: `${issue.issues.map((i) => i.message).join('; ')}: key '${key}' at ${parent.join('.')}`,
      at: offset === undefined ? locate(at) : position(offset),
      ...(key.trim() === '' ? { hint: 'give it a name, or remove the entry' } : {}),
    };
  }
  if (isMissing(issue)) {
    return {
      message: `'${at[at.length - 1]}' is missing${at.length > 1 ? ` at ${at.slice(0, -1).join('.')}` : ''}`,
      at: locate(at),
      hint: `expected ${'expected' in issue ? issue.expected : 'a value'}`,
    };
  }
  const value = index.scalar(at);
  if (value === null && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) {
    return {
      message: `'${at[at.length - 1]}' has no value${at.length > 1 ? ` at ${at.slice(0, -1).join('.')}` : ''}`,
      at: locate(at),
      hint: 'write its value after the colon, or remove the key',
    };
  }
  const scalarWhereString =
    (issue.code === 'invalid_type' && issue.expected === 'string') ||
    (issue.code === 'invalid_union' && (typeof value === 'number' || typeof value === 'boolean'));
  if (scalarWhereString && (typeof value === 'number' || typeof value === 'boolean')) {
    return { message: `expected a string${where}`, at: locate(at), hint: "quote the value: '1.0' stays 1.0, unquoted it is the number 1" };
  }
  const wrongType = wrongTypeOfUnion(issue);
  if (wrongType) {
    // `TAGS: [a, b]` for a variable: zod says only "Invalid input"; what each form expects says more.
    const keys = wrongType.expected.includes('object') ? knownKeys(at) : [];
    return {
      message: `expected ${wrongType.expected.map(typeName).join(' or ')}${where}, not ${typeName(wrongType.received)}`,
      at: locate(at),
      hint: keys.length ? `write one value, or a map of ${keys.join(', ')}` : undefined,
    };
  }
  return { message: `${issue.message.replace(/^Invalid input: /, '')}${where}`, at: locate(at) };
}

/** A union none of whose forms has the value's type: the types they take, and the value's. */
function wrongTypeOfUnion(issue: z.core.$ZodIssue): { expected: string[]; received: string } | undefined {
  if (issue.code !== 'invalid_union' || !('errors' in issue) || issue.errors.length === 0) return undefined;
  const roots = issue.errors.map((branch) =>
    branch.length === 1 && branch[0]!.path.length === 0 && branch[0]!.code === 'invalid_type' ? branch[0]! : undefined,
  );
  if (roots.some((root) => root === undefined)) return undefined;
  const received = /received (\w+)/.exec(roots[0]!.message)?.[1];
  if (received === undefined || received === 'undefined') return undefined;
  return { expected: roots.map((root) => String((root as { expected?: string }).expected)), received };
}

function typeName(type: string): string {
  const names: Record<string, string> = { string: 'a string', object: 'a map', array: 'a list', number: 'a number', boolean: 'true or false', null: 'nothing' };
  return names[type] ?? type;
}

/** The keys the schema allows at a path, for a did-you-mean; found through zod's public classes. */
function knownKeys(at: ConfigPath): string[] {
  let schema = unwrap(configSchema);
  for (const segment of at) {
    if (schema instanceof z.ZodObject) schema = unwrap((schema.shape as Record<string, z.ZodType>)[String(segment)]);
    else if (schema instanceof z.ZodRecord) schema = unwrap(schema.valueType as z.ZodType);
    else if (schema instanceof z.ZodArray) schema = unwrap(schema.element as z.ZodType);
    else return [];
  }
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/** The schema under optional, default and transform wrappers; of a union, its map form. */
function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || schema instanceof z.ZodNullable) return unwrap(schema.unwrap() as z.ZodType);
  if (schema instanceof z.ZodPipe) return unwrap(schema.in as z.ZodType);
  if (schema instanceof z.ZodUnion) return (schema.options as z.ZodType[]).map(unwrap).find((o) => o instanceof z.ZodObject);
  return schema;
}
