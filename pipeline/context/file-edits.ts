// Edits of a base image's files, as pure functions of their text. They replace ONAP's `sed` lines, which
// broke whenever Cloudify changed a quote or an indent, and which added a rule again on every run.
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { InputMismatch, RunError } from '../model/errors.ts';
import type { FileEdit } from '../model/file-edit.ts';
import { decodeUtf8 } from '../model/utf8-text.ts';

export interface EditedFile {
  text: string;
  mode: number;
}

/**
 * The edit applied to a file's bytes. They must be UTF-8 text: decoding anything else with replacement
 * characters and writing it back destroyed it (an edited busybox no longer ran). A byte-order mark is kept.
 */
export function applyEdit(file: string, content: Uint8Array, mode: number, edit: FileEdit): EditedFile {
  const decoded = decodeUtf8(content);
  if (!decoded.ok) {
    throw new InputMismatch(
      `${file} in the base image is not UTF-8 text (${decoded.reason}, line ${decoded.line}), so edit cannot change it`,
      'edit changes text files such as YAML configs and start-up scripts; for anything else, copy a file of your own',
    );
  }
  const text = decoded.text;
  switch (edit.kind) {
    case 'prepend-to-list':
      return { text: prependToList(file, text, edit.at, edit.items), mode };
    case 'append-line':
      return { text: appendLine(text, edit.line), mode: edit.executable ? mode | 0o111 : mode };
  }
}

/** Appends a line unless the file already has it, so that a second run changes nothing. */
export function appendLine(text: string, line: string): string {
  if (text.split(/\r?\n/).some((l) => l.trim() === line.trim())) return text;
  const separator = text === '' || text.endsWith('\n') ? '' : '\n';
  return `${text}${separator}${line}\n`;
}

/**
 * Puts one-entry maps at the front of the YAML sequence at `at`, leaving every other byte as it was
 * (comments, order, quoting, indentation). An item the list already holds is not added again. The yaml
 * Document API finds the list and checks the result; the change itself is a text insertion, because
 * `doc.toString()` re-indents and re-quotes what it did not touch.
 */
export function prependToList(file: string, text: string, at: readonly string[], items: readonly Readonly<Record<string, string>>[]): string {
  const where = `${file}: ${at.join('.')}`;
  const doc = parseDocument(text, { keepSourceTokens: true });
  if (doc.errors.length) throw new InputMismatch(`${file} is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const list = doc.getIn(at, true) as Node | undefined;
  if (list === undefined) throw new InputMismatch(`${where} does not exist`, `the base image's ${file} has no such key: check its version`, 'path');
  if (!isSeq(list)) throw new InputMismatch(`${where} is not a list`, 'the rules must be a YAML sequence', 'path');

  const existing = list.items.map((item) => (isMap(item) ? JSON.stringify(item.toJSON()) : undefined));
  const missing = items.filter((item) => !existing.includes(JSON.stringify(item)));
  if (missing.length === 0) return text;

  const [start] = list.range!;
  let edited: string;
  if (list.flow) {
    // `rules: [ ... ]`: the new items go right after the bracket.
    const open = text.indexOf('[', start);
    const inserted = missing.map(flowMap).join(', ') + (list.items.length ? ', ' : '');
    edited = text.slice(0, open + 1) + inserted + text.slice(open + 1);
  } else {
    // A block sequence: new `- ` lines above the first item, with its indentation.
    const lineStart = text.lastIndexOf('\n', start - 1) + 1;
    const indent = /^[ ]*(?=- )/.exec(text.slice(lineStart))?.[0];
    if (indent === undefined) throw new InputMismatch(`${where}: the list's first item is not on a line of its own`, undefined, 'path');
    edited = text.slice(0, lineStart) + missing.map((item) => `${indent}- ${flowMap(item)}\n`).join('') + text.slice(lineStart);
  }
  checkPrepended(file, edited, at, missing);
  return edited;
}

/** `{'key': 'value'}`, single-quoted as Cloudify writes its rules; a quote is doubled. */
function flowMap(item: Readonly<Record<string, string>>): string {
  const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;
  return `{${Object.entries(item)
    .map(([k, v]) => `${quote(k)}: ${quote(v)}`)
    .join(', ')}}`;
}

function checkPrepended(file: string, edited: string, at: readonly string[], items: readonly Readonly<Record<string, string>>[]): void {
  const doc = parseDocument(edited, { lineCounter: new LineCounter() });
  const list = doc.getIn(at, true);
  const ok =
    doc.errors.length === 0 &&
    isSeq(list) &&
    items.every((item, i) => JSON.stringify((list.items[i] as Node & { toJSON(): unknown })?.toJSON()) === JSON.stringify(item));
  if (!ok)
    throw new RunError(`${file}: editing ${at.join('.')} did not give the expected YAML`, 'this is a bug in build-images; please report it with the file');
}
