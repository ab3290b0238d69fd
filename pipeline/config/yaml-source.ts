// YAML read with bounds that a hostile or broken file cannot get past, in time linear in its size. The
// yaml library's own guards do not fit a config: its duplicate-key check compares every key with every
// other (40,000 keys took 12 s), its alias guard (maxAliasCount 100) refuses 150 plain aliases of one
// scalar, and its composer recurses, so deep nesting ended in "Maximum call stack size exceeded". Here:
// the nesting depth is checked on the token tree before anything recurses, keys are checked with a set,
// and the value is built by our own walk, which knows each alias's expanded size and depth.
import { Composer, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, Parser, type CST, type Document, type Node } from 'yaml';
import type { Problem, SourcePosition } from '../model/errors.ts';

/** Far above any real config (an edit's list item is 9 levels down), far below the stack's limit (~800). */
export const MAX_DEPTH = 64;
/**
 * How many values aliases may add to the file, counted as expanded. 150 images sharing a 50-step list
 * add 45,000; a "billion laughs" (aliases of aliases, tenfold at each level) passes this in a few lines,
 * and is refused before it is expanded.
 */
export const MAX_ALIAS_VALUES = 1_000_000;

const YAML_HINTS: Record<string, string> = {
  TAB_AS_INDENT: 'YAML indents with spaces only: replace the tab with spaces',
  DUPLICATE_KEY: 'a key may appear once in a map: remove or rename one of them',
  BAD_INDENT: 'check that this line is indented like its siblings',
  MISSING_CHAR: 'a quote or bracket is not closed',
  BLOCK_AS_IMPLICIT_KEY: 'a key is probably missing its colon, or the line above is indented wrongly',
  MULTILINE_IMPLICIT_KEY: 'a key is probably missing its colon, or a quote is not closed',
  UNEXPECTED_TOKEN: 'check the punctuation on this line',
};

export interface YamlSource {
  doc: Document;
  position(offset: number): SourcePosition;
}

/** The text as a YAML document, or every syntax problem of it (none means `doc` can be read). */
export function parseYaml(text: string, file: string): { source: YamlSource; problems: Problem[] } {
  const lineCounter = new LineCounter();
  const position = (offset: number): SourcePosition => ({ file, ...lineCounter.linePos(offset) });
  const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  const tooDeep = firstTooDeep(tokens);
  const composer = new Composer({ uniqueKeys: false });
  const docs = tooDeep === undefined ? Array.from(composer.compose(tokens, true, text.length)) : [];
  const doc = docs[0] ?? new Composer().compose([], true, 0).next().value!;
  const problems: Problem[] = [];
  if (tooDeep !== undefined) {
    problems.push({
      message: `the YAML is nested more than ${MAX_DEPTH} levels deep`,
      at: position(tooDeep),
      hint: 'a config is a few levels deep: look for brackets that are never closed, or a runaway indentation',
    });
  }
  if (docs.length > 1) {
    problems.push({
      message: 'the file holds more than one YAML document',
      at: position(docs[1]!.range[0]),
      hint: 'remove the `---` line: a config is one document',
    });
  }
  for (const e of doc.errors) {
    problems.push({ message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''), at: position(e.pos[0]), hint: YAML_HINTS[e.code] });
  }
  for (const offset of duplicateKeys(doc)) {
    problems.push({ message: 'Map keys must be unique', at: position(offset), hint: YAML_HINTS['DUPLICATE_KEY'] });
  }
  problems.sort((a, b) => a.at!.line - b.at!.line || a.at!.col - b.at!.col);
  return { source: { doc, position }, problems };
}

/**
 * The offset where the token tree first goes deeper than MAX_DEPTH collections, in file order; a walk
 * with its own stack, since the point is not to recurse.
 */
function firstTooDeep(tokens: readonly CST.Token[]): number | undefined {
  const stack: [CST.Token | null | undefined, number][] = tokens.map((t): [CST.Token, number] => [t, 0]).reverse();
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    if (!token) continue;
    if (token.type === 'document') stack.push([token.value, depth]);
    else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth + 1 > MAX_DEPTH) return token.offset;
      for (const item of [...token.items].reverse()) stack.push([item.value, depth + 1], [item.key, depth + 1]);
    }
  }
  return undefined;
}

/** The offsets of keys that repeat an earlier key of the same map, one set per map. */
function duplicateKeys(doc: Document): number[] {
  const found: number[] = [];
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = pair.key;
        if (isScalar(key)) {
          const name = String(key.value ?? '');
          if (seen.has(name) && key.range) found.push(key.range[0]);
          seen.add(name);
        }
        stack.push(pair.key, pair.value);
      }
    } else if (isSeq(node)) stack.push(...node.items);
  }
  return found;
}

interface Anchored {
  value: unknown;
  /** The values it stands for, aliases expanded. */
  size: number;
  /** Its depth, aliases expanded. */
  height: number;
  done: boolean;
}

/**
 * The document as plain data (maps as objects, keys as strings). An alias is the value of the latest
 * anchor of its name before it, shared, not copied; what it would add if expanded is counted, as is the
 * depth it reaches, so that neither a billion laughs nor an alias chain gets past the bounds.
 */
export function yamlValue({ doc, position }: YamlSource): { value: unknown; problems: Problem[] } {
  const anchors = new Map<string, Anchored>();
  const problems: Problem[] = [];
  let added = 0;
  const at = (node: Node) => position(node.range?.[0] ?? 0);

  const convert = (node: unknown, level: number): Anchored => {
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (!target) {
        problems.push({
          message: `the alias *${node.source} has no anchor &${node.source} before it`,
          at: at(node),
          hint: 'an anchor (&name) must come before its aliases (*name)',
        });
        return { value: null, size: 1, height: 0, done: true };
      }
      if (!target.done) {
        problems.push({
          message: `the alias *${node.source} is inside the value it names`,
          at: at(node),
          hint: 'an alias cannot refer to a map or list that contains it',
        });
        return { value: null, size: 1, height: 0, done: true };
      }
      added += target.size;
      if (added > MAX_ALIAS_VALUES) {
        problems.push({
          message: `aliases expand the file to more than ${MAX_ALIAS_VALUES.toLocaleString('en-US')} values`,
          at: at(node),
          hint: 'write the repeated part out, or share less of it: aliases of aliases multiply',
        });
        throw new Stop();
      }
      if (level + target.height > MAX_DEPTH) {
        problems.push({ message: `the alias *${node.source} nests the YAML more than ${MAX_DEPTH} levels deep`, at: at(node) });
        throw new Stop();
      }
      return target;
    }
    const anchor = (node as { anchor?: string } | null)?.anchor;
    const result: Anchored = { value: null, size: 1, height: 0, done: false };
    if (anchor) anchors.set(anchor, result);
    if (isMap(node)) {
      const object: Record<string, unknown> = {};
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value ?? '') : undefined;
        if (key === undefined) {
          problems.push({ message: 'a key must be a plain value, not a list, a map or an alias', at: at((pair.key as Node | null) ?? node) });
          continue;
        }
        if (key === '__proto__') {
          // Every later copy (zod's records among them) would set a prototype instead: an image of that name vanished.
          problems.push({ message: "'__proto__' cannot be a key here", at: at(pair.key as Node), hint: 'choose another name' });
          continue;
        }
        const item = convert(pair.value, level + 1);
        object[key] = item.value;
        result.size += item.size;
        result.height = Math.max(result.height, item.height + 1);
      }
      result.value = object;
    } else if (isSeq(node)) {
      result.value = node.items.map((child) => {
        const item = convert(child, level + 1);
        result.size += item.size;
        result.height = Math.max(result.height, item.height + 1);
        return item.value;
      });
    } else if (isScalar(node)) {
      result.value = node.value;
    }
    result.done = true;
    return result;
  };

  try {
    return { value: convert(doc.contents, 0).value, problems };
  } catch (err) {
    if (err instanceof Stop) return { value: undefined, problems };
    throw err;
  }
}

/** Ends the walk at a bound: past it, every further alias would only repeat the problem. */
class Stop extends Error {}
