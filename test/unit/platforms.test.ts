// Images of several platforms, as planned: a command whose output the image copies runs per platform,
// compiling for it, with each platform's outputs kept apart, and the COPY choosing by TARGETPLATFORM;
// one platform compiles for it and changes nothing else; none changes nothing at all.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseConfig } from '../../pipeline/config/load-config.ts';
import { prepareLoaded } from '../../pipeline/config/prepare.ts';
import { gitHead } from '../../pipeline/config/git-head.ts';
import { goEnv, withPlatforms } from '../../pipeline/model/platform.ts';
import { platformOption } from '../../pipeline/cli/options.ts';
import { inputsDigest } from '../../pipeline/run/build-image.ts';
import { UserError } from '../../pipeline/model/errors.ts';
import { yaml } from '../support/config.ts';

const config = (platforms: string) => yaml`
images:
  app:
    base: busybox:latest
    tags: [reg.test/app:1]
    ${platforms}
    steps:
      - command: { run: [go, build, -o, app, .], cwd: src, env: { GOARCH: '386', CGO_ENABLED: '0' }, inputs: [src], outputs: [src/app], reproducible: true }
      - command: { run: [touch, notes.txt], outputs: [notes.txt] }
      - copy: { from: src/app, to: /usr/bin/app, mode: '0755' }
      - entrypoint: [/usr/bin/app]
`;
const planOf = (platforms: string, cli?: string[]) =>
  prepareLoaded(parseConfig(config(platforms), 'build.config.yaml', '/project'), {}, { USER: 'alice' }, new Date(0), gitHead, cli).plan.images.get('app')!;

test('several platforms: the copied output compiled once per platform, kept apart, and COPY by TARGETPLATFORM', () => {
  const image = planOf('platforms: [linux/amd64, linux/arm64]');
  assert.equal(image.platforms, ['linux/amd64', 'linux/arm64']);
  assert.ok(
    image.dockerfile.startsWith(
      'FROM busybox:latest\nARG TARGETPLATFORM\nCOPY ["s02-copy/${TARGETPLATFORM}/app", "/usr/bin/app"]\nENTRYPOINT ["/usr/bin/app"]\n',
    ),
    image.dockerfile,
  );
  const [amd, arm, notes] = image.hostCommands;
  assert.is(image.hostCommands.length, 3, 'the command whose output is not copied runs once');
  assert.equal(amd!.env, { GOARCH: 'amd64', CGO_ENABLED: '0', GOOS: 'linux' });
  assert.equal(arm!.env, { GOARCH: 'arm64', CGO_ENABLED: '0', GOOS: 'linux' });
  assert.equal(amd!.writes, ['/project/src/app']);
  assert.equal(amd!.outputs, ['/project/.build-images/platforms/app-0/linux-amd64/0/app']);
  assert.equal(arm!.outputs, ['/project/.build-images/platforms/app-0/linux-arm64/0/app']);
  assert.is(amd!.stamp, '/project/.build-images/commands/app-0-linux-amd64');
  assert.is.not(amd!.recipe, arm!.recipe, 'the recipe names the platform');
  assert.equal(notes!.env, {});
  const copies = image.context.filter((source) => source.kind === 'path');
  assert.equal(
    copies.map((source) => [source.name, 'path' in source ? source.path : '']),
    [
      ['s02-copy/linux/amd64/app', '/project/.build-images/platforms/app-0/linux-amd64/0/app'],
      ['s02-copy/linux/arm64/app', '/project/.build-images/platforms/app-0/linux-arm64/0/app'],
    ],
  );
});

test('one platform compiles for it, in place; no platforms plans as it always did', () => {
  const one = planOf('platforms: [linux/arm64]');
  const none = planOf('');
  assert.is(one.dockerfile, none.dockerfile);
  assert.equal(one.hostCommands[0]!.env, { GOARCH: 'arm64', CGO_ENABLED: '0', GOOS: 'linux' });
  assert.equal(one.hostCommands[0]!.outputs, none.hostCommands[0]!.outputs);
  assert.is(one.hostCommands[0]!.writes, undefined);
  assert.equal(none.hostCommands[0]!.env, { GOARCH: '386', CGO_ENABLED: '0' });
  assert.is(none.platforms, undefined);
});

test('--platform sets every image’s platforms, over the config’s', () => {
  assert.equal(planOf('platforms: [linux/arm64]', ['linux/amd64', 'linux/arm64']).platforms, ['linux/amd64', 'linux/arm64']);
  assert.equal(withPlatforms({ images: { a: { base: 'x' } }, source: 's' }, ['linux/arm64']), {
    images: { a: { base: 'x', platforms: ['linux/arm64'] } },
    source: 's',
  });
  assert.equal(platformOption('linux/amd64, linux/arm/v7'), ['linux/amd64', 'linux/arm/v7']);
  assert.throws(
    () => platformOption('linux/amd64,arm64'),
    (err: Error) => err instanceof UserError && /'arm64' is not a platform/.test(err.message),
  );
  assert.throws(
    () => platformOption('linux/amd64,linux/amd64'),
    (err: Error) => err instanceof UserError && /named twice/.test(err.message),
  );
});

test('a copy of a directory that holds a per-platform output is refused at its from', () => {
  const text = config('platforms: [linux/amd64, linux/arm64]').replace(
    "- copy: { from: src/app, to: /usr/bin/app, mode: '0755' }",
    '- copy: { from: src, to: /srv/ }',
  );
  assert.throws(
    () => prepareLoaded(parseConfig(text, 'build.config.yaml', '/project'), {}, { USER: 'alice' }),
    (err: Error) => err instanceof UserError && /copies a directory that holds app, which is compiled once per platform/.test(err.message),
  );
});

test('GOARM from an arm variant; the inputs digest names platforms only when the image does', () => {
  assert.equal(goEnv('linux/arm/v7'), { GOOS: 'linux', GOARCH: 'arm', GOARM: '7' });
  assert.equal(goEnv('linux/arm64/v8'), { GOOS: 'linux', GOARCH: 'arm64' });
  const inputs = { context: 'sha256:c', baseId: 'sha256:b', args: {} };
  assert.is(inputsDigest(inputs), inputsDigest({ ...inputs }));
  assert.is.not(inputsDigest(inputs), inputsDigest({ ...inputs, platforms: ['linux/amd64'] }));
  assert.is.not(inputsDigest({ ...inputs, platforms: ['linux/amd64'] }), inputsDigest({ ...inputs, platforms: ['linux/amd64', 'linux/arm64'] }));
});

test.run();
