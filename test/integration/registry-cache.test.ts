// The registry as the cache of record, as CI lives it: one job builds and pushes; the next starts on a fresh
// runner (another clone, another umask, no built image, no layer cache, no base, no state of ours) with only
// the registry to remember. Everything goes through a recording proxy in front of Debian's registry, so that
// what was pulled and uploaded is counted, the engine's requests included.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { cli, finishOf, project, type CliResult } from '../support/cli.ts';
import { cleanup, docker, importImage, imageInfo, requireEngine, rootfs, runIn, RUN_ID } from '../support/engine.ts';
import { flakyProxy, PASSWORD, startRegistry, USER, type Registry } from '../support/registry.ts';
import { tempDir } from '../support/temp.ts';
import { putRemoteTag, remoteImage } from '../../pipeline/registry/registry-images.ts';

function registrySuite(token: boolean) {
  const test = suite(`registry as the cache of record (${token ? 'bearer-token realm' : 'basic auth'})`);
  let registry: Registry;
  let proxy: Awaited<ReturnType<typeof flakyProxy>>;
  let reg = '';
  let first = '';
  let second = '';

  const config = () => `
credentials:
  - { registry: '${reg}', usernameVariable: REG_USER, passwordVariable: REG_PASSWORD }
images:
  app:
    base: ${reg}/bi-${RUN_ID}/base:1
    tags: ['${reg}/bi-${RUN_ID}/app:1']
    steps:
      - copy: { from: files, to: /files/ }
      - copy: { from: bin/run.sh, to: /usr/bin/run }
      - edit: { file: /etc/app.conf, appendLine: 'b: 2' }
  tool:
    base: ${reg}/bi-${RUN_ID}/base:1
    tags: ['${reg}/bi-${RUN_ID}/tool:1']
    steps:
      - run: 'echo expensive > /opt-expensive'
      - copy: { from: tool/conf.txt, to: /etc/tool.conf }
  web:
    base: { image: app }
    tags: ['${reg}/bi-${RUN_ID}/web:1']
    steps:
      - copy: { from: web/index.html, to: /srv/index.html }
`;

  const ENV = { REG_USER: USER, REG_PASSWORD: PASSWORD };
  const git = (cwd: string, ...args: string[]) => {
    const result = spawnSync('git', ['-c', 'user.email=ci@example.test', '-c', 'user.name=ci', ...args], { cwd, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
  };

  /** The engine as a fresh runner has it: no image of ours, no base, no layer cache. */
  async function freshEngine(): Promise<void> {
    await cleanup();
    const names = ['base:1', 'app:1', 'web:1', 'web:latest', 'tool:1', 'tool:latest'];
    for (const ref of names.map((name) => `${reg}/bi-${RUN_ID}/${name}`)) {
      await docker
        .getImage(ref)
        .remove({ force: true })
        .catch(() => {});
    }
    await (docker as unknown as { pruneBuilder(o: object): Promise<unknown> }).pruneBuilder({ all: true }).catch(() => {});
  }

  const run = (dir: string, args: string[]) =>
    cli(['--json', ...args], { cwd: dir, env: { ...ENV, BUILD_IMAGES_CACHE: path.join(dir, '..', `${path.basename(dir)}-cache`) } });
  const events = (result: CliResult, type: string) => result.events.filter((e) => e['type'] === type);
  /** A request that moves image bytes: a layer fetched, a blob uploaded. Manifests and config blobs are not. */
  const movesLayers = (requests: string[], configs: string[]) =>
    requests.filter((r) => /^(PATCH|PUT) .*\/blobs\/uploads\//.test(r) || (/^GET .*\/blobs\/sha256:/.test(r) && !configs.some((c) => r.includes(c))));

  test.before(async () => {
    await requireEngine();
    registry = await startRegistry({ token });
    proxy = await flakyProxy(registry.address, { failOnce: false });
    reg = proxy.address;
    const base = `${reg}/bi-${RUN_ID}/base:1`;
    await importImage(base, await rootfs({ 'etc/app.conf': { content: 'a: 1\n', mode: 0o640, gid: 1001 } }));
    const pushed = await docker.getImage(base).push({ authconfig: { username: USER, password: PASSWORD, serveraddress: reg } });
    const text = (await buffer(pushed as unknown as NodeJS.ReadableStream)).toString();
    if (/"error"/.test(text)) throw new Error(`pushing the base: ${text}`);

    first = await project({
      'build.config.yaml': config(),
      'files/hello.txt': 'hello\n',
      'files/nested/deep.txt': 'deep\n',
      'bin/run.sh': '#!/bin/sh\necho run\n',
      'web/index.html': '<h1>one</h1>\n',
      'tool/conf.txt': 'level: 1\n',
    });
    spawnSync('chmod', ['0755', path.join(first, 'bin/run.sh')]);
    git(first, 'init', '-q');
    git(first, 'add', '.');
    git(first, 'commit', '-qm', 'one');
    // The next job's clone: another directory, another umask (files 0664, folders 0775), another owner.
    second = path.join(await tempDir('bi-clone-'), 'checkout');
    const cloned = spawnSync('sh', ['-c', `umask 0002 && git clone -q "${first}" "${second}" && chown -R 65534:65534 "${second}"`], { encoding: 'utf8' });
    if (cloned.status !== 0) throw new Error(cloned.stderr);
  });

  test.after(async () => {
    try {
      await cleanup();
    } finally {
      await proxy?.stop();
      await registry?.stop();
    }
  });

  test('the first job builds and pushes both images', async () => {
    assert.is((await stat(path.join(second, 'files/hello.txt'))).mode & 0o777, 0o664, 'the clone is under another umask');
    const result = await run(first, ['deploy']);
    assert.is(result.code, 0, result.stderr + result.stdout);
    assert.is(finishOf(result, 'app')!.status, 'built');
    assert.is(finishOf(result, 'web')!.status, 'built');
    assert.is(finishOf(result, 'tool')!.status, 'built');
    assert.equal((await registry.tags(`bi-${RUN_ID}/web`)).sort(), ['1']);
  });

  test('a fresh runner with nothing changed pulls nothing, builds nothing, uploads no layer, tags latest registry-side and says why', async () => {
    await freshEngine();
    const before = proxy.requests().length;
    const result = await run(second, ['deploy', 'deploy_latest']);
    assert.is(result.code, 0, result.stderr + result.stdout);
    for (const image of ['app', 'web', 'tool']) {
      const finish = finishOf(result, image) as { status: string; reason?: string; registry?: { name: string; digest: string } };
      assert.is(finish.status, 'skipped', image);
      assert.is(finish.registry?.name, reg);
      assert.match(finish.reason!, new RegExp(`^up to date in ${reg}: ${reg}/bi-${RUN_ID}/${image}:1 carries the same inputs digest$`));
      assert.is(finish.registry?.digest, await manifestDigest(`bi-${RUN_ID}/${image}`, '1'));
    }
    assert.equal(events(result, 'pull'), [], 'no base pulled');
    assert.is(await imageInfo(`${reg}/bi-${RUN_ID}/base:1`), undefined, 'the base is still not on the engine');
    const requests = proxy.requests().slice(before);
    assert.equal(movesLayers(requests, await configDigests()), [], requests.join('\n'));
    // Per image: its manifest and config, a HEAD per tag deploy pushes, a PUT of latest; the base once; one 401 per repository and kind.
    assert.ok(requests.length <= 24, `${requests.length} registry requests`);
    const pushes = events(result, 'push').map((e) => `${e['tag']} ${e['status']}`);
    assert.ok(pushes.includes(`${reg}/bi-${RUN_ID}/web:1 present`), pushes.join('\n'));
    assert.ok(pushes.includes(`${reg}/bi-${RUN_ID}/web:latest tagged`), pushes.join('\n'));
    if (registry.tokens) {
      const scopes = registry.tokens.asked().flat();
      assert.ok(scopes.includes(`repository:bi-${RUN_ID}/web:pull`), 'read with a token');
      assert.ok(scopes.includes(`repository:bi-${RUN_ID}/web:pull,push`), 'latest put with a push token');
    }
    assert.is(await manifestDigest(`bi-${RUN_ID}/web`, 'latest'), await manifestDigest(`bi-${RUN_ID}/web`, '1'), 'latest is the same manifest');
    assert.match(result.stderr, new RegExp(`web: up to date in ${reg.replace(/\./g, '\\.')} \\(sha256:[0-9a-f]{64}; up to date in`));
  });

  test('a file changed in the next job rebuilds the image that copies it, on its base pulled by digest, and pushes it alone', async () => {
    await freshEngine();
    await writeFile(path.join(second, 'web/index.html'), '<h1>two</h1>\n');
    const before = proxy.requests().length;
    const result = await run(second, ['deploy']);
    assert.is(result.code, 0, result.stderr + result.stdout);
    assert.is(finishOf(result, 'app')!.status, 'skipped');
    assert.is(finishOf(result, 'web')!.status, 'built');
    assert.is(finishOf(result, 'web')!.reason, 'inputs changed (web/index.html)', 'told against the image the last job pushed');
    assert.equal(
      events(result, 'pull').map((e) => e['ref']),
      [`${reg}/bi-${RUN_ID}/app@${(finishOf(result, 'app') as unknown as { registry: { digest: string } }).registry.digest}`],
    );
    const pushed = events(result, 'push').filter((e) => e['status'] === 'pushed');
    assert.equal(
      pushed.map((e) => e['tag']),
      [`${reg}/bi-${RUN_ID}/web:1`],
    );
    const requests = proxy.requests().slice(before);
    assert.not.ok(
      requests.some((r) => r.includes(`/bi-${RUN_ID}/app/blobs/uploads/`)),
      'nothing of app uploaded',
    );
    const served = await runIn(`${reg}/bi-${RUN_ID}/web:1`, ['cat', '/srv/index.html', '/etc/app.conf']);
    assert.is(served.output, '<h1>two</h1>\na: 1\nb: 2\n');
  });

  test('an image that must be built on a fresh runner takes its layers from the image it pushed last (inline cache), where the builder can', async () => {
    await freshEngine();
    await writeFile(path.join(second, 'tool/conf.txt'), 'level: 2\n');
    const result = await run(second, ['deploy']);
    assert.is(result.code, 0, result.stderr + result.stdout);
    assert.is(finishOf(result, 'tool')!.status, 'built');
    const runStep = events(result, 'step')
      .filter((e) => e['image'] === 'tool')
      .map((e) => e['step'] as { name: string; cached: boolean })
      .filter((step) => step.name.includes('echo expensive'));
    assert.ok(runStep.length > 0, 'the RUN step is reported');
    if (process.env['BUILD_IMAGES_BUILDER'] === 'classic') {
      assert.not.ok(
        runStep.some((step) => step.cached),
        'the classic builder pulls no cache',
      );
      assert.match(result.stdout, /the classic builder reuses layers only of cache images already on the engine/);
    } else {
      assert.ok(
        runStep.some((step) => step.cached),
        JSON.stringify(runStep),
      );
    }
    const served = await runIn(`${reg}/bi-${RUN_ID}/tool:1`, ['cat', '/etc/tool.conf', '/opt-expensive']);
    assert.is(served.output, 'level: 2\nexpensive\n');
  });

  test('a tag in another repository of the registry is made by mounting its blobs: nothing uploaded, the same manifest', async () => {
    const from = `${reg}/bi-${RUN_ID}/app:1`;
    const to = `${reg}/bi-${RUN_ID}/mirror/app:copied`;
    const credentials = { registry: reg, username: USER, password: PASSWORD };
    const held = await remoteImage(from, credentials);
    assert.ok(held);
    const before = proxy.requests().length;
    assert.is(await putRemoteTag(held!, to, credentials), held!.digest);
    const requests = proxy.requests().slice(before);
    assert.ok(
      requests.some((r) => r.startsWith(`POST /v2/bi-${RUN_ID}/mirror/app/blobs/uploads/?mount=`)),
      requests.join('\n'),
    );
    assert.not.ok(
      requests.some((r) => /^(PATCH|PUT) .*\/blobs\/uploads\//.test(r)),
      requests.join('\n'),
    );
    assert.is(await manifestDigest(`bi-${RUN_ID}/mirror/app`, 'copied'), held!.digest);
  });

  test('--dry-run says it would ask the registry, and asks nothing', async () => {
    const before = proxy.requests().length;
    const result = await cli(['--dry-run', 'deploy'], { cwd: second, env: ENV });
    assert.is(result.code, 0, result.stderr);
    assert.match(result.stdout, /web: would first ask the registry whether .*web:1 already holds these inputs/);
    assert.is(proxy.requests().length, before);
  });

  /** A manifest as a consumer reads it (asking for schema 2, which the registry otherwise converts). */
  async function manifest(repository: string, tag: string): Promise<Buffer> {
    const response = await fetch(`http://${registry.address}/v2/${repository}/manifests/${tag}`, {
      headers: {
        accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json',
        authorization: registry.authorization(`/v2/${repository}/manifests/${tag}`),
      },
    });
    if (!response.ok) throw new Error(`${repository}:${tag}: HTTP ${response.status}`);
    return Buffer.from(await response.arrayBuffer());
  }

  const manifestDigest = async (repository: string, tag: string) =>
    `sha256:${createHash('sha256')
      .update(await manifest(repository, tag))
      .digest('hex')}`;

  /** The config blobs of what the registry holds: reading those is the check, not a pull. */
  async function configDigests(): Promise<string[]> {
    const digests: string[] = [];
    for (const name of ['base', 'app', 'web', 'tool']) {
      const body = await manifest(`bi-${RUN_ID}/${name}`, '1').catch(() => undefined);
      if (body) digests.push((JSON.parse(body.toString()) as { config: { digest: string } }).config.digest);
    }
    return digests;
  }

  test.run();
}

registrySuite(false);
registrySuite(true);
