// Loading in passes, as a user wants to hear of problems: YAML syntax first (every error at once), then the
// schema (every issue at once), each placed at file:line:col. The cross-field rules come later, in resolve.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { didYouMean, UserError, type Problem, type SourcePosition } from '../model/errors.ts';
import { DEFAULT_CONFIG_FILE } from '../model/project-files.ts';
import { configSchema, type Config } from './schema.ts';
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

const YAML_HINTS: Record<string, string> = {
  TAB_AS_INDENT: 'YAML indents with spaces only: replace the tab with spaces',
  DUPLICATE_KEY: 'a key may appear once in a map: remove or rename one of them',
  BAD_INDENT: 'check that this line is indented like its siblings',
  MISSING_CHAR: 'a quote or bracket is not closed',
  BLOCK_AS_IMPLICIT_KEY: 'a key is probably missing its colon, or the line above is indented wrongly',
  MULTILINE_IMPLICIT_KEY: 'a key is probably missing its colon, or a quote is not closed',
  UNEXPECTED_TOKEN: 'check the punctuation on this line',
};

export async function loadConfig(file: string, cwd = process.cwd()): Promise<ParsedConfig> {
  const absolute = path.resolve(cwd, file);
  const text = await readFile(absolute, 'utf8').catch((err: NodeJS.ErrnoException) => {
    const reason = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a directory' : err.message;
    throw new UserError({
      message: `cannot read ${file}: ${reason}`,
      hint: `run build-images where ${DEFAULT_CONFIG_FILE} is, or name the file with --file`,
    });
  });
  return parseConfig(text, file, path.dirname(absolute));
}

/** Pure: the text of a config file to its parsed value, or a UserError listing every YAML problem. */
export function parseConfig(text: string, file: string, projectDir: string): ParsedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, keepSourceTokens: true, uniqueKeys: true, prettyErrors: false });
  const position = (offset: number): SourcePosition => ({ file, ...lineCounter.linePos(offset) });

  if (doc.errors.length > 0) {
    throw new UserError(
      doc.errors.map((e) => ({
        message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
        at: position(e.pos[0]),
        hint: YAML_HINTS[e.code],
      })),
    );
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    throw new UserError({
      message: `${file} is empty`,
      at: { file, line: 1, col: 1 },
      hint: 'declare at least `images:`; the README has a complete example',
    });
  }

  const locate = (at: ConfigPath): SourcePosition => position(nodeOffset(doc, at));
  const raw = doc.toJS() as unknown;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UserError({ message: `${file} must be a map of settings (images:, variables:, ...)`, at: locate([]) });
  }
  const describe = (issues: readonly z.core.$ZodIssue[]) => dedupe(issues).flatMap((issue) => describeIssue(issue, doc, locate, position));
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

function nodeOffset(doc: Document, at: ConfigPath): number {
  for (let length = at.length; length >= 0; length--) {
    const node = doc.getIn(at.slice(0, length), true) as Node | undefined;
    if (node && typeof node === 'object' && 'range' in node && node.range) return node.range[0];
  }
  return 0;
}

/** The offset of a key in a map, so that an unknown key is pointed at, not the map that holds it. */
function keyOffset(doc: Document, mapPath: ConfigPath, key: string): number | undefined {
  const map = mapPath.length === 0 ? doc.contents : doc.getIn(mapPath, true);
  if (!isMap(map)) return undefined;
  const pair = map.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
  const keyNode = pair?.key as Node | undefined;
  return keyNode?.range?.[0];
}

function dedupe(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  // An unknown step kind also fails the one-kind rule; the unknown key is the useful message.
  const unknownAt = new Set(issues.filter((i) => i.code === 'unrecognized_keys').map((i) => i.path.join('.')));
  return issues.filter((i) => !(i.code === 'custom' && unknownAt.has(i.path.join('.'))));
}

function describeIssue(
  issue: z.core.$ZodIssue,
  doc: Document,
  locate: (at: ConfigPath) => SourcePosition,
  position: (offset: number) => SourcePosition,
): Problem | Problem[] {
  const at = issue.path as (string | number)[];
  const where = at.length ? ` at ${at.join('.')}` : '';
  if (issue.code === 'unrecognized_keys') {
    const isStep = at.length === 4 && at[0] === 'images' && at[2] === 'steps';
    const known = isStep ? stepKindNames : knownKeys(at);
    return issue.keys.map((key) => {
      const near = didYouMean(key, known);
      const offset = keyOffset(doc, at, key);
      return {
        message: isStep ? `unknown step kind '${key}'` : `unknown key '${key}'${where}`,
        at: offset === undefined ? locate(at) : position(offset),
        hint: near ? `did you mean '${near}'?` : `expected one of: ${known.join(', ')}`,
      };
    });
  }
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) {
    return { message: `'${at[at.length - 1]}' is missing${at.length > 1 ? ` at ${at.slice(0, -1).join('.')}` : ''}`, at: locate(at), hint: `expected ${issue.expected}` };
  }
  const value = doc.getIn(at);
  const scalarWhereString =
    (issue.code === 'invalid_type' && issue.expected === 'string') || (issue.code === 'invalid_union' && (typeof value === 'number' || typeof value === 'boolean'));
  if (scalarWhereString && (typeof value === 'number' || typeof value === 'boolean')) {
    return { message: `expected a string${where}`, at: locate(at), hint: "quote the value: '1.0' stays 1.0, unquoted it is the number 1" };
  }
  return { message: `${issue.message.replace(/^Invalid input: /, '')}${where}`, at: locate(at) };
}

/** The keys the schema allows at a path, for a did-you-mean. */
function knownKeys(at: ConfigPath): string[] {
  let schema: z.ZodType | undefined = configSchema;
  for (const segment of at) {
    schema = unwrap(schema);
    const def = (schema as unknown as { def: Record<string, unknown> } | undefined)?.def;
    if (!def) return [];
    if (def['type'] === 'object') schema = (def['shape'] as Record<string, z.ZodType>)[String(segment)];
    else if (def['type'] === 'record') schema = def['valueType'] as z.ZodType;
    else if (def['type'] === 'array') schema = def['element'] as z.ZodType;
    else return [];
  }
  const def = (unwrap(schema) as unknown as { def: Record<string, unknown> } | undefined)?.def;
  return def?.['type'] === 'object' ? Object.keys(def['shape'] as object) : [];
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  for (;;) {
    const def = (current as unknown as { def: Record<string, unknown> } | undefined)?.def;
    if (!def) return current;
    if (def['type'] === 'optional' || def['type'] === 'default') current = def['innerType'] as z.ZodType;
    else if (def['type'] === 'pipe') current = def['in'] as z.ZodType;
    else if (def['type'] === 'union') {
      current = (def['options'] as z.ZodType[]).find((o) => (o as unknown as { def: { type: string } }).def.type === 'object');
      if (!current) return undefined;
    } else return current;
  }
}
