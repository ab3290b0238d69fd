// The run's report files, fed events: --metadata-file in bake's shape, --junit valid against the strict JUnit
// schema whatever the output held, both written whole also when the process exits before the run's end.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateXML } from 'xmllint-wasm';
import type { RunEvent } from '../../pipeline/run/events.ts';
import { runRecorder } from '../../pipeline/report/run-record.ts';
import { metadataDocument, RUN_KEY } from '../../pipeline/report/metadata-file.ts';
import { junitXml } from '../../pipeline/report/junit.ts';
import { recordedOutputs } from '../../pipeline/report/output-file.ts';
import { metadataFile } from '../../pipeline/report/metadata-file.ts';
import { junitFile } from '../../pipeline/report/junit.ts';
import { planPhases } from '../../pipeline/plan/phases.ts';
import { runPhases } from '../../pipeline/run/run-phases.ts';
import { prepareText, yaml } from '../support/config.ts';
import { fakeEngine, fakeServices, runOptions } from '../support/fake-engine.ts';
import { tempDir } from '../support/temp.ts';
import { RunError } from '../../pipeline/model/errors.ts';

const XSD = readFileSync(fileURLToPath(new URL('../fixtures/junit/junit.xsd', import.meta.url)), 'utf8');
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const ID = `sha256:${'a'.repeat(64)}`;
const HOSTILE = 'bad \u0000\u0007\u001b[31mred\u001b[0m <x> & "q" ]]> \ud800 \r\n::error::not ours';

/** A clock that moves a second per reading. */
function clock(start = Date.UTC(2026, 11, 4, 19, 0, 0)) {
  let t = start;
  return () => (t += 1000);
}

function runEvents(): RunEvent[] {
  return [
    { type: 'start', image: 'base' },
    { type: 'command', image: 'base', name: 'base/gen', status: 'ran', command: 'make gen', reason: 'no record of a run', seconds: 1.5 },
    {
      type: 'finish',
      image: 'base',
      status: 'built',
      id: ID,
      tags: ['reg.test/base:1', 'base:local'],
      reason: 'no image yet',
      base: { ref: 'alpine:latest', id: `sha256:${'b'.repeat(64)}`, digest: D2 },
      seconds: 2.25,
    },
    { type: 'finish', image: 'cached', status: 'skipped', id: ID, tags: ['reg.test/cached:1'], registry: { name: 'reg.test', digest: D2 }, seconds: 0.1 },
    { type: 'finish', image: 'local', status: 'skipped', id: ID, tags: ['local:1'], reason: 'up to date', seconds: 0.05 },
    { type: 'start', image: 'broken' },
    { type: 'log', image: 'broken', line: 'compiling' },
    { type: 'log', image: 'broken', line: HOSTILE },
    { type: 'step', image: 'broken', step: { id: 'v1', name: '[2/3] RUN make', cached: false, error: 'exit code: 2' } },
    {
      type: 'command',
      image: 'broken',
      name: 'broken/cc',
      status: 'failed',
      command: "cd /src && cc 'a b'",
      reason: `exited with code 1: ${HOSTILE}`,
      output: ['a.c:1:1: error: <oops>', HOSTILE],
      hint: 'fix a.c',
      seconds: 0.5,
    },
    { type: 'finish', image: 'broken', status: 'failed', tags: ['reg.test/broken:1'], error: `cc failed ${HOSTILE}`, hint: 'fix a.c', seconds: 0.75 },
    { type: 'finish', image: 'child', status: 'failed', tags: ['reg.test/child:1'], error: 'not built: broken failed', notBuilt: 'dependency', seconds: 0 },
    { type: 'push', image: 'base', tag: 'reg.test/base:1', status: 'pushed', digest: D1 },
    { type: 'push', image: 'base', tag: 'reg.test/base:latest', status: 'tagged', digest: D1 },
    { type: 'push', image: 'base', tag: 'other.test/base:1', status: 'pushed' },
    { type: 'push', image: 'base', tag: 'down.test/base:1', status: 'failed', error: 'connection refused' },
    { type: 'summary', ok: false, images: [], commands: { ran: 1, fresh: 0, failed: 1 }, pushed: [], notPushed: [] },
  ];
}

function recorded(events = runEvents(), images = ['base', 'cached', 'local', 'broken', 'child', 'unreached']) {
  const recorder = runRecorder(images, clock());
  for (const event of events) recorder.emit(event);
  return recorder.result();
}

test("the metadata file has a key per image in bake's shape, with our status, reason, ids, pushes, base and times", () => {
  const doc = metadataDocument(recorded()) as Record<string, Record<string, unknown>>;
  assert.equal(Object.keys(doc), ['base', 'cached', 'local', 'broken', 'child', 'unreached', RUN_KEY]);
  const base = doc['base']!;
  assert.is(base['image.name'], 'reg.test/base:1,reg.test/base:latest,other.test/base:1', 'what went to a registry; not the failed push');
  assert.is(base['containerimage.digest'], D1);
  assert.is(base['build-images.status'], 'built');
  assert.is(base['build-images.reason'], 'no image yet');
  assert.is(base['build-images.image-id'], ID);
  assert.equal(base['build-images.tags'], ['reg.test/base:1', 'base:local']);
  assert.equal(base['build-images.pushed'], [
    { tag: 'reg.test/base:1', status: 'pushed', digest: D1 },
    { tag: 'reg.test/base:latest', status: 'tagged', digest: D1 },
    { tag: 'other.test/base:1', status: 'pushed' },
    { tag: 'down.test/base:1', status: 'failed', error: 'connection refused' },
  ]);
  assert.equal(base['build-images.base'], { ref: 'alpine:latest', id: `sha256:${'b'.repeat(64)}`, digest: D2 });
  assert.is(base['build-images.seconds'], 2.25);
  assert.match(String(base['build-images.started']), /^2026-12-04T19:00:0\dZ$|^2026-12-04T19:00:\d\d\.000Z$/);
  assert.ok(Date.parse(String(base['build-images.finished'])) > Date.parse(String(base['build-images.started'])));

  assert.is(doc['cached']!['build-images.status'], 'up to date in registry');
  assert.is(doc['cached']!['containerimage.digest'], D2, 'the digest the registry has');
  assert.is(doc['cached']!['build-images.reason'], 'its inputs label matched');
  assert.equal(doc['cached']!['build-images.registry'], { name: 'reg.test', digest: D2 });
  assert.is(doc['local']!['build-images.status'], 'up to date');
  assert.is(doc['local']!['containerimage.digest'], undefined, 'pushed nowhere: no registry digest');
  assert.is(doc['local']!['image.name'], 'local:1');
  assert.is(doc['broken']!['build-images.status'], 'failed');
  assert.is(doc['broken']!['build-images.hint'], 'fix a.c');
  assert.is(doc['child']!['build-images.status'], 'skipped');
  assert.is(doc['child']!['build-images.reason'], 'not built: broken failed');
  assert.is(doc['unreached']!['build-images.status'], 'skipped');
  assert.is(doc['unreached']!['build-images.reason'], 'not built: the run stopped first');

  const run = doc[RUN_KEY]!;
  assert.is(run['status'], 'failed');
  assert.equal(
    (run['commands'] as { name: string; status: string }[]).map((c) => [c.name, c.status]),
    [
      ['base/gen', 'ran'],
      ['broken/cc', 'failed'],
    ],
  );
  // A script written for bake: name@digest of each pushed target.
  const refs = Object.entries(doc)
    .filter(([, v]) => v['containerimage.digest'])
    .map(([, v]) => `${String(v['image.name']).split(',')[0]}@${String(v['containerimage.digest'])}`);
  assert.equal(refs, [`reg.test/base:1@${D1}`, `reg.test/cached:1@${D2}`]);
});

test("a graph image's base takes the digest that image got in its registry", () => {
  const events: RunEvent[] = [
    { type: 'finish', image: 'base', status: 'built', id: ID, tags: ['reg.test/base:1'], reason: 'no image yet', seconds: 1 },
    {
      type: 'finish',
      image: 'app',
      status: 'built',
      id: ID,
      tags: ['reg.test/app:1'],
      reason: 'no image yet',
      base: { ref: 'reg.test/base:1', id: ID },
      seconds: 1,
    },
    { type: 'push', image: 'base', tag: 'reg.test/base:1', status: 'present', digest: D1 },
  ];
  const doc = metadataDocument(recorded(events, ['base', 'app'])) as Record<string, Record<string, unknown>>;
  assert.equal(doc['app']!['build-images.base'], { ref: 'reg.test/base:1', id: ID, digest: D1 });
});

test('a config error is in the metadata and the JUnit report, with its place', async () => {
  const recorder = runRecorder([], clock());
  recorder.problems([{ message: "unknown key 'stpes'", at: { file: 'build.config.yaml', line: 4, col: 5 }, hint: "did you mean 'steps'?" }]);
  const run = recorder.result({ exitCode: 2 });
  const doc = metadataDocument(run) as Record<string, Record<string, unknown>>;
  assert.equal(doc[RUN_KEY]!['problems'], [{ message: "unknown key 'stpes'", at: 'build.config.yaml:4:5', hint: "did you mean 'steps'?" }]);
  assert.is(doc[RUN_KEY]!['status'], 'failed');
  const xml = junitXml(run, 'host');
  await valid(xml);
  assert.match(xml, /<testcase name="build.config.yaml:4:5" classname="build-images.config" time="0.000">/);
  assert.match(xml, /<failure message="unknown key &apos;stpes&apos;|<failure message="unknown key 'stpes'"/);
});

async function valid(xml: string): Promise<void> {
  const result = await validateXML({ xml: [{ fileName: 'report.xml', contents: xml }], schema: [XSD] });
  assert.ok(result.valid, `not valid JUnit XML:\n${result.rawOutput}\n${xml}`);
}

test('the JUnit report: a case per image and per host command, failures with message and output, valid against the schema', async () => {
  const xml = junitXml(recorded(), 'runner-1');
  await valid(xml);
  assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n'));
  assert.match(
    xml,
    /<testsuite name="images" package="build-images" id="0" timestamp="2026-12-04T19:00:01" hostname="runner-1" tests="6" failures="1" errors="0" skipped="2" time="3.150">/,
  );
  assert.match(xml, /<testsuite name="host commands" package="build-images" id="1" [^>]* tests="2" failures="1" errors="0" skipped="0" time="2.000">/);
  assert.match(xml, /<testcase name="base" classname="build-images.images" time="2.250"\/>/);
  assert.match(xml, /<testcase name="child" classname="build-images.images" time="0.000">\n {6}<skipped message="not built: broken failed"\/>/);
  assert.match(xml, /<testcase name="broken\/cc" classname="build-images.commands.broken" time="0.500">/);
  // The failure's text: the image's last lines, the failed step and the command's output, then the hint.
  const failure = /<failure message="cc failed [^"]*" type="build failed">([^<]*)<\/failure>/.exec(xml)?.[1];
  assert.ok(failure, xml);
  assert.match(failure, /^compiling\n/);
  assert.match(failure, /\[2\/3\] RUN make: exit code: 2/);
  assert.match(failure, /a\.c:1:1: error: &lt;oops&gt;/);
  assert.match(failure, /hint: fix a\.c$/);
  // Hostile output: escaped, control characters and escape sequences gone, the lone surrogate gone.
  assert.not.match(xml, /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
  assert.not.match(xml, /\ud800/);
  assert.match(xml, /bad red &lt;x&gt; &amp; "q" \]\]&gt;/);
  assert.match(xml, /message="cc failed bad red &lt;x&gt; &amp; &quot;q&quot; \]\]&gt; {2}&#13;&#10;::error::not ours"/);
});

test('the schema refuses what a strict reader would (it is no rubber stamp)', async () => {
  const xml = junitXml(recorded(), 'h');
  for (const broken of [
    xml.replace('    <system-out/>\n', ''),
    xml.replace(' hostname="h"', ''),
    xml.replace('<testsuites>', '<testsuites tests="1">'),
    xml.replace(' type="build failed"', ''),
  ]) {
    const result = await validateXML({ xml: [{ fileName: 'report.xml', contents: broken }], schema: [XSD] });
    assert.not.ok(result.valid, broken);
  }
});

test('a host command asked for alone is a test case, and its image no record of its own', async () => {
  const run = recorded(
    [
      { type: 'log', image: 'px', line: 'go: compiling' },
      { type: 'command', image: 'px', name: 'px/px', status: 'failed', command: 'go build', reason: 'exited with code 1', output: ['x.go:1: bad'], seconds: 1 },
      { type: 'summary', ok: false, images: [], commands: { ran: 0, fresh: 0, failed: 1 }, pushed: [], notPushed: [] },
    ],
    [],
  );
  assert.equal(run.images, []);
  const xml = junitXml(run, 'h');
  await valid(xml);
  assert.match(
    xml,
    /<testcase name="px\/px" classname="build-images.commands.px" time="1.000">\n\s*<failure message="exited with code 1" type="command failed">x.go:1: bad\ncommand: go build<\/failure>/,
  );
});

test('an empty run is a valid report too', async () => {
  await valid(junitXml(runRecorder([], clock()).result(), 'h'));
});

test('the files are written whole at the end, and no temporary file is left beside them', async () => {
  const dir = await tempDir('bi-reports-');
  const outputs = recordedOutputs([metadataFile(path.join(dir, 'meta.json')), junitFile(path.join(dir, 'junit.xml'))], clock());
  outputs.select(['base', 'cached', 'local', 'broken', 'child']);
  for (const event of runEvents()) outputs.emit(event);
  await outputs.close();
  assert.equal(readdirSync(dir).sort(), ['junit.xml', 'meta.json']);
  const doc = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  assert.is(doc['base']!['containerimage.digest'], D1);
  await valid(readFileSync(path.join(dir, 'junit.xml'), 'utf8'));
});

test('a file that cannot be written is a run error naming it, and leaves nothing behind', async () => {
  const dir = await tempDir('bi-reports-');
  const outputs = recordedOutputs([metadataFile(path.join(dir, 'missing', 'meta.json'))], clock());
  await outputs.close().then(
    () => assert.unreachable(),
    (err: Error) => {
      assert.instance(err, RunError);
      assert.match(err.message, /cannot write .*missing\/meta\.json \(ENOENT\)/);
    },
  );
  assert.equal(readdirSync(dir), []);
});

test('a process that exits before the run ends (a second Ctrl-C) still writes them, as interrupted', async () => {
  const dir = await tempDir('bi-reports-');
  const script = `
    import { recordedOutputs } from ${JSON.stringify(fileURLToPath(new URL('../../pipeline/report/output-file.ts', import.meta.url)))};
    import { metadataFile } from ${JSON.stringify(fileURLToPath(new URL('../../pipeline/report/metadata-file.ts', import.meta.url)))};
    const outputs = recordedOutputs([metadataFile(${JSON.stringify(path.join(dir, 'meta.json'))})]);
    outputs.select(['a', 'b']);
    outputs.emit({ type: 'start', image: 'a' });
    process.exit(130);
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.is(child.status, 130, child.stderr);
  const doc = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  assert.is(doc[RUN_KEY]!['status'], 'interrupted');
  assert.is(doc['a']!['build-images.status'], 'failed', 'begun, never finished');
  assert.is(doc['a']!['build-images.reason'], 'interrupted while it was being built');
  assert.is(doc['b']!['build-images.status'], 'skipped');
  assert.is(doc['b']!['build-images.reason'], 'not built: interrupted');
  assert.equal(readdirSync(dir), ['meta.json']);
});

test('the runner says why an image was not built, and what each was built on', async () => {
  const prepared = prepareText(yaml`
images:
  base: { base: 'alpine:latest', tags: ['reg.test/base:1'], steps: [{ run: 'echo base' }] }
  app: { base: { image: base }, tags: ['reg.test/app:1'], steps: [{ run: 'echo app' }] }
  tool: { base: 'alpine:latest', tags: ['reg.test/tool:1'], steps: [{ run: 'echo tool' }] }
`);
  const engine = fakeEngine(['alpine:latest']);
  const services = fakeServices(engine);
  const { phases, selected } = planPhases(prepared.graph, []);
  await runPhases(prepared.plan, phases, selected, services, runOptions({ keepGoing: true }));
  const finish = (image: string) => services.events.find((e): e is Extract<RunEvent, { type: 'finish' }> => e.type === 'finish' && e.image === image)!;
  assert.is(finish('base').status, 'built');
  assert.equal(finish('base').base?.ref, 'alpine:latest');
  assert.ok(finish('base').base?.id);
  assert.equal(finish('app').base, { ref: 'reg.test/base:1', id: finish('base').id });

  engine.failBuildsWith = 'echo base';
  const failing = fakeServices(engine);
  await runPhases(prepared.plan, phases, selected, failing, runOptions({ noCache: true }));
  const failed = (image: string) => failing.events.find((e): e is Extract<RunEvent, { type: 'finish' }> => e.type === 'finish' && e.image === image)!;
  assert.is(failed('base').notBuilt, undefined, 'a real failure');
  assert.is(failed('app').notBuilt, 'dependency');
});

test.run();
