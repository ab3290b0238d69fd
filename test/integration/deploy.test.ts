// Deploy is all or nothing per run, a re-run pushes only what is missing, and every rebuild says why.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cli, finishOf, project, summaryOf, type CliResult } from '../support/cli.ts';
import { buffer } from 'node:stream/consumers';
import { cleanup, docker, ensureStandIns, importImage, requireEngine, rootfs, RUN_ID, RUN_LABEL } from '../support/engine.ts';
import { freePort, PASSWORD, startRegistry, USER, type Registry } from '../support/registry.ts';

const test = suite('deploy and rebuild reasons');
const BASE = `bi-test-${RUN_ID}/base:1`;
let registry: Registry;
let second: Registry | undefined;
let secondPort = 0;
let dir = '';

const config = `
variables:
  REG_ONE: registry-one
  REG_TWO: registry-two
  FAIL_CMD: 'true'
  FLAVOR: plain
# The environment's credentials go to the registries named here, and to no other.
credentials:
  - { registry: '\${REG_ONE}', usernameVariable: DOCKER_HUB_USER, passwordVariable: DOCKER_HUB_PASSWD }
  - { registry: '\${REG_TWO}', usernameVariable: DOCKER_HUB_USER, passwordVariable: DOCKER_HUB_PASSWD }
images:
  one:
    base: ${BASE}
    tags: ['\${REG_ONE}/bi-${RUN_ID}/one:1']
    args: { FLAVOR: '\${FLAVOR}' }
    steps:
      - copy: { from: types, to: /types/ }
      - run: echo "$FLAVOR" > /flavor
  two:
    base: ubuntu:16.04
    tags: ['\${REG_TWO}/bi-${RUN_ID}/two:1']
    steps:
      - run: '\${FAIL_CMD}'
`;

test.before(async () => {
  await requireEngine();
  await ensureStandIns();
  await importImage(BASE, await rootfs(), { [RUN_LABEL]: RUN_ID });
  registry = await startRegistry();
  secondPort = await freePort();
  dir = await project({ 'build.config.yaml': config, 'types/a.yaml': 'a: 1\n', 'types/b.yaml': 'b: 1\n' });
});
test.after(async () => {
  await registry.stop();
  await second?.stop();
  await cleanup();
});

function run(args: string[], sets: Record<string, string> = {}): Promise<CliResult> {
  const setArgs = Object.entries({ REG_ONE: registry.address, REG_TWO: registry.address, ...sets }).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  return cli(['--json', ...setArgs, ...args], { cwd: dir, env: { DOCKER_HUB_USER: USER, DOCKER_HUB_PASSWD: PASSWORD, DOCKER_CONFIG: path.join(dir, 'none') } });
}
const tagsOf = (name: string) => registry.tags(`bi-${RUN_ID}/${name}`);

test('a failing image stops every push of the run, --keep-going or not', async () => {
  const failing = await run(['deploy'], { FAIL_CMD: 'false' });
  assert.is(failing.code, 1);
  assert.equal(summaryOf(failing).pushed, []);
  assert.equal(summaryOf(failing).notPushed.length, 2);
  assert.ok(failing.events.some((e) => e['type'] === 'action' && /nothing pushed: two did not build/.test(String(e['message']))));
  const going = await run(['--keep-going', 'deploy'], { FAIL_CMD: 'false' });
  assert.is(going.code, 1);
  assert.is(finishOf(going, 'one')!.status, 'skipped', 'one built in the first run and is up to date');
  assert.equal(summaryOf(going).pushed, []);
  assert.equal(await tagsOf('one'), []);
  assert.equal(await tagsOf('two'), []);
});

test('--push-partial pushes what built; a re-run after the fix pushes the rest, and only the rest', async () => {
  const partial = await run(['--keep-going', '--push-partial', 'deploy'], { FAIL_CMD: 'false' });
  assert.is(partial.code, 1);
  assert.equal(summaryOf(partial).pushed, [`${registry.address}/bi-${RUN_ID}/one:1`]);
  const fixed = await run(['deploy']);
  assert.is(fixed.code, 0, fixed.stderr + fixed.stdout);
  assert.equal(summaryOf(fixed).pushed, [`${registry.address}/bi-${RUN_ID}/two:1`]);
  assert.ok(fixed.events.some((e) => e['type'] === 'push' && e['status'] === 'present' && e['image'] === 'one'));
  assert.equal(await tagsOf('one'), ['1']);
  assert.equal(await tagsOf('two'), ['1']);
  // The digest the registry holds for each pushed tag is reported (`--json`) and printed, on either image
  // store: the containerd store's push sends no aux.Digest, only its status line.
  for (const [result, name] of [
    [partial, 'one'],
    [fixed, 'two'],
  ] as const) {
    const push = result.events.find((e) => e['type'] === 'push' && e['status'] === 'pushed');
    const digest = await registry.digest(`bi-${RUN_ID}/${name}`, '1');
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    assert.is(push?.['digest'], digest, `${name}: ${JSON.stringify(push)}`);
    assert.ok(result.stderr.includes(`pushed ${registry.address}/bi-${RUN_ID}/${name}:1 (${digest})`), result.stderr);
  }
});

test('a push refused half-way is reported image by image; the re-run pushes only the missing tags', async () => {
  const down = `127.0.0.1:${secondPort}`;
  const refused = await run(['--no-cache', 'deploy'], { REG_TWO: down });
  assert.is(refused.code, 1);
  const pushes = refused.events.filter((e) => e['type'] === 'push').map((e) => [e['image'], e['status']]);
  assert.equal(pushes, [
    ['one', 'pushed'],
    ['two', 'failed'],
  ]);
  assert.equal(summaryOf(refused).notPushed, [`${down}/bi-${RUN_ID}/two:1`]);

  second = await startRegistry({ port: secondPort });
  const rerun = await run(['deploy'], { REG_TWO: down });
  assert.is(rerun.code, 0, rerun.stderr + rerun.stdout);
  assert.equal(
    summaryOf(rerun).images.map((i) => i.status),
    ['skipped', 'skipped'],
  );
  assert.equal(summaryOf(rerun).pushed, [`${down}/bi-${RUN_ID}/two:1`]);
  assert.equal(await second.tags(`bi-${RUN_ID}/two`), ['1']);
});

test('deploy_latest on up-to-date images retags and pushes :latest without building', async () => {
  const latest = await run(['deploy_latest']);
  assert.is(latest.code, 0, latest.stderr + latest.stdout);
  assert.equal(
    summaryOf(latest).images.map((i) => i.status),
    ['skipped', 'skipped'],
  );
  assert.equal(summaryOf(latest).pushed, [`${registry.address}/bi-${RUN_ID}/one:latest`, `${registry.address}/bi-${RUN_ID}/two:latest`]);
  assert.equal(await tagsOf('one'), ['1', 'latest']);
});

test('a second build is skipped; a changed file is named as the reason, and nothing else', async () => {
  assert.is(finishOf(await run(['one']), 'one')!.status, 'skipped');
  await writeFile(path.join(dir, 'types/b.yaml'), 'b: 2\n');
  const changed = finishOf(await run(['one']), 'one')!;
  assert.is(changed.status, 'built');
  assert.is(changed.reason, 'inputs changed (types/b.yaml)');
  assert.equal((changed as { changed?: string[] }).changed, ['types/b.yaml']);
});

test('changed build args and a changed base image are named as the reason', async () => {
  const args = finishOf(await run(['one'], { FLAVOR: 'spicy' }), 'one')!;
  assert.is(args.reason, 'build args changed (FLAVOR)');
  await importImage(BASE, await rootfs({ 'etc/motd': { content: 'a new base\n' } }), { [RUN_LABEL]: RUN_ID });
  const base = finishOf(await run(['one'], { FLAVOR: 'spicy' }), 'one')!;
  assert.match(base.reason!, /^base image changed \([0-9a-f]{12} → [0-9a-f]{12}\)$/);
  assert.match((await run(['--no-cache', 'one'], { FLAVOR: 'spicy' })).stdout, /"reason":"--no-cache"/);
});

test('an absent base is pulled from its registry with the credentials for it, progress shown', async () => {
  const ref = `${registry.address}/bi-${RUN_ID}/pulled-base:1`;
  await docker.getImage(BASE).tag({ repo: ref.slice(0, ref.lastIndexOf(':')), tag: '1' });
  const pushed = await docker.getImage(ref).push({ authconfig: { username: USER, password: PASSWORD, serveraddress: registry.address } } as never);
  await buffer(pushed as unknown as NodeJS.ReadableStream);
  await docker.getImage(ref).remove();
  const credentials = `credentials: [{ registry: '${registry.address}', usernameVariable: DOCKER_HUB_USER, passwordVariable: DOCKER_HUB_PASSWD }]\n`;
  const pullDir = await project({ 'build.config.yaml': `${credentials}images:\n  on-pulled: { base: '${ref}', tags: ['bi-test-${RUN_ID}/on-pulled:1'] }\n` });

  const refused = await cli(['--json'], { cwd: pullDir, env: { DOCKER_CONFIG: path.join(pullDir, 'none') } });
  assert.is(refused.code, 1);
  assert.match(finishOf(refused, 'on-pulled')!.error!, /pulling .*pulled-base:1: .*(no basic auth credentials|unauthorized|authentication required)/i);

  const result = await cli(['--json', '--verbose'], {
    cwd: pullDir,
    env: { DOCKER_HUB_USER: USER, DOCKER_HUB_PASSWD: PASSWORD, DOCKER_CONFIG: path.join(pullDir, 'none') },
  });
  assert.is(result.code, 0, result.stderr + result.stdout);
  assert.ok(result.events.some((e) => e['type'] === 'pull' && e['ref'] === ref));
  assert.ok(
    result.events.some((e) => e['type'] === 'log' && /Pull complete|Downloaded newer image/.test(String(e['line']))),
    'the pull’s progress is shown',
  );
  assert.is(finishOf(result, 'on-pulled')!.status, 'built');
  await docker
    .getImage(ref)
    .remove()
    .catch(() => {});
});

test.run();
