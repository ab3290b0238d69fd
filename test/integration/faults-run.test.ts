// Fault tests of whole runs, on the real engine, with misbehaving servers on loopback
// (test/support/loopback.ts): hostile state files, links and names that lead out of the project,
// credentials in URLs, concurrent runs, damaged caches, a context that changes under the packer, an
// engine that hangs up, a registry that answers 500. Each test says what the user sees and checks that
// nothing was left half-done. To add one: a project, a run, the message and exit code a user should get.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { cli, project, type CliResult } from '../support/cli.ts';
import { cleanup, docker, importImage, imageInfo, requireEngine, rootfs, RUN_ID, RUN_LABEL, runIn, testTag } from '../support/engine.ts';
import { answer, loopback, routes, status, type Loopback } from '../support/loopback.ts';
import Docker from 'dockerode';
import { digestContext, fileChunks, listEntries, packEntries } from '../../pipeline/context/pack-context.ts';
import { createBuildkitBuilder } from '../../pipeline/engine/buildkit/index.ts';
import { engineApi } from '../../pipeline/engine/docker/engine-api.ts';
import { createClassicBuilder } from '../../pipeline/engine/docker-classic/classic-builder.ts';
import { connectionOptions, describeConnection, type ConnectionOptions } from '../../pipeline/engine/docker/connection.ts';
import { engineFailure } from '../../pipeline/engine/docker/docker-engine.ts';
import type { PackEntry } from '../../pipeline/model/context-entries.ts';
import { tempDir } from '../support/temp.ts';

/** The classic builder on an engine, as createEngine makes it. */
function classicBuilder(options: ConnectionOptions = connectionOptions()) {
  return createClassicBuilder(new Docker(options), engineFailure(describeConnection(options)));
}

function buildRequest(entries: readonly PackEntry[], labels: Record<string, string> = {}) {
  return {
    context: { entries, tar: () => packEntries(entries), read: fileChunks },
    buildargs: {},
    labels,
    noCache: false,
    signal: new AbortController().signal,
    onProgress: () => {},
    credentials: async () => undefined,
    secrets: new Map(),
  };
}

const test = suite('faults: whole runs');
const BASE = testTag('faults-base', '1');
const PASSWORD = 'pw-Sup3r-s3cret';
let server: Loopback;
let cacheDir = '';

test.before(async () => {
  await requireEngine();
  await importImage(BASE, await rootfs(), { [RUN_LABEL]: RUN_ID });
  server = await loopback(
    routes({
      '/types.yaml': answer('tosca_definitions_version: cloudify_dsl_1_3\n', 'application/x-yaml'),
      ...Object.fromEntries([1, 2, 3, 4, 5].map((n) => [`/f${n}.yaml`, answer(`file: ${n}\n`, 'application/x-yaml')])),
    }),
  );
  cacheDir = await tempDir('bi-faults-cache-');
});
test.after(async () => {
  await server.close();
  await cleanup();
});

/** Every file below a directory (links not followed). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

/** A run with its own fetch cache, never the user's. */
const run = (args: string[], cwd: string, env: Record<string, string> = {}) => cli(args, { cwd, env: { BUILD_IMAGES_CACHE: cacheDir, ...env } });

const config = (steps: string, name = 'app') => `
images:
  ${name}:
    base: ${BASE}
    tags: ['${testTag(name.replace(/[^a-z0-9]/g, ''), '1')}']
    steps:
${steps
  .trim()
  .split('\n')
  .map((line) => `      ${line}`)
  .join('\n')}
`;

function cleanExit(result: CliResult, code: number, ...said: (string | RegExp)[]): void {
  assert.is(result.code, code, result.stderr + result.stdout);
  // A config error is on stderr; a failed build is in the report, on stdout.
  for (const s of said) assert.match(result.stderr + result.stdout, s);
  assert.not.match(result.stderr + result.stdout, /internal error|\n\s+at /, 'no stack trace');
}

// --- nothing outside the project reaches an image

test("a lock whose sha256 points at the host's credentials is exit 2, naming the lock and the entry; nothing is fetched or built", async () => {
  const url = `${server.url}/types.yaml`;
  const dir = await project({ 'build.config.yaml': config(`- fetch: { url: '${url}', to: /types/ }`) });
  const traversal = '../../../../../../../../../root/.docker/config.json';
  await writeFile(path.join(dir, 'build-images.lock.json'), JSON.stringify({ lockfileVersion: 1, fetched: { [url]: { sha256: traversal, size: 1 } } }));
  const before = server.requests();
  const result = await run(['app'], dir);
  cleanExit(result, 2, `build-images.lock.json is not a build-images lock file at fetched › "${url}" › sha256`);
  assert.is(server.requests(), before);
  assert.is(await imageInfo(testTag('app', '1')), undefined);
});

test('extract: ../../etc/shadow is a config error at its line', async () => {
  const dir = await project({ 'build.config.yaml': config(`- fetch: { url: '${server.url}/c.tgz', extract: ../../../../etc/shadow, to: /x }`) });
  const result = await run(['--dry-run'], dir);
  cleanExit(result, 2, /build.config.yaml:\d+:\d+: error: extract names a file inside the archive: a relative path without \.\./);
});

test('copy through a link out of the project (escape -> /etc) is exit 2 at the copy’s from, in a dry run too; nothing is built', async () => {
  const dir = await project({ 'build.config.yaml': config('- copy: { from: escape/passwd, to: /stolen }') });
  await symlink('/etc', path.join(dir, 'escape'));
  for (const args of [['--dry-run'], ['app']]) {
    const result = await run(args, dir);
    cleanExit(result, 2, /^build\.config\.yaml:7:23: error: copy: 'escape\/passwd' leads outside/);
  }
  assert.is(await imageInfo(testTag('app', '1')), undefined);
});

test('a copied path that is itself a link (to a file, to /etc) is exit 2 at the copy’s from, in a dry run too; nothing is built', async () => {
  for (const [link, target, hint] of [
    ['tool', 'bin/tool', /hint: copy what it points to: from: bin\/tool/],
    ['etc', '/etc', /hint: it points outside/],
  ] as const) {
    const dir = await project({ 'build.config.yaml': config(`- copy: { from: ${link}, to: /x }`), 'bin/tool': 'tool\n' });
    await symlink(target, path.join(dir, link));
    for (const args of [['--dry-run'], ['app']]) {
      const result = await run(args, dir);
      cleanExit(result, 2, new RegExp(`^build\\.config\\.yaml:7:23: error: copy: '${link}' is a symbolic link \\(to ${target.replace('/', '\\/')}\\)`), hint);
      assert.not.match(result.stderr + result.stdout, /failed to compute cache key/);
    }
    assert.is(await imageInfo(testTag('app', '1')), undefined);
  }
});

test('a link inside a copied directory that points out of it is exit 2 at the copy step; one inside it reaches the image as a link', async () => {
  const dir = await project({ 'build.config.yaml': config('- copy: { from: conf, to: /conf/ }', 'linked'), 'conf/a.yaml': 'a: 1\n' });
  await symlink('a.yaml', path.join(dir, 'conf/current.yaml'));
  await symlink('/etc/shadow', path.join(dir, 'conf/shadow'));
  cleanExit(
    await run(['linked'], dir),
    2,
    /^build\.config\.yaml:7:23: error: copy: 'conf\/shadow' is a symbolic link to \/etc\/shadow, outside the copied 'conf'/m,
  );
  assert.is(await imageInfo(testTag('linked', '1')), undefined);
  await rm(path.join(dir, 'conf/shadow'));
  cleanExit(await run(['linked'], dir), 0);
  assert.is((await runIn(testTag('linked', '1'), ['readlink', '/conf/current.yaml'])).output, 'a.yaml\n');
});

test('an image named a/../../../tmp/x is exit 2 at its line, and nothing is written outside .build-images/', async () => {
  const outside = path.join(os.tmpdir(), `bi-escape-${RUN_ID}`);
  const name = `a/../../../../../../..${outside}`;
  const dir = await project({ 'build.config.yaml': config("- command: { run: 'true', outputs: [out] }", name) });
  const result = await run(['clean'], dir);
  cleanExit(result, 2, /build.config.yaml:\d+:\d+: error: '.*' would be written outside .build-images\//);
  assert.is(await stat(`${outside}-0`).catch(() => 'absent'), 'absent');
});

// --- secrets

test('no file the tool writes holds a value given with --set or taken from the environment, and runs that recall them still use it', async () => {
  const token = 'tok-Qz81-given';
  const tag = 'tag-env-5k2w';
  const outside = await tempDir('bi-values-src-');
  await writeFile(path.join(outside, 'file.txt'), 'from a source elsewhere\n');
  // Older than two seconds, so that digests.json keeps its digest.
  await utimes(path.join(outside, 'file.txt'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  const image = testTag('values', tag);
  const dir = await project({
    'build.config.yaml': `
variables:
  TAG: '1'
  TOKEN: none
  REPO: none
  SRC: ../none
sources:
  ext: \${SRC}
images:
  values:
    base: ${BASE}
    tags: ['${image.replace(`:${tag}`, ':${TAG}')}']
    labels: { token: 'label-\${TOKEN}' }
    args: { T: '\${TOKEN}' }
    steps:
      - fetch: { url: '\${REPO}/types.yaml', to: /types/ }
      - edit: { file: /etc/group, appendLine: 'values:x:4242:\${TOKEN}' }
      - copy: { from: 'ext:file.txt', to: /from-src.txt }
      - env: { A: 'env-\${TOKEN}' }
`,
  });
  const cache = await tempDir('bi-values-cache-');
  const args = ['--set', `TOKEN=${token}`, '--set', `REPO=${server.url}`];
  const env = { BUILD_IMAGES_CACHE: cache, TAG: tag, SRC: outside };
  for (const line of [
    ['--dry-run', ...args],
    [...args, 'values'],
    [...args, 'values'],
    ['--dry-run', ...args],
  ]) {
    const result = await cli(line, { cwd: dir, env });
    assert.is(result.code, 0, result.stderr + result.stdout);
  }
  assert.is((await runIn(image, ['sh', '-c', 'tail -n 1 /etc/group; echo "$A"'])).output, `values:x:4242:${token}\nenv-${token}\n`);
  const written = [...(await filesUnder(cache)), ...(await filesUnder(path.join(dir, '.build-images'))), path.join(dir, 'build-images.lock.json')];
  for (const kind of ['prepared-configs/', 'edited-files/', 'pruned.json', 'digests.json', 'build-images.lock.json'])
    assert.ok(
      written.some((f) => f.includes(kind)),
      `${kind} was written:\n${written.join('\n')}`,
    );
  const leaks: string[] = [];
  for (const file of written) {
    const text = await readFile(file, 'latin1');
    for (const value of [token, tag, server.url, outside, ...(process.env['DOCKER_HOST'] ? [process.env['DOCKER_HOST']] : [])])
      if (text.includes(value) || file.includes(value)) leaks.push(`${file} holds ${value}`);
  }
  assert.equal(leaks, []);
});

test('a fetch URL with a password is refused at config time, and the password appears nowhere', async () => {
  const url = `http://user:${PASSWORD}@127.0.0.1:${new URL(server.url).port}/types.yaml`;
  const written = await project({ 'build.config.yaml': config(`- fetch: { url: '${url}', to: /types/ }`) });
  const viaSet = await project({ 'build.config.yaml': `variables: { TYPES: none }\n${config("- fetch: { url: '${TYPES}', to: /types/ }")}` });
  const before = server.requests();
  for (const [dir, args] of [
    [written, ['--json', 'app']],
    [viaSet, ['--json', '--set', `TYPES=${url}`, 'app']],
    [written, ['--dry-run', '--json']],
  ] as const) {
    const result = await run([...args], dir);
    cleanExit(result, 2, /a fetch URL may not carry a user or password/);
    assert.not.match(result.stdout + result.stderr, PASSWORD);
    assert.is(await readFile(path.join(dir, 'build-images.lock.json'), 'utf8').catch(() => 'no lock'), 'no lock');
  }
  assert.is(server.requests(), before, 'nothing was fetched');
  assert.is(await imageInfo(testTag('app', '1')), undefined, 'no image, so no label or history holds it');
});

// --- state files

test('a lock file with merge-conflict markers is exit 2 naming it, with no stack trace', async () => {
  const dir = await project({ 'build.config.yaml': config(`- fetch: { url: '${server.url}/types.yaml', to: /types/ }`) });
  await writeFile(path.join(dir, 'build-images.lock.json'), '<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> other\n');
  cleanExit(await run(['app'], dir), 2, 'build-images.lock.json has merge-conflict markers');
});

test('five runs at once in one project keep every pin', async () => {
  const images = [1, 2, 3, 4, 5].map((n) => config(`- fetch: { url: '${server.url}/f${n}.yaml', to: /f/ }`, `i${n}`).replace(/^\nimages:\n/, '')).join('');
  const dir = await project({ 'build.config.yaml': `images:\n${images}` });
  const results = await Promise.all([1, 2, 3, 4, 5].map((n) => run([`i${n}`], dir)));
  results.forEach((result) => assert.is(result.code, 0, result.stderr));
  const lock = JSON.parse(await readFile(path.join(dir, 'build-images.lock.json'), 'utf8')) as { fetched: Record<string, unknown> };
  assert.equal(Object.keys(lock.fetched).sort(), [1, 2, 3, 4, 5].map((n) => `${server.url}/f${n}.yaml`).sort());
  assert.equal(
    (await readdir(dir)).filter((f) => f.startsWith('build-images.lock.json')),
    ['build-images.lock.json'],
    'no lock or temporary file is left',
  );
});

test('a truncated .build-images/digests.json is set aside with a notice; the build goes on', async () => {
  const dir = await project({ 'build.config.yaml': config('- copy: { from: conf, to: /conf/ }'), 'conf/a.yaml': 'a: 1\n' });
  await mkdir(path.join(dir, '.build-images'));
  await writeFile(path.join(dir, '.build-images/digests.json'), '{"x": "12');
  const result = await run(['--json', 'app'], dir);
  assert.is(result.code, 0, result.stderr);
  assert.ok(result.events.some((e) => e['type'] === 'notice' && /digests.json is not a digest cache/.test(String(e['message']))));
});

// --- a full disk names the disk, and leaves no empty file

/** A tiny tmpfs, already full. Mounting needs root: the integration suite runs as root (.ci/run). */
async function fullDisk(at: string): Promise<() => Promise<void>> {
  await mkdir(at, { recursive: true });
  const { execFileSync } = await import('node:child_process');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', at]);
  await writeFile(path.join(at, 'filler'), Buffer.alloc(128 * 1024)).catch(() => {});
  return async () => {
    execFileSync('umount', [at]);
  };
}

test('a full disk under .build-images/ fails the command stamp and the digest cache naming the disk, with no temporary file left', async () => {
  for (const steps of ["- command: { run: 'true', outputs: [out] }", '- copy: { from: conf, to: /conf/ }']) {
    const dir = await project({ 'build.config.yaml': config(steps), 'conf/a.yaml': 'a: 1\n' });
    const old = Date.now() / 1000 - 60;
    await utimes(path.join(dir, 'conf/a.yaml'), old, old);
    const unmount = await fullDisk(path.join(dir, '.build-images'));
    try {
      const result = await run(['app'], dir);
      cleanExit(result, 1, /cannot write .*\.build-images\/(commands\/app-0|digests\.json): no space left on the disk that holds it/);
      const left = await readdir(path.join(dir, '.build-images'), { recursive: true });
      assert.equal(
        left.filter((f) => !['filler', 'commands'].includes(f)),
        [],
        `left: ${left.join(', ')}`,
      );
    } finally {
      await unmount();
    }
  }
});

test('a full disk while extracting names the cache, not the archive', async () => {
  const { gzipSync } = await import('node:zlib');
  const tar = (await import('tar-stream')).default;
  const { buffer } = await import('node:stream/consumers');
  const pack = tar.pack();
  pack.entry({ name: 'docker/docker', mode: 0o755 }, Buffer.alloc(512 * 1024));
  pack.finalize();
  const archive = gzipSync(await buffer(pack));
  const archiveServer = await loopback(answer(archive));
  const cache = await tempDir('bi-faults-fullcache-');
  const { execFileSync } = await import('node:child_process');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', cache]);
  try {
    const dir = await project({ 'build.config.yaml': config(`- fetch: { url: '${archiveServer.url}/c.tgz', extract: docker/docker, to: /usr/bin/docker }`) });
    const result = await run(['app'], dir, { BUILD_IMAGES_CACHE: cache });
    cleanExit(result, 1, /cannot write .*\/extracted\/[0-9a-f]{64}\/docker\/docker: no space left on the disk that holds it/);
    assert.not.match(result.stderr + result.stdout, /not a readable .tar.gz/);
  } finally {
    execFileSync('umount', [cache]);
    await archiveServer.close();
  }
});

// --- the engine's messages

for (const [name, builder] of [
  ['classic', () => classicBuilder()],
  ['BuildKit', () => createBuildkitBuilder(engineApi(connectionOptions()))],
] as const) {
  test(`a context file deleted while sent is named, not reported as an unreachable engine (${name})`, async () => {
    const dir = await project({ 'conf/a.yaml': 'a: 1\n' });
    const entries = await listEntries([
      { kind: 'bytes', name: 'Dockerfile', data: `FROM ${BASE}\nCOPY conf /conf\n`, mode: 0o644 },
      { kind: 'path', name: 'conf', path: path.join(dir, 'conf'), origin: 'conf', excludes: [] },
    ]);
    await digestContext(entries);
    await rm(path.join(dir, 'conf/a.yaml'));
    const failed = await builder()
      .build(buildRequest(entries, { [RUN_LABEL]: RUN_ID }))
      .then(
        () => 'built',
        (err: Error) => err.message,
      );
    assert.is(failed, "'conf/a.yaml' disappeared while the context was being packed");
  });
}

test('a context file changed after it was digested is named, whichever builder sends it', async () => {
  const dir = await project({ 'conf/a.yaml': 'a: 1\n' });
  const entries = await listEntries([
    { kind: 'bytes', name: 'Dockerfile', data: `FROM ${BASE}\nCOPY conf /conf\n`, mode: 0o644 },
    { kind: 'path', name: 'conf', path: path.join(dir, 'conf'), origin: 'conf', excludes: [] },
  ]);
  await digestContext(entries);
  await writeFile(path.join(dir, 'conf/a.yaml'), 'a: 2\n');
  for (const builder of [classicBuilder(), createBuildkitBuilder(engineApi(connectionOptions()))]) {
    const failed = await builder.build(buildRequest(entries, { [RUN_LABEL]: RUN_ID })).then(
      () => 'built',
      (err: Error) => err.message,
    );
    assert.is(failed, "'conf/a.yaml' changed while the context was being packed", builder.name);
  }
});

test('an engine that hangs up during a build is said to have closed the connection, not only "aborted"', async () => {
  // A stand-in engine on a socket of its own: it accepts the build, sends a line of progress, and dies.
  const socketPath = path.join(await tempDir('bi-faults-engine-'), 'docker.sock');
  const fake = net.createServer((socket) => {
    socket.once('data', () => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
      const line = '{"stream":"Step 1/2 : FROM base\\n"}\r\n';
      socket.write(`${line.length.toString(16)}\r\n${line}\r\n`);
      setTimeout(() => socket.destroy(), 100);
    });
  });
  await new Promise<void>((resolve) => fake.listen(socketPath, resolve));
  try {
    const entries = await listEntries([{ kind: 'bytes', name: 'Dockerfile', data: 'FROM base\n', mode: 0o644 }]);
    const failed = await classicBuilder({ socketPath })
      .build(buildRequest(entries))
      .then(
        () => 'built',
        (err: Error) => err.message,
      );
    assert.is(failed, `building: the Docker engine at unix://${socketPath} closed the connection (ECONNRESET)`);
  } finally {
    await new Promise<void>((resolve) => fake.close(() => resolve()));
  }
});

// --- bounded time

test("a registry answering 500 to everything fails a tag in bounded time, the engine's retries and ours together (was ~200 s)", async () => {
  // The graphdriver's pusher retries each layer for ~50 s, the containerd store's fails at once: ours stop
  // once 20 s have passed since the first try, so either store ends within about a minute.
  const registry = await loopback(status(500));
  const tag = `${registry.address}/bi-${RUN_ID}/app:1`;
  try {
    const dir = await project({ 'build.config.yaml': config('- env: { A: b }').replace(`tags: ['${testTag('app', '1')}']`, `tags: ['${tag}']`) });
    const started = Date.now();
    const result = await run(['--json', '-v', 'app', 'deploy'], dir);
    const seconds = (Date.now() - started) / 1000;
    assert.is(result.code, 1, result.stderr);
    const push = result.events.find((e) => e['type'] === 'push' && e['status'] === 'failed');
    assert.ok(push, result.stdout);
    assert.match(String(push!['error']), /500/);
    assert.ok(seconds < 90, `took ${seconds} s`);
    const ours = result.events.filter((e) => e['type'] === 'log' && /^push of .* failed .*; retrying in/.test(String(e['line'])));
    assert.ok(ours.length <= 3, `at most three retries of ours: ${ours.length}`);
    assert.ok(registry.requests() > 0, 'the registry was asked');
  } finally {
    await registry.close();
    await docker
      .getImage(tag)
      .remove({ force: true })
      .catch(() => {});
  }
});

test.run();
