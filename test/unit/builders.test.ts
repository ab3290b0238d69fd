// Builders on other machines (issue 23, item 4): where the pool places images, and what a run with two
// in-memory engines does with them; the endpoints and BUILD_IMAGES_BUILDERS as a user writes them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chooseBuilder, type BuilderState } from '../../pipeline/run/builder-pool.ts';
import { planPhases } from '../../pipeline/plan/phases.ts';
import { runPhases } from '../../pipeline/run/run-phases.ts';
import type { RunEvent } from '../../pipeline/run/events.ts';
import type { RunOptions } from '../../pipeline/run/services.ts';
import type { BuildMachine } from '../../pipeline/engine/engine.ts';
import { RunError, UserError } from '../../pipeline/model/errors.ts';
import { chosenBuilders } from '../../pipeline/config/builders-env.ts';
import { builderEndpoint, connect } from '../../pipeline/engine/builder-endpoint.ts';
import { parseSshEndpoint, sshDialCommand, sshSocket } from '../../pipeline/engine/docker/ssh-dial.ts';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { createBuilders } from '../../pipeline/engine/create-builders.ts';
import { problemsOf, prepareText, yaml } from '../support/config.ts';
import { fakeEngine, fakeServices, runOptions, type FakeEngine } from '../support/fake-engine.ts';

const state = (name: string, load: number, capacity = 2, extra: Partial<BuilderState> & { platforms?: string[] } = {}): BuilderState => ({
  machine: { name, capacity, ...(extra.platforms ? { platforms: extra.platforms } : {}) },
  load,
  lost: extra.lost ?? false,
});

test('an image goes where the free capacity is largest; a tie goes to the first builder', () => {
  assert.is(chooseBuilder([state('a', 0), state('b', 0)], {}), 'a');
  assert.is(chooseBuilder([state('a', 1), state('b', 0)], {}), 'b');
  // In-flight per slot: 2 of 4 is freer than 1 of 1.
  assert.is(chooseBuilder([state('a', 1, 1), state('b', 2, 4)], {}), 'b');
});

test('an image built on a graph image goes with it; a builder that is gone takes nothing', () => {
  assert.is(chooseBuilder([state('a', 0), state('b', 5)], { with: 'b' }), 'b', 'affinity over free capacity');
  assert.throws(
    () => chooseBuilder([state('a', 0), state('b', 0, 2, { lost: true })], { with: 'b' }),
    (err: Error) => err instanceof RunError && err.message === 'not built: builder b, which holds its base, is gone',
  );
  assert.is(chooseBuilder([state('a', 0, 2, { lost: true }), state('b', 3)], {}), 'b');
  assert.throws(
    () => chooseBuilder([state('a', 0, 2, { lost: true })], {}),
    (err: Error) => err.message === 'not built: every builder is gone (a)',
  );
});

test('an image built on what a buildkitd built goes to the local engine it was loaded into; without that engine among the builders it is not built', () => {
  const kit = (loadsInto: { builder?: string }): BuilderState => ({ machine: { name: 'kit', capacity: 4, loadsInto }, load: 0, lost: false });
  assert.is(chooseBuilder([kit({ builder: 'here' }), state('here', 5)], { with: 'kit' }), 'here', 'not the buildkitd, which reads bases from registries');
  assert.throws(
    () => chooseBuilder([kit({}), state('far', 0)], { with: 'kit' }),
    (err: Error) =>
      err instanceof RunError &&
      err.message === 'not built: its base was built by buildkitd kit and is in the local engine, which a buildkitd cannot build on' &&
      /add the local engine \(DOCKER_HOST\)/.test(err.hint ?? ''),
  );
  assert.throws(
    () => chooseBuilder([kit({ builder: 'here' }), state('here', 0, 2, { lost: true })], { with: 'kit' }),
    (err: Error) => err.message === 'not built: builder here, which holds its base, is gone',
  );
});

test('an image goes where its earlier build is, even when that builder is busy (elsewhere it would build again)', () => {
  assert.is(chooseBuilder([state('a', 0), state('b', 1)], { prefer: new Set(['b']) }), 'b');
  assert.is(chooseBuilder([state('a', 0), state('b', 2)], { prefer: new Set(['b']) }), 'b', 'a full builder is waited for');
  assert.is(chooseBuilder([state('a', 2), state('b', 1)], { prefer: new Set(['a', 'b']) }), 'b', 'among those holding it, the freest');
  assert.is(chooseBuilder([state('a', 0, 2, { lost: true }), state('b', 1)], { prefer: new Set(['a']) }), 'b', 'not one that is gone');
});

test('an image for a platform goes only to a builder that builds for it', () => {
  const states = [state('amd', 0, 2, { platforms: ['linux/amd64'] }), state('arm', 3, 2, { platforms: ['linux/arm64'] })];
  assert.is(chooseBuilder(states, { platform: 'linux/arm64' }), 'arm');
  assert.is(chooseBuilder([...states, state('any', 9)], { platform: 'linux/s390x' }), 'any', 'a builder without platforms takes any');
  assert.throws(
    () => chooseBuilder(states, { platform: 'linux/s390x' }),
    (err: Error) => err instanceof RunError && err.message === 'not built: no builder that is still there builds for linux/s390x',
  );
});

test('an image of several platforms goes only to a builder that builds every one of them', () => {
  const states = [state('amd', 0, 2, { platforms: ['linux/amd64'] }), state('both', 3, 2, { platforms: ['linux/amd64', 'linux/arm64'] })];
  assert.is(chooseBuilder(states, { platforms: ['linux/amd64', 'linux/arm64'] }), 'both');
  assert.throws(
    () => chooseBuilder([states[0]!], { platforms: ['linux/amd64', 'linux/arm64'] }),
    (err: Error) => err instanceof RunError && err.message === 'not built: no builder that is still there builds for linux/amd64 and linux/arm64',
  );
});

const CONFIG = yaml`
images:
  base: { base: 'alpine:latest', tags: ['reg.test/base:1'], steps: [{ run: 'echo base' }] }
  app: { base: { image: base }, tags: ['reg.test/app:1'], steps: [{ run: 'echo app' }] }
  tool: { base: 'alpine:latest', tags: ['reg.test/tool:1'], steps: [{ run: 'echo tool' }] }
  extra: { base: 'alpine:latest', tags: ['reg.test/extra:1'], steps: [{ run: 'echo extra' }] }
`;

const machine = (name: string, engine: FakeEngine, capacity = 1): BuildMachine => ({ name, images: engine.images, builder: engine.builder, capacity });

async function runOn(targets: string[], machines: BuildMachine[], options: Partial<RunOptions> = {}) {
  const prepared = prepareText(CONFIG);
  const { phases, selected } = planPhases(prepared.graph, targets);
  const services = fakeServices(fakeEngine(), { images: machines[0]!.images, builder: machines[0]!.builder, machines });
  const outcome = await runPhases(prepared.plan, phases, selected, services, runOptions(options));
  const finish = (image: string) => services.events.find((e): e is Extract<RunEvent, { type: 'finish' }> => e.type === 'finish' && e.image === image)!;
  return { outcome, finish, events: services.events };
}

const builds = (engine: FakeEngine) => engine.calls.filter((c) => c.startsWith('build ')).map((c) => c.replace('build FROM ', ''));

test('a graph over two engines: both build, an image goes with its base, each takes its capacity', async () => {
  const a = fakeEngine(['alpine:latest']);
  const b = fakeEngine(['alpine:latest']);
  const { outcome, finish } = await runOn(['app', 'tool', 'extra'], [machine('a', a), machine('b', b)]);
  assert.ok(outcome.ok);
  assert.ok(builds(a).length > 0 && builds(b).length > 0, `both built: a ${builds(a)}, b ${builds(b)}`);
  assert.is(finish('app').builder, finish('base').builder, 'app is built where base is');
  const holder = finish('base').builder === 'a' ? a : b;
  assert.ok(builds(holder).includes('reg.test/base:1'), 'FROM the base on the engine that has it');
  assert.is(a.maxConcurrentBuilds, 1);
  assert.is(b.maxConcurrentBuilds, 1);
});

test('the plain log says where an image builds', async () => {
  const { formatEvent } = await import('../../pipeline/report/format.ts');
  assert.equal(formatEvent({ type: 'start', image: 'app', builder: 'big' }, false), [{ image: 'app', text: 'building on big' }]);
  assert.equal(formatEvent({ type: 'start', image: 'app' }, false), [{ image: 'app', text: 'building' }]);
});

test('with no builders configured, events name none (today’s run)', async () => {
  const engine = fakeEngine(['alpine:latest']);
  const prepared = prepareText(CONFIG);
  const { phases, selected } = planPhases(prepared.graph, ['tool']);
  const services = fakeServices(engine);
  await runPhases(prepared.plan, phases, selected, services, runOptions());
  const finish = services.events.find((e) => e.type === 'finish')!;
  assert.is('builder' in finish, false);
});

/** An engine that stops answering after its first build has started, as a killed dockerd. */
function vanishing(engine: FakeEngine): FakeEngine {
  const build = engine.builder.build.bind(engine.builder);
  let gone = false;
  engine.images.ping = async () => {
    if (gone) throw new RunError('cannot reach the Docker engine at tcp://b (ECONNREFUSED)');
  };
  engine.builder = {
    ...engine.builder,
    build: async (request) => {
      if (gone) throw new RunError('cannot reach the Docker engine at tcp://b (ECONNREFUSED)');
      gone = true;
      await build(request).catch(() => {});
      throw new RunError('building: the Docker engine at tcp://b closed the connection (ECONNRESET)');
    },
  };
  return engine;
}

test('a builder that vanishes costs only its images: with --keep-going the rest build on the other', async () => {
  const a = fakeEngine(['alpine:latest']);
  const b = vanishing(fakeEngine(['alpine:latest']));
  const { outcome, finish } = await runOn(['app', 'tool', 'extra'], [machine('a', a), machine('b', b)], { keepGoing: true });
  assert.is(outcome.ok, false);
  const onB = ['base', 'tool', 'extra'].filter((name) => finish(name).builder === 'b');
  assert.is(onB.length, 1, 'one image was placed on b before it vanished');
  const lost = finish(onB[0]!);
  assert.is(lost.status, 'failed');
  assert.match(lost.error!, /^on builder b: building: the Docker engine at tcp:\/\/b closed the connection \(ECONNRESET\) \(builder b is gone\)$/);
  for (const name of ['base', 'app', 'tool', 'extra'].filter((n) => !onB.includes(n) && !(onB[0] === 'base' && n === 'app'))) {
    assert.is(finish(name).status, 'built', `${name} built`);
    assert.is(finish(name).builder, 'a', `${name} on a`);
  }
});

test('without --keep-going a vanished builder stops the run as any failure does', async () => {
  const a = fakeEngine(['alpine:latest']);
  a.holdBuilds = new Promise((resolve) => setTimeout(resolve, 30));
  const b = vanishing(fakeEngine(['alpine:latest']));
  const { finish } = await runOn(['tool', 'extra', 'base'], [machine('a', a), machine('b', b)]);
  const failedOnB = ['tool', 'extra', 'base'].find((n) => finish(n).builder === 'b')!;
  assert.match(finish(failedOnB).error!, /builder b is gone/);
  const stopped = ['tool', 'extra', 'base'].filter((n) => finish(n).notBuilt === 'stopped');
  assert.ok(stopped.length >= 1, 'what had not started did not start');
});

test('deploy pushes each image from the engine that holds it', async () => {
  const a = fakeEngine(['alpine:latest']);
  const b = fakeEngine(['alpine:latest']);
  const { outcome, finish } = await runOn(['deploy', 'tool', 'extra'], [machine('a', a), machine('b', b)]);
  assert.ok(outcome.ok);
  for (const name of ['tool', 'extra']) {
    const holder = finish(name).builder === 'a' ? a : b;
    const other = holder === a ? b : a;
    assert.ok(holder.calls.includes(`push reg.test/${name}:1`), `${name} pushed from ${finish(name).builder}`);
    assert.not.ok(other.calls.includes(`push reg.test/${name}:1`));
  }
});

test('rmi removes the tags on every builder', async () => {
  const a = fakeEngine(['alpine:latest']);
  const b = fakeEngine(['alpine:latest']);
  await runOn(['rmi', 'tool'], [machine('a', a), machine('b', b)]);
  assert.ok(a.calls.includes('untag reg.test/tool:1') && b.calls.includes('untag reg.test/tool:1'));
});

test('builders in the config: names unique, tls for tcp:// only, endpoints by scheme, each at its line', () => {
  const problems = problemsOf(yaml`
builders:
  - { name: a, endpoint: 'unix:///var/run/docker.sock' }
  - { name: a, endpoint: 'tcp://10.0.0.5:2376' }
  - { name: c, endpoint: 'ssh://me@build', tls: { ca: ca.pem, cert: c.pem, key: k.pem } }
  - { name: d, endpoint: 'http://x' }
images:
  one: { base: 'alpine:latest', tags: ['reg.test/one:1'] }
`);
  assert.is(problems.length, 3, problems.join('\n'));
  assert.ok(
    problems.some((p) => /^3:\d+ a second builder named a/.test(p)),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => /^4:\d+ tls is for a tcp:\/\/ endpoint; ssh:\/\/ brings its own security/.test(p)),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => /^5:\d+ an endpoint is unix:\/\/\/path/.test(p)),
    problems.join('\n'),
  );
  const ok = prepareText(yaml`
builders:
  - { name: local, endpoint: 'unix:///var/run/docker.sock', capacity: 3 }
  - { name: kube, endpoint: 'tcp://buildkitd.ci:1234', kind: buildkitd }
images:
  one: { base: 'alpine:latest', tags: ['reg.test/one:1'] }
`);
  assert.equal(
    ok.config.builders?.map((b) => [b.name, b.kind, b.capacity]),
    [
      ['local', 'engine', 3],
      ['kube', 'buildkitd', undefined],
    ],
  );
});

test('BUILD_IMAGES_BUILDERS is over the config’s builders, checked as strictly', async () => {
  const config = { builders: [{ name: 'x', endpoint: 'unix:///x', kind: 'engine' as const }] };
  assert.equal(await chosenBuilders(config, '/project', {}), { list: config.builders, baseDir: '/project' });
  assert.is(await chosenBuilders({}, '/project', {}), undefined, 'none: DOCKER_HOST’s engine, as before');
  const env = { BUILD_IMAGES_BUILDERS: '[{"name":"a","endpoint":"tcp://h:2376","tls":{"ca":"c","cert":"d","key":"e"}}]' };
  assert.equal((await chosenBuilders(config, '/project', env, '/here'))?.list[0]?.name, 'a');
  assert.equal((await chosenBuilders(config, '/project', env, '/here'))?.baseDir, '/here');
  const problem = async (value: string) => {
    try {
      await chosenBuilders({}, '/p', { BUILD_IMAGES_BUILDERS: value });
    } catch (err) {
      if (err instanceof UserError) return err.problems.map((p) => p.message);
      throw err;
    }
    return [];
  };
  assert.match((await problem('[{name:'))[0]!, /^BUILD_IMAGES_BUILDERS is not JSON/);
  assert.equal(await problem('[{"name":"a","endpoint":"unix:///a"},{"name":"a","endpoint":"unix:///b"}]'), [
    'BUILD_IMAGES_BUILDERS[1].name: a second builder named a: each needs a name of its own',
  ]);
  assert.equal(await problem('[{"name":"a","endpoint":"unix:///a","capacity":0}]'), [
    'BUILD_IMAGES_BUILDERS[0].capacity: Too small: expected number to be >=1',
  ]);
});

test('a tcp:// builder with tls reads its files from the config’s directory; unreadable, it names them', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-tls-'));
  for (const name of ['ca.pem', 'cert.pem', 'key.pem']) await writeFile(path.join(dir, name), name);
  const endpoint = builderEndpoint(
    { name: 'remote', endpoint: 'tcp://10.0.0.5', kind: 'engine', tls: { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' } },
    dir,
  );
  assert.ok(endpoint.kind === 'direct' && 'protocol' in endpoint.connection && endpoint.connection.protocol === 'https');
  if (endpoint.kind === 'direct' && 'protocol' in endpoint.connection && endpoint.connection.protocol === 'https') {
    assert.is(endpoint.connection.port, 2376, 'TLS defaults to 2376, as the docker CLI');
    assert.is(endpoint.connection.ca.toString(), 'ca.pem');
  }
  assert.equal(builderEndpoint({ name: 'plain', endpoint: 'tcp://[::1]:2375', kind: 'engine' }, dir), {
    kind: 'direct',
    connection: { protocol: 'http', host: '::1', port: 2375 },
  });
  assert.throws(
    () => builderEndpoint({ name: 'r', endpoint: 'tcp://h:1', kind: 'engine', tls: { ca: 'missing.pem', cert: 'cert.pem', key: 'key.pem' } }, dir),
    (err: Error) => err instanceof UserError && err.message.includes(`builder r: its tls ca ${path.join(dir, 'missing.pem')} cannot be read`),
  );
});

test('ssh:// runs the command the docker CLI runs', () => {
  assert.equal(sshDialCommand(parseSshEndpoint('ssh://build@10.0.0.7:2222')), [
    'ssh',
    '-o',
    'ConnectTimeout=30',
    '-T',
    '-l',
    'build',
    '-p',
    '2222',
    '--',
    '10.0.0.7',
    'docker',
    'system',
    'dial-stdio',
  ]);
  assert.equal(sshDialCommand(parseSshEndpoint('ssh://host')), ['ssh', '-o', 'ConnectTimeout=30', '-T', '--', 'host', 'docker', 'system', 'dial-stdio']);
  // A host that would be an ssh option is no host.
  assert.throws(
    () => parseSshEndpoint('ssh://-oProxyCommand=x'),
    (err: Error) => err instanceof UserError,
  );
  assert.throws(
    () => parseSshEndpoint('ssh://me:secret@host'),
    (err: Error) => err instanceof UserError && /a password cannot go in the endpoint/.test(err.problems[0]!.hint!),
  );
});

test('an ssh that refuses ends only its connection, and what it said is kept for the error; a writer to it does not crash the run', async () => {
  // Stands in for ssh: says why on stderr and exits 255 without reading stdin, as a host key mismatch does.
  const refusing = ((_command: string, _args: string[], options: object) =>
    spawn('sh', ['-c', 'echo "Host key verification failed." >&2; exit 255'], options)) as unknown as typeof spawn;
  const { socketPath, lastError } = await sshSocket({ host: 'buildhost' }, refusing);
  const socket = net.connect(socketPath);
  socket.on('error', () => {});
  // A request larger than a pipe holds, written while ssh is gone: EPIPE on its stdin.
  socket.write(Buffer.alloc(1024 * 1024));
  await new Promise((resolve) => socket.on('close', resolve));
  assert.is(lastError(), 'Host key verification failed.');
});

test('a buildkitd is reached on its socket or its port, 1234 when none is given, as gRPC with no engine in between', async () => {
  const kube = { name: 'kube', endpoint: 'tcp://buildkitd', kind: 'buildkitd' as const };
  assert.equal(builderEndpoint(kube, '/'), { kind: 'buildkitd', connection: { protocol: 'http', host: 'buildkitd', port: 1234 } });
  const local = { name: 'here', endpoint: 'unix:///run/buildkit/buildkitd.sock', kind: 'buildkitd' as const };
  assert.equal(await connect(builderEndpoint(local, '/')), { connection: { socketPath: '/run/buildkit/buildkitd.sock' } });
});

test('--cache-limit prunes every builder’s cache', async () => {
  const a = fakeEngine(['alpine:latest']);
  const b = fakeEngine(['alpine:latest']);
  const { events } = await runOn(['tool', 'extra'], [machine('a', a), machine('b', b)], { cacheLimit: 1000 });
  assert.ok(a.calls.includes('prune 1000') && b.calls.includes('prune 1000'));
  assert.ok(
    events.some((e) => e.type === 'cache' && e.reclaimed === 2048),
    'what both freed, told once',
  );
});

test('a builder that does not answer at the start stops the run there, naming it', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-nobuilder-'));
  const missing = path.join(dir, 'no.sock');
  await createBuilders([{ name: 'far', endpoint: `unix://${missing}`, kind: 'engine' }], { baseDir: dir, capacity: 2 }).then(
    () => assert.unreachable('it has no engine'),
    (err: Error) => {
      assert.ok(err instanceof RunError);
      assert.is(err.message, `cannot reach the Docker engine at unix://${missing} (builder far) (ENOENT)`);
    },
  );
});

test.run();
