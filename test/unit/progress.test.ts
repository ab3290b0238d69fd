// Reading the engine's progress: NDJSON with errors inside a 200 answer, and the classic builder's text
// turned into the same step events BuildKit gives.
import { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { classicSteps } from '../../pipeline/engine/docker-classic/classic-steps.ts';
import { readProgress } from '../../pipeline/engine/docker/progress.ts';
import type { BuildProgress } from '../../pipeline/engine/engine.ts';

const ndjson = (...lines: unknown[]) => Readable.from(lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'));

test('an error inside the stream is the result, and a line that is not JSON is passed on, not fatal', async () => {
  const lines: string[] = [];
  const result = await readProgress(ndjson({ stream: 'Step 1/2 : FROM a\n' }, 'garbage {', { errorDetail: { message: 'no space left' }, error: 'x' }), (l) =>
    lines.push(l),
  );
  assert.is(result.error, 'no space left');
  assert.equal(lines, ['Step 1/2 : FROM a', 'garbage {']);
});

test('the image ID comes from the aux lines', async () => {
  const result = await readProgress(ndjson({ aux: { ID: 'sha256:abc' } }, { stream: 'Successfully built abc\n' }), () => {});
  assert.equal(result.aux, [{ ID: 'sha256:abc' }]);
});

test('classic steps: each Step starts one, the next completes it, cache hits are marked, output is the step’s', () => {
  const events: BuildProgress[] = [];
  let clock = 1000;
  const steps = classicSteps(
    (e) => events.push(e),
    () => (clock += 10),
  );
  for (const line of [
    'Step 1/3 : FROM base',
    ' ---> 1a2b',
    'Step 2/3 : COPY a /a',
    ' ---> Using cache',
    ' ---> 3c4d',
    'Step 3/3 : RUN make',
    ' ---> Running in 5e6f',
    'cc -o app app.c',
    'Removing intermediate container 5e6f',
  ]) {
    steps.onLine(line);
  }
  steps.finish();
  const completed = events
    .filter((e) => e.kind === 'step' && e.step.completed !== undefined)
    .map((e) => (e.kind === 'step' ? [e.step.name, e.step.cached] : []));
  assert.equal(completed, [
    ['Step 1/3 : FROM base', false],
    ['Step 2/3 : COPY a /a', true],
    ['Step 3/3 : RUN make', false],
  ]);
  assert.equal(
    events.filter((e) => e.kind === 'log'),
    [{ kind: 'log', stepId: 'step-3', line: 'cc -o app app.c' }],
  );
});

test('classic steps: a failure marks the running step and names it', () => {
  const events: BuildProgress[] = [];
  const steps = classicSteps((e) => events.push(e));
  steps.onLine('Step 2/3 : RUN exit 3');
  assert.is(steps.fail('exit code 3'), 'Step 2/3 : RUN exit 3');
  const last = events.at(-1)!;
  assert.ok(last.kind === 'step' && last.step.error === 'exit code 3');
});

test.run();
