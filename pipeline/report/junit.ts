// --junit: the run as a JUnit XML report, the format Jenkins, GitLab and GitHub's test reporters read (Ant's
// JUnit task's, in its aggregated form: testsuites > testsuite > testcase, a failure or a skipped in a case).
// Its strict schema wants every suite's properties, system-out and system-err, its package, id, timestamp
// (no zone) and hostname, and no attribute on <testsuites>: given, so that a strict reader takes it too.
// A test case per image and per host command; a failure carries the message as an attribute and the last
// lines of output as its text. Text is XML-escaped, and what XML 1.0 cannot carry (control characters, a
// terminal's escape sequences, lone surrogates) is dropped.
import os from 'node:os';
import { formatPosition } from '../model/errors.ts';
import { writeWhole, type RunSink } from './output-file.ts';
import type { CommandRecord, ImageRecord, RunResult } from './run-record.ts';

interface TestCase {
  name: string;
  classname: string;
  seconds: number;
  failure?: { message: string; type: string; text: string };
  skipped?: string;
}

export function junitXml(run: RunResult, hostname: string = os.hostname() || 'localhost'): string {
  const suites: { name: string; cases: TestCase[] }[] = [];
  if (run.problems.length > 0) {
    suites.push({
      name: 'config',
      cases: run.problems.map((p, i) => ({
        name: p.at ? formatPosition(p.at) : `problem ${i + 1}`,
        classname: 'build-images.config',
        seconds: 0,
        failure: { message: p.message, type: 'config error', text: p.hint ? `hint: ${p.hint}` : '' },
      })),
    });
  }
  if (run.error) {
    suites.push({
      name: 'run',
      cases: [{ name: 'build-images', classname: 'build-images.run', seconds: 0, failure: { message: run.error, type: 'run failed', text: '' } }],
    });
  }
  if (run.images.length > 0) suites.push({ name: 'images', cases: run.images.map(imageCase) });
  if (run.commands.length > 0) suites.push({ name: 'host commands', cases: run.commands.map(commandCase) });

  const timestamp = new Date(run.started).toISOString().slice(0, 19);
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<testsuites>'];
  suites.forEach((suite, id) => {
    const count = (test: (c: TestCase) => boolean) => suite.cases.filter(test).length;
    const attributes = {
      name: suite.name,
      package: 'build-images',
      id: String(id),
      timestamp,
      hostname: hostname || 'localhost',
      tests: String(suite.cases.length),
      failures: String(count((c) => c.failure !== undefined)),
      errors: '0',
      skipped: String(count((c) => c.skipped !== undefined)),
      time: decimal(suite.cases.reduce((sum, c) => sum + c.seconds, 0)),
    };
    lines.push(`  <testsuite${attrs(attributes)}>`, '    <properties/>');
    for (const c of suite.cases) lines.push(...testCase(c));
    lines.push('    <system-out/>', '    <system-err/>', '  </testsuite>');
  });
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

function imageCase(image: ImageRecord): TestCase {
  const base = { name: image.name, classname: 'build-images.images', seconds: image.seconds };
  if (image.status === 'failed') {
    const text = [...image.tail, ...(image.hint ? [`hint: ${image.hint}`] : [])].join('\n');
    return { ...base, failure: { message: image.reason ?? 'failed', type: 'build failed', text } };
  }
  if (image.status === 'skipped') return { ...base, skipped: image.reason ?? 'not built' };
  return base;
}

function commandCase(command: CommandRecord): TestCase {
  const base = { name: command.name ?? command.command, classname: `build-images.commands.${command.image}`, seconds: command.seconds };
  if (command.status !== 'failed') return base;
  const text = [...command.output, `command: ${command.command}`, ...(command.hint ? [`hint: ${command.hint}`] : [])].join('\n');
  return { ...base, failure: { message: command.reason ?? 'failed', type: 'command failed', text } };
}

function testCase(c: TestCase): string[] {
  const open = `    <testcase${attrs({ name: c.name, classname: c.classname, time: decimal(c.seconds) })}`;
  if (c.failure) {
    return [`${open}>`, `      <failure${attrs({ message: c.failure.message, type: c.failure.type })}>${text(c.failure.text)}</failure>`, '    </testcase>'];
  }
  if (c.skipped !== undefined) return [`${open}>`, `      <skipped${attrs({ message: c.skipped })}/>`, '    </testcase>'];
  return [`${open}/>`];
}

const attrs = (values: Record<string, string>) =>
  Object.entries(values)
    .map(([key, value]) => ` ${key}="${attribute(value)}"`)
    .join('');

/** Seconds as xs:decimal: no exponent, milliseconds. */
const decimal = (seconds: number) => (Number.isFinite(seconds) && seconds > 0 ? seconds : 0).toFixed(3);

// A terminal's escape sequences (colours, cursor moves) say nothing in a report.
// eslint-disable-next-line no-control-regex -- control characters are what these two take out
const ESCAPES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b[@-Z\\-_]/g;
// What XML 1.0 cannot carry at all: C0 controls but tab, line feed and carriage return; U+FFFE, U+FFFF;
// surrogates that are not part of a pair.
// eslint-disable-next-line no-control-regex -- as above
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function xmlSafe(value: string): string {
  return value.replace(ESCAPES, '').replace(NOT_XML, '');
}

export function text(value: string): string {
  return xmlSafe(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An attribute's value: its line breaks and tabs kept as references, which a parser would otherwise turn into spaces. */
export function attribute(value: string): string {
  return text(value).replace(/"/g, '&quot;').replace(/\r/g, '&#13;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

export function junitFile(file: string): RunSink {
  return (run) => writeWhole(file, junitXml(run));
}
