import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createTraceReader, failureMessage } from '../../pipeline/engine/buildkit/trace.ts';
import type { BuildProgress, BuildStep } from '../../pipeline/engine/engine.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/buildkit/${name}`, import.meta.url), 'utf8').split('\n');

function read(lines: string[]) {
  const events: BuildProgress[] = [];
  const reader = createTraceReader((e) => events.push(e));
  for (const line of lines) reader.line(line);
  const outcome = reader.end();
  const steps = new Map<string, BuildStep>();
  for (const e of events) if (e.kind === 'step') steps.set(e.step.id, e.step);
  const names = new Map(events.flatMap((e) => (e.kind === 'step' ? [[e.step.id, e.step.name] as const] : [])));
  const logs = events.flatMap((e) => (e.kind === 'log' && e.stepId !== undefined ? [`${names.get(e.stepId) ?? e.stepId} | ${e.line}`] : []));
  return { events, outcome, steps: [...steps.values()], logs };
}

test('a successful build gives the image ID, every step with its timings, and no error', () => {
  const { outcome, steps } = read(fixture('build-ok.ndjson'));
  assert.equal(outcome.imageId, 'sha256:21a6c32976615a9b149d3544222fe052437c79f6e1cec5b7eb885565ca59d406');
  assert.is(outcome.error, undefined);
  assert.is(outcome.failedStep, undefined);
  const names = steps.map((s) => s.name);
  for (const name of [
    '[1/4] FROM docker.io/library/bk-capture-base:1',
    '[2/4] COPY a.txt /opt/a.txt',
    '[3/4] RUN echo hello-out && echo to-err >&2 && ls /opt',
    '[4/4] RUN echo second',
    'exporting to image',
  ]) {
    assert.ok(names.includes(name), name);
  }
  for (const step of steps) {
    assert.ok(step.id.startsWith('sha256:'), step.id);
    assert.type(step.started, 'number', step.name);
    assert.ok(step.completed! >= step.started!, step.name);
  }
  const run = steps.find((s) => s.name === '[4/4] RUN echo second')!;
  assert.ok(run.completed! - run.started! < 60_000);
  assert.ok(Math.abs(run.started! - Date.UTC(2026, 11, 2, 15, 40, 53)) < 86_400_000, 'timestamps in ms epoch');
});

test('RUN output arrives as log lines of its step, stdout and stderr alike', () => {
  const { logs } = read(fixture('build-ok.ndjson'));
  assert.equal(logs, [
    '[3/4] RUN echo hello-out && echo to-err >&2 && ls /opt | to-err',
    '[3/4] RUN echo hello-out && echo to-err >&2 && ls /opt | hello-out',
    '[3/4] RUN echo hello-out && echo to-err >&2 && ls /opt | a.txt',
    '[4/4] RUN echo second | second',
  ]);
});

test('a step is sent again only when its state changes', () => {
  const { events } = read(fixture('build-ok.ndjson'));
  const keys = events.flatMap((e) => (e.kind === 'step' ? [JSON.stringify(e.step)] : []));
  assert.is(new Set(keys).size, keys.length);
  const states = events.filter((e) => e.kind === 'step' && e.step.name === '[4/4] RUN echo second');
  assert.is(states.length, 3, 'announced, started, completed');
});

// BuildKit words a failing RUN its own way per version; the tool passes the engine's text through.
for (const [file, wording] of [
  ['build-run-fails.ndjson', 'executor failed running [/bin/sh -c echo failing-now && false]: exit code: 1'], // Engine 20.10, BuildKit 0.8
  ['build-run-fails-28.ndjson', 'process "/bin/sh -c echo failing-now && false" did not complete successfully: exit code: 1'], // Engine 28
]) {
  test(`a failing RUN names its step and the engine message, and has no image (${file})`, () => {
    const { outcome, logs } = read(fixture(file!));
    assert.is(outcome.imageId, undefined);
    assert.is(outcome.failedStep?.name, '[3/4] RUN echo failing-now && false');
    assert.is(failureMessage(outcome), `[3/4] RUN echo failing-now && false: ${wording}`);
    assert.ok(logs.includes('[3/4] RUN echo failing-now && false | failing-now'));
    assert.not.ok(logs.some((l) => l.includes('never')));
  });
}

test('output split across chunks is joined into whole lines; a last line without newline is flushed', async () => {
  const { default: protobuf } = await import('protobufjs');
  const writer = protobuf.Root.fromJSON({
    nested: {
      S: { fields: { logs: { rule: 'repeated', type: 'L', id: 3 } } },
      L: { fields: { vertex: { type: 'string', id: 1 }, stream: { type: 'int64', id: 3 }, msg: { type: 'bytes', id: 4 } } },
    },
  }).lookupType('S');
  const line = (msg: string) =>
    JSON.stringify({
      id: 'moby.buildkit.trace',
      aux: Buffer.from(writer.encode({ logs: [{ vertex: 'sha256:v', stream: 1, msg: Buffer.from(msg) }] }).finish()).toString('base64'),
    });
  const { logs } = read([line('hel'), line('lo\nwor'), line('ld\r\nlast')]);
  assert.equal(logs, ['sha256:v | hello', 'sha256:v | world', 'sha256:v | last']);
});

test('lines that are not JSON or not BuildKit are shown, not dropped', () => {
  const { events, outcome } = read(['not json', '{"stream":"plain text\\n"}', '{"id":"moby.buildkit.trace","aux":"!!!"}', '{"error":"bare error"}']);
  assert.equal(events.slice(0, 2), [
    { kind: 'log', line: 'not json' },
    { kind: 'log', line: 'plain text' },
  ]);
  assert.is(failureMessage(outcome), 'bare error');
});

test.run();
