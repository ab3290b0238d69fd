// A config that did not change is not read again: what a run prepares from memory is what it would have
// prepared from the file, for the repository's own config too, whatever the time; and a changed file, other
// variables, a damaged memory or a problem in the file all go through the full pass.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { prepare, type Prepared } from '../../pipeline/config/prepare.ts';
import { preparedCache as inDir } from '../../pipeline/context/prepared-cache.ts';
import { UserError } from '../../pipeline/model/errors.ts';
import { removeAtExit, tempDir } from '../support/temp.ts';
import { yaml } from '../support/config.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const BUILD = 'build-1';
const ENV = { USER: 'alice', PX_SRC: '/src/px' };
const at = (iso: string) => new Date(iso);

async function repositoryProject(): Promise<string> {
  const dir = await tempDir('bi-prepared-');
  removeAtExit(cacheOf(dir));
  for (const entry of ['build.config.yaml', 'images', 'types-3.4']) await cp(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  return dir;
}

async function project(text: string): Promise<string> {
  const dir = await tempDir('bi-prepared-');
  removeAtExit(cacheOf(dir));
  await writeFile(path.join(dir, 'build.config.yaml'), text);
  return dir;
}

/** One image, tagged repo/app:1. */
const APP = yaml`
images:
  app:
    base: alpine:3.20
    tags: [repo/app:1]
`;

const options = (cwd: string, now: Date, sets: Record<string, string> = {}, env: Record<string, string> = ENV) => ({
  file: 'build.config.yaml',
  cwd,
  sets,
  env,
  now,
});
// Each project's memory in a folder of its own, as each user has their own cache.
const cacheOf = (dir: string) => `${dir}.cache`;
const preparedCache = (build: string | undefined, dir: string) => inDir(cacheOf(dir), build);
/** The one file a project's config is remembered in ('' when there is none). */
const memory = (dir: string) => {
  const files = existsSync(cacheOf(dir)) ? readdirSync(cacheOf(dir)) : [];
  return files.length === 1 ? path.join(cacheOf(dir), files[0]!) : path.join(cacheOf(dir), 'none');
};

/** Marks the remembered plans by hand (not the file's value, which would make their key another), to see where a run's plan comes from. */
async function markPlans(dir: string, from: string, to: string): Promise<void> {
  const remembered = JSON.parse(await readFile(memory(dir), 'utf8')) as { plans: Record<string, string> };
  for (const key of Object.keys(remembered.plans)) remembered.plans[key] = remembered.plans[key]!.replaceAll(from, to);
  await writeFile(memory(dir), JSON.stringify(remembered));
}

/** What a run uses of a prepared config, in a form assert.equal compares (maps included). */
const used = (p: Prepared) =>
  JSON.parse(
    JSON.stringify({
      ...p,
      graph: { ...p.graph, targets: [...p.graph.targets], dependencies: [...p.graph.dependencies] },
      plan: { ...p.plan, images: [...p.plan.images] },
      variables: [...p.variables],
    }),
  );

test("the repository's config, remembered, prepares as from the file at another time (its tags carry ${TIMESTAMP})", async () => {
  const dir = await repositoryProject();
  const cache = preparedCache(BUILD, dir);
  await cache.prepare(options(dir, at('2026-12-03T10:00:00Z')));
  assert.is(statSync(memory(dir)).mode & 0o777, 0o600, "remembered, the user's alone");
  const later = at('2026-12-03T11:22:33Z');
  const recalled = await cache.prepare(options(dir, later));
  assert.equal(used(recalled), used(await prepare(options(dir, later))));
  assert.ok(recalled.plan.images.get('cm-container')!.tags[0]!.endsWith('-20261203T112233Z'), "the run's own timestamp");
});

test('a remembered plan is what the next run uses: it does not read the file again', async () => {
  const dir = await project(APP);
  const cache = preparedCache(BUILD, dir);
  await cache.prepare(options(dir, at('2026-12-03T10:00:00Z')));
  await markPlans(dir, 'repo/app:1', 'repo/app:from-memory');
  const prepared = await cache.prepare(options(dir, at('2026-12-03T10:00:05Z')));
  assert.equal(prepared.plan.images.get('app')!.tags, ['repo/app:from-memory']);
});

test('an edited file, another --set or another environment is prepared afresh, and each is remembered', async () => {
  const text = yaml`
variables:
  TAG: '1'
images:
  app:
    base: alpine:3.20
    tags: ['repo/app:\${TAG}']
`;
  const dir = await project(text);
  const cache = preparedCache(BUILD, dir);
  const tagOf = async (sets: Record<string, string> = {}, env: Record<string, string> = ENV) =>
    (await cache.prepare(options(dir, at('2026-12-03T10:00:00Z'), sets, env))).plan.images.get('app')!.tags[0];
  assert.is(await tagOf(), 'repo/app:1');
  assert.is(await tagOf({ TAG: '2' }), 'repo/app:2');
  assert.is(await tagOf({}, { ...ENV, TAG: '3' }), 'repo/app:3');
  assert.is(await tagOf(), 'repo/app:1');
  assert.is(await tagOf({ TAG: '2' }), 'repo/app:2');
  await writeFile(path.join(dir, 'build.config.yaml'), text.replace("TAG: '1'", "TAG: '4'"));
  assert.is(await tagOf(), 'repo/app:4');
});

test('--platform is part of what a plan is remembered by: each run gets the platforms it asked for', async () => {
  const dir = await project(APP);
  const cache = preparedCache(BUILD, dir);
  const platformsOf = async (platforms?: string[]) =>
    (await cache.prepare({ ...options(dir, at('2026-12-03T10:00:00Z')), ...(platforms ? { platforms } : {}) })).plan.images.get('app')!.platforms;
  assert.is(await platformsOf(), undefined);
  assert.equal(await platformsOf(['linux/amd64', 'linux/arm64']), ['linux/amd64', 'linux/arm64']);
  assert.equal(await platformsOf(['linux/arm64']), ['linux/arm64']);
  assert.equal(await platformsOf(['linux/amd64', 'linux/arm64']), ['linux/amd64', 'linux/arm64'], 'from memory');
  assert.is(await platformsOf(), undefined, 'from memory');
});

test('a file that turns wrong after a good run is reported at its line and column, as without the memory', async () => {
  const dir = await project(APP);
  const cache = preparedCache(BUILD, dir);
  await cache.prepare(options(dir, at('2026-12-03T10:00:00Z')));
  await writeFile(
    path.join(dir, 'build.config.yaml'),
    yaml`
images:
  app:
    base: alpine:3.20
    tags: [repo/app:1]
    stpes: []
`,
  );
  const err = await cache.prepare(options(dir, at('2026-12-03T10:00:01Z'))).catch((e: unknown) => e);
  assert.instance(err, UserError);
  assert.equal((err as UserError).problems[0]!.at, { file: 'build.config.yaml', line: 5, col: 5 });
});

test('an unknown --set is the same clear error with a remembered config', async () => {
  const dir = await project(APP);
  const cache = preparedCache(BUILD, dir);
  await cache.prepare(options(dir, at('2026-12-03T10:00:00Z')));
  const err = await cache.prepare(options(dir, at('2026-12-03T10:00:00Z'), { NOPE: 'x' })).catch((e: unknown) => e);
  assert.instance(err, UserError);
  assert.match((err as UserError).problems[0]!.message, '--set NOPE: no such variable');
});

test('a damaged memory, or one of another build of the tool, is prepared afresh', async () => {
  const dir = await project(APP);
  const prepare = () => preparedCache(BUILD, dir).prepare(options(dir, at('2026-12-03T10:00:00Z')));
  await prepare();
  const file = memory(dir);
  const good = JSON.parse(await readFile(file, 'utf8')) as { plans: Record<string, string> };
  const damagedPlans = JSON.stringify({ ...good, plans: Object.fromEntries(Object.keys(good.plans).map((k) => [k, '{"config": '])) });
  for (const damage of ['{"key": ', 'null', '[]', '{"key": "x", "plans": {}}', damagedPlans]) {
    await writeFile(file, damage);
    assert.equal((await prepare()).plan.images.get('app')!.tags, ['repo/app:1'], damage);
  }
  await markPlans(dir, 'repo/app:1', 'repo/app:stale');
  const other = await preparedCache('build-2', dir).prepare(options(dir, at('2026-12-03T10:00:00Z')));
  assert.equal(other.plan.images.get('app')!.tags, ['repo/app:1'], "another build's memory is not used");
});

test('run from its sources (no build id), the tool remembers nothing', async () => {
  const dir = await project(APP);
  await preparedCache(undefined, dir).prepare(options(dir, at('2026-12-03T10:00:00Z')));
  assert.not.ok(existsSync(memory(dir)));
});

test("a registry password or a build secret that the config writes into a value never goes to the memory's file", async () => {
  const dir = await project(yaml`
variables:
  DOCKER_HUB_PASSWD: ''
  TOKEN: ''
credentials:
  - { registry: docker.io, usernameVariable: DOCKER_HUB_USER, passwordVariable: DOCKER_HUB_PASSWD }
secrets:
  token: { env: TOKEN }
images:
  app:
    base: alpine:3.20
    tags: [repo/app:1]
    args: { A: '\${DOCKER_HUB_PASSWD}', B: '\${TOKEN}' }
`);
  // Without them in the environment the config is remembered: the file is there to look into.
  await preparedCache(BUILD, dir).prepare(options(dir, at('2026-12-03T10:00:00Z')));
  const before = await readFile(memory(dir), 'utf8');
  for (const [name, value] of [
    ['DOCKER_HUB_PASSWD', 'hunter2-password'],
    ['TOKEN', 'token-value-42'],
  ] as const) {
    const env = { ...ENV, [name]: value };
    const prepared = await preparedCache(BUILD, dir).prepare(options(dir, at('2026-12-03T10:00:00Z'), {}, env));
    assert.ok(Object.values(prepared.plan.images.get('app')!.args).includes(value), 'the run has it');
    assert.is(await readFile(memory(dir), 'utf8'), before, 'the memory is left as it was');
  }
});

test("a value given with --set or by the environment is not in the memory's file, and the plan it made is found again", async () => {
  const dir = await project(yaml`
variables:
  TAG: '1'
  TOKEN: none
images:
  app:
    base: alpine:3.20
    tags: ['repo/app:\${TAG}']
    args: { TOKEN: '\${TOKEN}' }
    labels: { token: 'x-\${TOKEN}-y' }
`);
  const sets = { TOKEN: 'tok-from-set-8c1f' };
  const env = { ...ENV, TAG: 'tag-from-env-5e2a' };
  const first = await preparedCache(BUILD, dir).prepare(options(dir, at('2026-12-03T10:00:00Z'), sets, env));
  const text = await readFile(memory(dir), 'utf8');
  for (const value of [...Object.values(sets), env.TAG, env.USER, env.PX_SRC]) assert.not.match(text, value, `${value} is not in the memory`);
  await markPlans(dir, 'repo/app:', 'repo/app:from-memory-');
  const again = await preparedCache(BUILD, dir).prepare(options(dir, at('2026-12-03T10:00:09Z'), sets, env));
  const image = again.plan.images.get('app')!;
  assert.equal(image.tags, ['repo/app:from-memory-tag-from-env-5e2a'], 'from the memory, with the values put back');
  assert.equal(image.args, first.plan.images.get('app')!.args);
  assert.is(image.labels['token'], 'x-tok-from-set-8c1f-y');
  const other = await preparedCache(BUILD, dir).prepare(options(dir, at('2026-12-03T10:00:09Z'), { TOKEN: 'another' }, env));
  assert.is(other.plan.images.get('app')!.args['TOKEN'], 'another', 'other values do not find that plan');
});

test.run();
