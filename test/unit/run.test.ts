// The runner against an in-memory engine: scheduling, phases, deploy's rules, push retries.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planPhases } from '../../pipeline/plan/phases.ts';
import { runPhases } from '../../pipeline/run/run-phases.ts';
import type { RunEvent } from '../../pipeline/run/events.ts';
import type { RunOptions } from '../../pipeline/run/services.ts';
import { prepareText, yaml } from '../support/config.ts';
import { fakeEngine, fakeServices, runOptions, type FakeEngine } from '../support/fake-engine.ts';
import { tempDir } from '../support/temp.ts';
import { parseConfig } from '../../pipeline/config/load-config.ts';
import { prepareLoaded } from '../../pipeline/config/prepare.ts';

const CONFIG = yaml`
images:
  base: { base: 'alpine:latest', tags: ['reg.test/base:1'], steps: [{ run: 'echo base' }] }
  app: { base: { image: base }, tags: ['reg.test/app:1'], steps: [{ run: 'echo app' }] }
  tool: { base: 'alpine:latest', tags: ['reg.test/tool:1'], steps: [{ run: 'echo tool' }] }
  extra: { base: 'alpine:latest', tags: ['reg.test/extra:1'], steps: [{ run: 'echo extra' }] }
`;

async function run(targets: string[], engine: FakeEngine, options: Partial<RunOptions> = {}, config = CONFIG) {
  const prepared = prepareText(config);
  const { phases, selected } = planPhases(prepared.graph, targets);
  const services = fakeServices(engine);
  const outcome = await runPhases(prepared.plan, phases, selected, services, runOptions(options));
  const finish = (image: string) => services.events.find((e): e is Extract<RunEvent, { type: 'finish' }> => e.type === 'finish' && e.image === image);
  return { outcome, events: services.events, slept: services.slept, finish };
}

const pushes = (engine: FakeEngine) => engine.calls.filter((c) => c.startsWith('push '));

test('an image whose base failed is not built, and says which', async () => {
  const engine = fakeEngine(['alpine:latest']);
  engine.failBuildsWith = 'echo base';
  const { outcome, finish } = await run(['app'], engine);
  assert.is(outcome.ok, false);
  assert.is(finish('base')!.status, 'failed');
  assert.is(finish('app')!.error, 'not built: base failed');
  assert.not.ok(
    engine.calls.some((c) => c.includes('FROM reg.test/base:1')),
    'app was never sent to the builder',
  );
});

test('after a failure nothing new starts, unless --keep-going', async () => {
  const stopped = fakeEngine(['alpine:latest']);
  stopped.failBuildsWith = 'echo tool';
  const first = await run(['tool', 'extra'], stopped, { concurrency: 1 });
  assert.match(first.finish('extra')!.error!, /the run stopped after tool failed/);
  assert.is(first.finish('extra')!.hint, 'use --keep-going to build what does not depend on it');

  const going = fakeEngine(['alpine:latest']);
  going.failBuildsWith = 'echo tool';
  const second = await run(['tool', 'extra'], going, { concurrency: 1, keepGoing: true });
  assert.is(second.finish('extra')!.status, 'built');
  assert.is(second.outcome.ok, false, 'a run with a failure is not ok, kept going or not');
});

test('at most --concurrency builds run at once', async () => {
  for (const concurrency of [1, 2, 3]) {
    const engine = fakeEngine(['alpine:latest']);
    await run(['base', 'tool', 'extra'], engine, { concurrency });
    assert.is(engine.maxConcurrentBuilds, concurrency, `with --concurrency ${concurrency}`);
  }
});

test('host commands take no build slot: an image’s Go build runs while another image builds', async () => {
  const project = await tempDir('bi-slots-');
  const config = yaml`
images:
  tool: { base: 'alpine:latest', tags: ['reg.test/tool:1'], steps: [{ run: 'echo tool' }] }
  gen: { base: 'alpine:latest', tags: ['reg.test/gen:1'], steps: [{ command: { run: 'touch out.txt', outputs: [out.txt] } }, { run: 'echo gen' }] }
`;
  const prepared = prepareLoaded(parseConfig(config, 'build.config.yaml', project), {}, { USER: 'alice' });
  const { phases, selected } = planPhases(prepared.graph, ['tool', 'gen']);
  const engine = fakeEngine(['alpine:latest']);
  let release = () => {};
  engine.holdBuilds = new Promise((resolve) => (release = resolve));
  const services = fakeServices(engine);
  const running = runPhases(prepared.plan, phases, selected, services, runOptions({ concurrency: 1 }));
  const commandRan = () => services.events.some((e) => e.type === 'command' && e.image === 'gen' && e.status === 'ran');
  for (let waited = 0; !commandRan() && waited < 5000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(commandRan(), 'gen’s command ran while tool held the one build slot');
  assert.not.ok(
    services.events.some((e) => e.type === 'finish'),
    'no image had finished',
  );
  release();
  assert.ok((await running).ok);
});

test('an image built again with the same inputs is up to date, and the engine builds nothing', async () => {
  const engine = fakeEngine(['alpine:latest']);
  await run(['app'], engine);
  const builds = engine.calls.length;
  const again = await run(['app'], engine);
  assert.is(again.finish('app')!.status, 'skipped');
  assert.is(engine.calls.length, builds);
});

/** One image whose tag changes every run, as ONAP's timestamped one does, its version fixed. */
const timestamped = (tag: string) => yaml`
images:
  tool: { base: 'alpine:latest', tags: ['${tag}'], version: 1.5.0, steps: [{ run: 'echo tool' }] }
`;

test('a new tag on unchanged inputs (ONAP’s timestamped tag, its version fixed) goes on the image they made: no build', async () => {
  const engine = fakeEngine(['alpine:latest']);
  await run(['tool'], engine, {}, timestamped('reg.test/tool:1.5.0-20190101T000000Z'));
  engine.calls.length = 0;
  const again = await run(['tool'], engine, {}, timestamped('reg.test/tool:1.5.0-20190102T000000Z'));
  assert.is(again.finish('tool')!.status, 'skipped');
  assert.equal(engine.calls, ['tag reg.test/tool:1.5.0-20190102T000000Z']);
});

test('an earlier image of these inputs found only by listing: the build begun meanwhile is called off unseen, the image tagged', async () => {
  const engine = fakeEngine(['alpine:latest']);
  await run(['tool'], engine, {}, timestamped('reg.test/tool:1.5.0-20190101T000000Z'));
  const made = await engine.images.inspectImage('reg.test/tool:1.5.0-20190101T000000Z');
  // Nothing remembered; the listing takes its time, and the build would take longer.
  const { findImage } = engine.images;
  engine.images.knownImage = async () => undefined;
  engine.images.findImage = async (label, value) => (await new Promise((resolve) => setTimeout(resolve, 20)), findImage(label, value));
  engine.holdBuilds = new Promise(() => {});
  engine.calls.length = 0;
  const again = await run(['tool'], engine, {}, timestamped('reg.test/tool:1.5.0-20190102T000000Z'));
  assert.is(again.finish('tool')!.status, 'skipped');
  assert.is(again.finish('tool')!.id, made!.id);
  assert.equal(engine.calls, ['build FROM alpine:latest', 'tag reg.test/tool:1.5.0-20190102T000000Z'], 'begun, called off, then tagged');
  assert.not.ok(
    again.events.some((e) => e.type === 'step'),
    'the build called off shows no step',
  );
});

/** ONAP's timestamped image with a build arg, in a repository of its own. */
const timestampedWith = (repository: string, tag: string, flavor: string) => yaml`
images:
  tool: { base: 'alpine:latest', tags: ['${repository}:${tag}'], version: 1.5.0, args: { FLAVOR: '${flavor}' }, steps: [{ run: 'echo tool' }] }
`;

test('a rebuild under a new timestamped tag is told against the newest earlier image of the config image, not "no image yet"', async () => {
  const engine = fakeEngine(['alpine:latest']);
  await run(['tool'], engine, {}, timestampedWith('reg.test/tool', '1.5.0-20190101T000000Z', 'mild'));
  await run(['tool'], engine, {}, timestampedWith('reg.test/tool', '1.5.0-20190102T000000Z', 'hot'));
  const third = await run(['tool'], engine, {}, timestampedWith('reg.test/tool', '1.5.0-20190103T000000Z', 'mild'));
  assert.is(third.finish('tool')!.status, 'skipped', 'the first image is taken again');
  const fourth = await run(['tool'], engine, {}, timestampedWith('reg.test/tool', '1.5.0-20190104T000000Z', 'spicy'));
  assert.is(fourth.finish('tool')!.status, 'built');
  assert.is(fourth.finish('tool')!.reason, 'build args changed (FLAVOR)');
});

test('an image of the same config name in another repository (another project) is no earlier image of this one', async () => {
  const engine = fakeEngine(['alpine:latest']);
  await run(['tool'], engine, {}, timestampedWith('other.test/tool', '1.5.0-20190101T000000Z', 'mild'));
  const ours = await run(['tool'], engine, {}, timestampedWith('reg.test/tool', '1.5.0-20190102T000000Z', 'hot'));
  assert.is(ours.finish('tool')!.reason, 'no image yet');
});

test('with nothing found, the build begun beside the listing goes on, its steps shown', async () => {
  const engine = fakeEngine(['alpine:latest']);
  engine.images.knownImage = async () => undefined;
  const { events, finish } = await run(['tool'], engine);
  assert.is(finish('tool')!.status, 'built');
  assert.ok(events.some((e) => e.type === 'step' && e.image === 'tool'));
});

test('an image’s other tags in the registry its first went to are put there from that manifest, not pushed again', async () => {
  const engine = fakeEngine(['alpine:latest']);
  const config = CONFIG.replace("tags: ['reg.test/tool:1']", "tags: ['reg.test/tool:1', 'reg.test/tool:stable', 'other.test/tool:1']");
  const { events } = await run(['tool', 'deploy'], engine, {}, config);
  assert.equal(pushes(engine), ['push reg.test/tool:1', 'push other.test/tool:1'], 'another registry is pushed to by the engine');
  const stable = events.find((e) => e.type === 'push' && e.tag === 'reg.test/tool:stable');
  assert.equal(stable, { type: 'push', image: 'tool', tag: 'reg.test/tool:stable', status: 'tagged', digest: engine.registry.get('reg.test/tool:1') });
});

test('a tag the registry would not take from the first one’s manifest is pushed by the engine', async () => {
  const engine = fakeEngine(['alpine:latest']);
  engine.refusesTags = true;
  const config = CONFIG.replace("tags: ['reg.test/tool:1']", "tags: ['reg.test/tool:1', 'reg.test/tool:stable']");
  const { events } = await run(['tool', 'deploy'], engine, {}, config);
  assert.equal(pushes(engine), ['push reg.test/tool:1', 'push reg.test/tool:stable']);
  assert.ok(events.some((e) => e.type === 'push' && e.tag === 'reg.test/tool:stable' && e.status === 'pushed'));
});

/** A fresh runner: an engine with the bases only, and the registry the last job pushed to. */
function freshRunner(last: FakeEngine): FakeEngine {
  const engine = fakeEngine(['alpine:latest']);
  engine.remote = last.remote;
  engine.registry = last.registry;
  return engine;
}

test('on a fresh runner, an image the registry holds with these inputs is neither built nor pushed; its missing tag is made there', async () => {
  const last = fakeEngine(['alpine:latest']);
  await run(['deploy'], last);
  const fresh = freshRunner(last);
  const { finish, events } = await run(['deploy', 'deploy_latest'], fresh);
  assert.is(finish('app')!.status, 'skipped');
  assert.equal(finish('app')!.registry, { name: 'reg.test', digest: last.registry.get('reg.test/app:1') });
  assert.match(finish('app')!.reason!, /^up to date in reg\.test: reg\.test\/app:1 carries the same inputs digest$/);
  assert.not.ok(
    fresh.calls.some((c) => /^(build|push|pull) /.test(c)),
    fresh.calls.join('\n'),
  );
  const pushes = events.filter((e) => e.type === 'push');
  assert.ok(pushes.some((e) => e.type === 'push' && e.tag === 'reg.test/app:1' && e.status === 'present'));
  assert.ok(pushes.some((e) => e.type === 'push' && e.tag === 'reg.test/app:latest' && e.status === 'tagged'));
  assert.is(fresh.remote.get('reg.test/app:latest')!.digest, last.registry.get('reg.test/app:1'));
});

test('an image built on one up to date in the registry pulls that one only when it must be built itself', async () => {
  const last = fakeEngine(['alpine:latest']);
  await run(['deploy'], last);
  const fresh = freshRunner(last);
  const changedApp = CONFIG.replace("run: 'echo app'", "run: 'echo app, changed'");
  const { finish } = await run(['deploy'], fresh, {}, changedApp);
  assert.is(finish('base')!.status, 'skipped');
  assert.ok(finish('base')!.registry);
  assert.is(finish('app')!.status, 'built');
  assert.is(finish('app')!.reason, 'steps changed (the generated Dockerfile differs)', 'told against the image the registry holds');
  const digest = last.registry.get('reg.test/base:1');
  assert.ok(fresh.calls.includes(`pull reg.test/base@${digest}`), fresh.calls.join('\n'));
});

test('--no-registry-check (registryCheck false) asks no registry', async () => {
  const last = fakeEngine(['alpine:latest']);
  await run(['deploy'], last);
  const fresh = freshRunner(last);
  const { finish } = await run(['deploy'], fresh, { registryCheck: false });
  assert.is(finish('app')!.status, 'built');
  assert.not.ok(fresh.calls.some((c) => c.startsWith('registry ')));
});

test('phases run in the line’s order: deploy builds what it pushes first, rmi comes last', async () => {
  const engine = fakeEngine(['alpine:latest']);
  await run(
    ['deploy', 'rmi'],
    engine,
    {},
    yaml`
images:
  tool: { base: 'alpine:latest', tags: ['reg.test/tool:1'], steps: [{ run: 'echo tool' }] }
`,
  );
  assert.equal(engine.calls, [
    'registry reg.test/tool:1',
    'build FROM alpine:latest',
    'tag reg.test/tool:1',
    'push reg.test/tool:1',
    'untag reg.test/tool:1',
    'untag reg.test/tool:latest',
  ]);
});

test('deploy is all or nothing: one image failed, nothing is pushed; --push-partial pushes the rest', async () => {
  const engine = fakeEngine(['alpine:latest']);
  engine.failBuildsWith = 'echo tool';
  const none = await run(['tool', 'extra', 'deploy'], engine, { keepGoing: true });
  assert.equal(pushes(engine), []);
  const summary = none.events.find((e) => e.type === 'summary') as Extract<RunEvent, { type: 'summary' }>;
  assert.equal(summary.notPushed.sort(), ['reg.test/extra:1', 'reg.test/tool:1']);

  const partial = fakeEngine(['alpine:latest']);
  partial.failBuildsWith = 'echo tool';
  await run(['tool', 'extra', 'deploy'], partial, { keepGoing: true, pushPartial: true });
  assert.equal(pushes(partial), ['push reg.test/extra:1']);
});

test('a tag the registry already has for this very image is not pushed again', async () => {
  const engine = fakeEngine(['alpine:latest']);
  await run(['tool', 'deploy'], engine);
  const again = await run(['tool', 'deploy'], engine);
  assert.equal(pushes(engine), ['push reg.test/tool:1']);
  assert.ok(again.events.some((e) => e.type === 'push' && e.status === 'present' && e.tag === 'reg.test/tool:1'));
});

test('a push that fails with a passing server error is retried, with growing waits; a refusal is not', async () => {
  const engine = fakeEngine(['alpine:latest']);
  engine.pushFailures.set('reg.test/tool:1', { times: 2, message: 'received unexpected HTTP status: 500 Internal Server Error' });
  const retried = await run(['tool', 'deploy'], engine);
  assert.is(retried.outcome.ok, true);
  assert.equal(pushes(engine).length, 3);
  assert.equal(retried.slept, [500, 1000]);

  const refused = fakeEngine(['alpine:latest']);
  refused.pushFailures.set('reg.test/tool:1', { times: -1, message: 'unauthorized: authentication required' });
  const once = await run(['tool', 'deploy'], refused);
  assert.is(once.outcome.ok, false);
  assert.equal(pushes(refused).length, 1);
});

test('a push whose failure took the engine its own retries (~50 s) is not retried on top; quick failures get all four attempts', async () => {
  const slow = fakeEngine(['alpine:latest']);
  slow.pushFailures.set('reg.test/tool:1', { times: -1, message: 'received unexpected HTTP status: 500 Internal Server Error', takesMs: 50_000 });
  const once = await run(['tool', 'deploy'], slow);
  assert.is(once.outcome.ok, false);
  assert.equal(pushes(slow).length, 1, 'not retried after the engine spent 50 s');
  const quick = fakeEngine(['alpine:latest']);
  quick.pushFailures.set('reg.test/tool:1', { times: -1, message: 'unexpected status from HEAD request: 500 Internal Server Error', takesMs: 100 });
  const four = await run(['tool', 'deploy'], quick);
  assert.is(four.outcome.ok, false);
  assert.equal(pushes(quick).length, 4);
  assert.ok(quick.clock < 20_000 + 100, `bounded: ${quick.clock} ms`);
});

test('the build cache is pruned to its limit after a run that built, and not after one that built nothing', async () => {
  const engine = fakeEngine(['alpine:latest']);
  const built = await run(['tool'], engine, { cacheLimit: 4096 });
  assert.ok(engine.calls.includes('prune 4096'));
  assert.ok(built.events.some((e) => e.type === 'cache' && e.reclaimed === 1024 && e.limit === 4096));
  engine.calls.length = 0;
  await run(['tool'], engine, { cacheLimit: 4096 });
  assert.equal(engine.calls, [], 'an up-to-date image asks for no prune');
});

test('clean refuses an output reached through a link in the project, and removes one that is not', async () => {
  const { mkdir, symlink, writeFile, readFile } = await import('node:fs/promises');
  const path = await import('node:path');
  const outside = await tempDir('bi-outside-');
  await writeFile(path.join(outside, 'precious'), 'keep me');
  const project = await tempDir('bi-clean-');
  await mkdir(path.join(project, 'bin'));
  await writeFile(path.join(project, 'bin/tool'), 'built');
  await symlink(outside, path.join(project, 'escape'));
  const config = (output: string) => yaml`
images:
  tool: { base: 'alpine:latest', tags: ['reg.test/tool:1'], steps: [{ command: { run: make, outputs: ['${output}'] } }] }
`;
  const { cleanOutputs } = await import('../../pipeline/run/actions.ts');
  const { parseConfig } = await import('../../pipeline/config/load-config.ts');
  const { prepareLoaded } = await import('../../pipeline/config/prepare.ts');
  const planOf = (output: string) => prepareLoaded(parseConfig(config(output), 'build.config.yaml', project), {}, { USER: 'alice' }).plan.images.get('tool')!;
  const services = fakeServices(fakeEngine());
  await cleanOutputs([planOf('escape/precious')], services, project).then(
    () => assert.unreachable('it removed through the link'),
    (err: Error) => assert.match(err.message, /reached through the symbolic link .*escape; not removed/),
  );
  assert.is(await readFile(path.join(outside, 'precious'), 'utf8'), 'keep me');
  await cleanOutputs([planOf('bin/tool')], services, project);
  assert.is(await readFile(path.join(project, 'bin/tool'), 'utf8').catch(() => 'gone'), 'gone');
});

test.run();
