import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmod, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cli, finishOf, project, summaryOf } from '../support/cli.ts';
import { cleanup, containerCount, docker, ensureStandIns, imageInfo, requireEngine, RUN_ID, runIn, testTag } from '../support/engine.ts';

const test = suite('builds on a real engine');

test.before(async () => {
  await requireEngine();
  await ensureStandIns();
});
test.after(cleanup);

const BASE = testTag('base', '1.0');
const APP = testTag('app', '1.0');
const APP_STABLE = testTag('app', 'stable');

const graphConfig = `
source: https://example.test/app
variables:
  GREETING: hello
images:
  base:
    base: ubuntu:16.04
    tags: ['${BASE}']
    steps:
      - env: { FROM_BASE: 'yes' }
  app:
    base: { image: base }
    tags: ['${APP}', '${APP_STABLE}']
    args: { WHO: builder }
    labels: { team: infra, cost: '$5' }
    steps:
      - command: { name: make-greeting, run: 'echo \${GREETING} > greeting.txt', inputs: [greeting.in], outputs: [greeting.txt] }
      - copy: { from: greeting.txt, to: /srv/greeting.txt }
      - copy: { from: bin/run.sh, to: /usr/bin/run, mode: '0755' }
      - copy: { from: conf, to: /etc/app/, owner: cfyuser, exclude: ['*.md'] }
      - mkdir: { path: /opt/onap, owner: cfyuser }
      - run: echo "built by $WHO" > /srv/by.txt
      - expose: 8080
      - entrypoint: [/usr/bin/run]
      - cmd: []
`;

async function graphProject() {
  return project({
    'build.config.yaml': graphConfig,
    'greeting.in': 'x',
    'bin/run.sh': '#!/bin/sh\necho run\n',
    'conf/app.yaml': 'port: 8080\n',
    'conf/NOTES.md': 'not shipped\n',
  });
}

test('a graph builds in order, tags every tag, and the image holds what the steps say', async () => {
  const dir = await graphProject();
  const result = await cli(['--json', 'app'], { cwd: dir });
  assert.is(result.code, 0, result.stderr + result.stdout);

  const starts = result.events.filter((e) => e['type'] === 'start').map((e) => e['image']);
  assert.equal(starts, ['base', 'app'], 'the base is built first');
  const summary = summaryOf(result);
  assert.is(summary.ok, true);
  assert.equal(
    summary.images.map((i) => [i.name, i.status]),
    [
      ['base', 'built'],
      ['app', 'built'],
    ],
  );

  const app = (await imageInfo(APP))!;
  assert.is((await imageInfo(APP_STABLE))!.Id, app.Id, 'both tags name the same image');
  assert.is(summary.images[1]!.id, app.Id);
  assert.equal(app.Config.Entrypoint, ['/usr/bin/run']);
  assert.ok('8080/tcp' in (app.Config.ExposedPorts ?? {}));
  assert.ok(app.Config.Env.includes('FROM_BASE=yes'), 'built on the base of the graph');

  const run = (cmd: string) => runIn(APP, ['sh', '-c', cmd]).then((r) => r.output.trim());
  assert.is(await run('cat /srv/greeting.txt'), 'hello', 'the host command ran, with the variable');
  assert.is(await run('cat /srv/by.txt'), 'built by builder', 'build args reach RUN');
  assert.is(await run('stat -c %a /usr/bin/run'), '755');
  assert.is(await run('stat -c %U /etc/app/app.yaml'), 'cfyuser');
  assert.is(await run('ls /etc/app'), 'app.yaml', 'excluded files stay out');
  assert.is(await run('stat -c "%U %F" /opt/onap'), 'cfyuser directory');
});

test('every image carries the OCI labels and the digest of its inputs', async () => {
  const labels = (await imageInfo(APP))!.Config.Labels;
  assert.is(labels['org.opencontainers.image.title'], 'app');
  assert.is(labels['org.opencontainers.image.version'], '1.0');
  assert.is(labels['org.opencontainers.image.source'], 'https://example.test/app');
  assert.match(labels['org.opencontainers.image.created']!, /^\d{4}-\d\d-\d\dT/);
  assert.match(labels['build-images.digest']!, /^sha256:[0-9a-f]{64}$/);
  assert.is(labels['team'], 'infra');
  assert.is(labels['cost'], '$5', 'a $ in a label is not expanded by the builder');
  assert.match(labels['build-images.inputs']!, /"bin\/run.sh":"[0-9a-f]{16}"/);
});

test('a second run builds nothing: each image is reported up to date, and --no-cache forces it', async () => {
  const dir = await graphProject();
  const first = await cli(['--json', 'app'], { cwd: dir });
  assert.is(first.code, 0, first.stderr);
  const second = await cli(['--json', 'app'], { cwd: dir });
  assert.is(second.code, 0, second.stderr);
  assert.equal(
    summaryOf(second).images.map((i) => i.status),
    ['skipped', 'skipped'],
  );
  assert.ok(
    second.events.some((e) => e['type'] === 'command' && e['status'] === 'fresh'),
    'the host command is fresh too',
  );

  const forced = await cli(['--json', '--no-cache', 'app'], { cwd: dir });
  assert.is(forced.code, 0, forced.stderr);
  assert.is(finishOf(forced, 'app')!.status, 'built');
  assert.is(finishOf(forced, 'app')!.reason, '--no-cache');
});

test('a changed input rebuilds; the host command reruns when its input is newer', async () => {
  const dir = await graphProject();
  assert.is((await cli(['app'], { cwd: dir })).code, 0);
  const before = (await imageInfo(APP))!.Id;
  await writeFile(path.join(dir, 'conf/app.yaml'), 'port: 9090\n');
  const later = new Date(Date.now() + 5000);
  await utimes(path.join(dir, 'greeting.in'), later, later);
  const result = await cli(['--json', 'app'], { cwd: dir });
  assert.is(result.code, 0, result.stderr);
  assert.is(finishOf(result, 'base')!.status, 'skipped');
  assert.is(finishOf(result, 'app')!.status, 'built');
  assert.ok(result.events.some((e) => e['type'] === 'command' && e['status'] === 'ran'));
  assert.is.not((await imageInfo(APP))!.Id, before);
});

test('a named host command runs alone', async () => {
  const dir = await graphProject();
  const result = await cli(['--json', 'make-greeting'], { cwd: dir });
  assert.is(result.code, 0, result.stderr);
  assert.is(await readFile(path.join(dir, 'greeting.txt'), 'utf8'), 'hello\n');
  assert.equal(summaryOf(result).images, [], 'no image was built');
});

test('a failing RUN fails with the engine’s words and the instruction, tags nothing, leaves no container', async () => {
  const tag = testTag('broken');
  const dir = await project({
    'build.config.yaml': `
images:
  broken:
    base: ubuntu:16.04
    tags: ['${tag}']
    steps:
      - run: echo about to fail && exit 3
`,
  });
  const containers = await containerCount();
  const result = await cli(['--json', 'broken'], { cwd: dir });
  assert.is(result.code, 1);
  const finish = finishOf(result, 'broken')!;
  assert.is(finish.status, 'failed');
  // The step as each builder names it: the classic one's `Step 2/4 :`, BuildKit's `[2/4]`.
  assert.match(finish.error!, /(Step 2\/\d+ :|\[2\/\d+\]) RUN .*echo about to fail && exit 3/);
  assert.match(finish.error!, /returned a non-zero code: 3|exit code: 3/);
  assert.match(result.stderr, /broken: FAILED/);
  assert.not.match(result.stderr, /at .*\.js:\d+/, 'no stack trace');
  assert.is(await imageInfo(tag), undefined, 'no tag on a failed build');
  assert.is(await containerCount(), containers, 'no container left behind');
});

test('a failure stops what depends on it; --keep-going still builds what does not', async () => {
  const [bad, child, other] = [testTag('bad'), testTag('child'), testTag('other')];
  const config = `
images:
  bad: { base: ubuntu:16.04, tags: ['${bad}'], steps: [{ run: 'false' }] }
  child: { base: { image: bad }, tags: ['${child}'] }
  other: { base: alpine:latest, tags: ['${other}'], dependsOn: [bad] }
  independent: { base: alpine:latest, tags: ['${testTag('independent')}'] }
`;
  const dir = await project({ 'build.config.yaml': config });
  const stopped = await cli(['--json', '--concurrency', '1'], { cwd: dir });
  assert.is(stopped.code, 1);
  assert.match(finishOf(stopped, 'child')!.error!, /not built: bad failed/);
  assert.match(finishOf(stopped, 'other')!.error!, /not built: bad failed/);

  const going = await cli(['--json', '--keep-going', '--concurrency', '1'], { cwd: dir });
  assert.is(going.code, 1);
  const statuses = Object.fromEntries(summaryOf(going).images.map((i) => [i.name, i.status]));
  assert.equal(statuses, { bad: 'failed', child: 'failed', other: 'failed', independent: 'built' });
  assert.is(await imageInfo(child), undefined);
});

test('a base that is present is not pulled; one that is absent is pulled, and its failure is clear', async () => {
  const dir = await project({
    'build.config.yaml': `
images:
  missing: { base: 'bi-test/no-such-base:0.0', tags: ['${testTag('missing')}'] }
`,
  });
  // No registry is reachable from here: a build of the stand-in bases above succeeding shows they were not pulled.
  const result = await cli(['--json', 'missing'], { cwd: dir });
  assert.is(result.code, 1);
  assert.ok(result.events.some((e) => e['type'] === 'pull' && e['ref'] === 'bi-test/no-such-base:0.0'));
  assert.match(finishOf(result, 'missing')!.error!, /pulling bi-test\/no-such-base:0.0: /);
});

test('--pull pulls a base even when it is present', async () => {
  // The present base is named after a registry that refuses connections, so the forced pull fails the
  // same way on every machine: what shows is that it was tried.
  const base = `127.0.0.1:1/bi-test-${RUN_ID}/base:1`;
  await docker.getImage('ubuntu:16.04').tag({ repo: base.slice(0, base.lastIndexOf(':')), tag: '1' });
  try {
    const dir = await project({ 'build.config.yaml': `images:\n  pulled: { base: '${base}', tags: ['${testTag('pulled')}'] }\n` });
    const forced = await cli(['--json', '--pull', 'pulled'], { cwd: dir });
    assert.is(forced.code, 1);
    assert.ok(forced.events.some((e) => e['type'] === 'pull' && e['ref'] === base));
    assert.match(finishOf(forced, 'pulled')!.error!, /pulling 127.0.0.1:1\/.*connection refused/);
    const plain = await cli(['--json', 'pulled'], { cwd: dir });
    assert.is(plain.code, 0, plain.stderr);
    assert.not.ok(
      plain.events.some((e) => e['type'] === 'pull'),
      'without --pull the present base is used',
    );
  } finally {
    await docker
      .getImage(base)
      .remove()
      .catch(() => {});
  }
});

test('independent images build at the same time', async () => {
  const config = ['a', 'b']
    .map((n) => `  ${n}: { base: ubuntu:16.04, tags: ['${testTag(n)}'], steps: [{ run: 'sleep 2' }, { env: { N: '${n}' } }] }`)
    .join('\n');
  const dir = await project({ 'build.config.yaml': `images:\n${config}\n` });
  const result = await cli(['--json', '--concurrency', '2'], { cwd: dir });
  assert.is(result.code, 0, result.stderr);
  const order = result.events.filter((e) => e['type'] === 'start' || e['type'] === 'finish').map((e) => e['type']);
  assert.equal(order, ['start', 'start', 'finish', 'finish'], 'both started before either finished');
});

test('a run that changed nothing creates no container and asks for no base file again', async () => {
  const tag = testTag('edited');
  const dir = await project({
    'build.config.yaml': `
images:
  edited: { base: ubuntu:16.04, tags: ['${tag}'], steps: [{ edit: { file: /etc/group, appendLine: 'onap:x:1002:' } }] }
`,
  });
  const env = { BUILD_IMAGES_CACHE: path.join(dir, 'cache') };
  const first = await cli(['--json', 'edited'], { cwd: dir, env });
  assert.is(first.code, 0, first.stderr);
  // The engine's events are filtered by whole seconds: start past the first run's last one.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const since = Math.floor(Date.now() / 1000);
  const second = await cli(['--json', 'edited'], { cwd: dir, env });
  assert.is(second.code, 0, second.stderr);
  assert.is(finishOf(second, 'edited')!.status, 'skipped');
  const until = Math.ceil(Date.now() / 1000) + 1;
  const events = (await docker.getEvents({ since, until, filters: { type: ['container'], event: ['create'] } } as never)) as unknown as NodeJS.ReadableStream;
  let created = '';
  for await (const chunk of events) created += chunk;
  assert.is(created.trim(), '', `the second run created containers:\n${created}`);
});

test('Ctrl-C cancels the build, tags nothing, leaves no container and exits 130', async () => {
  const tag = testTag('slow');
  const dir = await project({
    'build.config.yaml': `
images:
  slow: { base: ubuntu:16.04, tags: ['${tag}'], steps: [{ run: 'sleep 60' }] }
`,
  });
  const containers = await containerCount();
  const started = Date.now();
  const result = await cli(['--json', '--verbose', 'slow'], {
    cwd: dir,
    onLine: (line, child) => {
      // Once the RUN has started, whichever builder runs it.
      if (line.includes('"type":"step"') && line.includes('sleep 60') && line.includes('"started"')) setTimeout(() => child.kill('SIGINT'), 1000);
    },
  });
  assert.is(result.code, 130, result.stderr);
  assert.ok(Date.now() - started < 30_000, 'it did not wait for the sleep');
  assert.is(await imageInfo(tag), undefined);
  // The engine removes the build's container as it stops the build.
  for (let i = 0; i < 20 && (await containerCount()) !== containers; i++) await new Promise((r) => setTimeout(r, 250));
  assert.is(await containerCount(), containers);
});

test('rmi, clean and distclean remove what there is, and succeed when there is nothing', async () => {
  const dir = await graphProject();
  assert.is((await cli(['app'], { cwd: dir })).code, 0);
  const rmi = await cli(['app', 'rmi'], { cwd: dir });
  assert.is(rmi.code, 0, rmi.stderr);
  assert.is(await imageInfo(APP), undefined);
  assert.is(await imageInfo(APP_STABLE), undefined);
  const again = await cli(['rmi'], { cwd: dir });
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, /no local tags to remove/);

  assert.ok(await stat(path.join(dir, 'greeting.txt')));
  const clean = await cli(['distclean'], { cwd: dir });
  assert.is(clean.code, 0, clean.stderr);
  assert.is(await stat(path.join(dir, 'greeting.txt')).catch(() => undefined), undefined);
  assert.is((await cli(['clean'], { cwd: dir })).code, 0);
});

test('a host command that fails stops its image, with the command’s words and the hint', async () => {
  const dir = await project({
    'build.config.yaml': `
images:
  compiled:
    base: ubuntu:16.04
    tags: ['${testTag('compiled')}']
    steps:
      - command: { run: [no-such-compiler, build], outputs: [out], hint: 'install the compiler' }
`,
  });
  const result = await cli(['compiled'], { cwd: dir });
  assert.is(result.code, 1);
  assert.match(result.stdout, /compiled: FAILED.*cannot run 'no-such-compiler'/);
  assert.match(result.stdout, /hint: install the compiler/);
});

test('an unreachable engine is said clearly, in one line that says what to do', async () => {
  const dir = await project({ 'build.config.yaml': `images:\n  a: { base: ubuntu:16.04, tags: ['${testTag('a')}'] }\n` });
  const result = await cli(['a'], { cwd: dir, env: { DOCKER_HOST: 'unix:///nonexistent.sock' } });
  assert.is(result.code, 1);
  assert.match(result.stderr, /^error: cannot reach the Docker engine at unix:\/\/\/nonexistent.sock \(ENOENT\): start it .*\n$/);
});

test('a copy step’s mode wins over the mode of the file it copies', async () => {
  const dir = await graphProject();
  await chmod(path.join(dir, 'bin/run.sh'), 0o600);
  const result = await cli(['app'], { cwd: dir });
  assert.is(result.code, 0, result.stderr);
  assert.is((await runIn(APP, ['stat', '-c', '%a', '/usr/bin/run'])).output.trim(), '755', 'the step’s mode wins over the file’s');
});

test('a file whose name COPY would read as a glob arrives under its own name, into a directory and as a target', async () => {
  const dir = await project({
    'build.config.yaml': `
images:
  app:
    base: ubuntu:16.04
    tags: ['${APP}']
    steps:
      - copy: { from: 'pages/[id].tsx', to: /app/pages/, owner: cfyuser }
      - copy: { from: 'pages/[id].tsx', to: '/app/copy/[slug]*.tsx', mode: '0600' }
      - copy: { from: pages/index.tsx, to: /app/pages/ }
      - copy: { from: pages/index.tsx, to: /app/plain/, owner: cfyuser }
`,
    'pages/[id].tsx': 'the id page\n',
    'pages/index.tsx': 'the index\n',
    'pages/i.tsx': 'not this one\n',
  });
  const result = await cli(['app'], { cwd: dir });
  assert.is(result.code, 0, result.stderr);
  const listing = await runIn(APP, [
    'sh',
    '-c',
    'cd /app && find . | sort && cat "pages/[id].tsx" "copy/[slug]*.tsx" && stat -c "%a %U %n" "pages/[id].tsx" "copy/[slug]*.tsx"',
  ]);
  assert.is(
    listing.output,
    [
      '.',
      './copy',
      './copy/[slug]*.tsx',
      './pages',
      './pages/[id].tsx',
      './pages/index.tsx',
      './plain',
      './plain/index.tsx',
      'the id page',
      'the id page',
      '644 cfyuser pages/[id].tsx',
      '600 root copy/[slug]*.tsx',
      '',
    ].join('\n'),
  );
  // The directory it went into is made as for any file copied into a directory this builder makes.
  const made = await runIn(APP, ['stat', '-c', '%a %U %G', '/app/pages', '/app/plain']);
  const [pages, plain] = made.output.trim().split('\n');
  assert.is(pages, plain);
});

test.run();
