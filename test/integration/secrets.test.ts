// A secret reaches the RUN that mounts it and nothing else: not a layer, the history, a label, the config,
// an event, or the output.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { buffer } from 'node:stream/consumers';
import { cli, finishOf, project } from '../support/cli.ts';
import { cleanup, docker, ensureStandIns, requireEngine, runIn, testTag } from '../support/engine.ts';

const test = suite('secrets');
const SECRET = 'tok-3f9a1c7e-not-for-layers';

test.before(async () => {
  await requireEngine();
  await ensureStandIns();
});
test.after(cleanup);

const config = (tag: string) => `
secrets:
  token: { env: BI_TEST_TOKEN }
images:
  app:
    base: ubuntu:16.04
    tags: ['${tag}']
    steps:
      - run: { command: 'wc -c < /run/secrets/token > /token-length && ls /run/secrets > /mounted', secrets: [token] }
      - run: 'if test -e /run/secrets/token; then echo present; else echo none; fi > /after'
`;

test('with BuildKit a mounted secret is read by its RUN and is found nowhere in the image or the output', async () => {
  const tag = testTag('secret-app');
  const dir = await project({ 'build.config.yaml': config(tag) });
  const result = await cli(['--json', '--verbose', '--builder', 'buildkit', 'app'], { cwd: dir, env: { BI_TEST_TOKEN: SECRET } });
  assert.is(result.code, 0, result.stderr + result.stdout);
  assert.is(finishOf(result, 'app')!.status, 'built');

  const inImage = await runIn(tag, ['/bin/sh', '-c', 'cat /token-length /mounted /after']);
  assert.equal(inImage.output.trim().split('\n'), [String(SECRET.length), 'token', 'none'], 'the RUN read it; the next RUN had no mount');

  const image = docker.getImage(tag);
  const places: [string, string][] = [
    ['stdout and events', result.stdout],
    ['stderr', result.stderr],
    ['image config and labels', JSON.stringify(await image.inspect())],
    ['history', JSON.stringify(await image.history())],
    ['layers (docker save)', (await buffer((await image.get()) as unknown as NodeJS.ReadableStream)).toString('latin1')],
  ];
  for (const [where, text] of places) assert.not.ok(text.includes(SECRET), `the secret is in the ${where}`);
});

test('an unset secret fails the build naming its variable; the classic builder says it cannot mount secrets', async () => {
  const dir = await project({ 'build.config.yaml': config(testTag('secret-missing')) });
  // --no-cache: the same inputs were built by the test before, and an up-to-date image reads no secret.
  const unset = await cli(['--json', '--no-cache', '--builder', 'buildkit', 'app'], { cwd: dir, env: { BI_TEST_TOKEN: undefined } });
  assert.is(unset.code, 1);
  assert.match(finishOf(unset, 'app')!.error!, /the secret 'token' comes from \$BI_TEST_TOKEN, which is not set/);

  const classic = await cli(['--json', '--no-cache', '--builder', 'classic', 'app'], { cwd: dir, env: { BI_TEST_TOKEN: SECRET } });
  assert.is(classic.code, 1);
  assert.match(finishOf(classic, 'app')!.error!, /the classic builder cannot mount secrets/);
  assert.not.ok(classic.stdout.includes(SECRET) || classic.stderr.includes(SECRET));
});

test.run();
