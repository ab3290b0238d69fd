// Fault tests of fetching, against misbehaving servers on loopback (test/support/loopback.ts): bodies that
// are not what the step expects, servers that hang, a lock file that is damaged or hostile, and runs that
// pin at the same time. To add one: a Behaviour in loopback.ts, a test here saying what the user sees.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { UserError } from '../../pipeline/model/errors.ts';
import { createFetcher, LOCK_FILE, memberName, type FetchSettings } from '../../pipeline/context/fetcher.ts';
import { answer, drip, loopback, routes, silent, type Loopback } from '../support/loopback.ts';
import { problemsOf, yaml } from '../support/config.ts';
import { fetchSettings, rejection } from '../support/fetch.ts';

const test = suite('faults: fetching');
let server: Loopback;
const YAML = 'tosca_definitions_version: cloudify_dsl_1_3\n';
const HTML_PAGE = '<!DOCTYPE html>\n<html><body>Nexus Repository Manager: sign in</body></html>\n';

test.before(async () => {
  server = await loopback(
    routes({
      '/types.yaml': answer(YAML, 'application/x-yaml'),
      '/html.yaml': answer(HTML_PAGE, 'text/html; charset=utf-8'),
      '/html-as-octets.bin': answer(HTML_PAGE, 'application/octet-stream'),
      '/empty.yaml': answer(''),
      '/broken.yaml': answer('a: [1, 2\nb: {\n', 'text/plain'),
      '/not-gzip.tgz': answer('plain bytes'),
      '/client.tgz': answer(gzipSync('x'.repeat(1024))),
      '/page.html': answer(HTML_PAGE, 'text/html'),
      '/drip.bin': drip(200),
      '/silent.bin': silent,
      ...Object.fromEntries([1, 2, 3, 4, 5].map((n) => [`/f${n}.bin`, answer(`file ${n}\n`)])),
    }),
  );
});
test.after(() => server.close());

const lockOf = async (s: FetchSettings) => readFile(s.lockPath, 'utf8').catch(() => 'no lock');
const cached = async (s: FetchSettings) => readdir(path.join(s.cacheDir, 'sha256')).catch(() => []);

// --- bodies that are not what the step expects: an error naming the URL and the content type, nothing pinned

for (const [name, url, expect, said] of [
  [
    'an HTML page for a .yaml (ONAP 2019, "bad types file download")',
    '/html.yaml',
    'yaml',
    /did not give a YAML file: an HTML page \(content type text\/html; charset=utf-8\)/,
  ],
  ['an HTML page with a binary content type', '/html-as-octets.bin', 'binary', /did not give a file: an HTML page \(content type application\/octet-stream\)/],
  ['an empty body', '/empty.yaml', 'yaml', /did not give a YAML file: the body is empty/],
  ['a .yaml that does not parse', '/broken.yaml', 'yaml', /did not give a YAML file: not valid YAML .* \(content type text\/plain\)/],
  ['an archive that is not gzip', '/not-gzip.tgz', 'archive', /did not give a .tar.gz archive: not gzip data/],
] as const) {
  test(`${name} fails naming the URL, and is neither cached nor pinned`, async () => {
    const s = await fetchSettings();
    const err = await rejection(createFetcher(s).fetch(`${server.url}${url}`, { expect }));
    assert.match(err.message, `${server.url}${url}`);
    assert.match(err.message, said);
    assert.is(await lockOf(s), 'no lock');
    assert.equal(await cached(s), []);
    assert.equal(await readdir(path.join(s.cacheDir, 'tmp')).catch(() => []), [], 'no temporary file is left');
  });
}

test('what is expected passes: YAML, a gzip archive, and an HTML page asked for as text', async () => {
  const fetcher = createFetcher(await fetchSettings());
  await fetcher.fetch(`${server.url}/types.yaml`, { expect: 'yaml' });
  await fetcher.fetch(`${server.url}/client.tgz`, { expect: 'archive' });
  await fetcher.fetch(`${server.url}/page.html`, { expect: 'text' });
});

test('a cached body is checked once for what a step expects of it, and again when another step expects more', async () => {
  const s = await fetchSettings();
  const url = `${server.url}/broken.yaml`;
  const { sha256 } = await createFetcher(s).fetch(url, { expect: 'binary' });
  assert.ok(((await cached(s)) as string[]).includes(`${sha256}.checked-binary`), 'its check is remembered beside it');
  assert.is((await createFetcher(s).fetch(url, { expect: 'binary' })).sha256, sha256);
  const err = await rejection(createFetcher(s).fetch(url, { expect: 'yaml', sha256 }));
  assert.match(err.message, /did not give a YAML file: not valid YAML .*, in the cache as /);
});

// --- bounded time

test('a server that drips a byte every 200 ms fails at the idle timeout: a byte now and then is no progress', async () => {
  const started = Date.now();
  const err = await rejection(createFetcher(await fetchSettings()).fetch(`${server.url}/drip.bin`, { timeouts: { connect: 5, idle: 1 } }));
  assert.match(err.message, new RegExp(`fetching ${server.url}/drip.bin timed out: less than 1 KiB came in 1 s`));
  assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
});

test('a server that never answers fails at the connect timeout, not after 300 s', async () => {
  const started = Date.now();
  const err = await rejection(createFetcher(await fetchSettings()).fetch(`${server.url}/silent.bin`, { timeouts: { connect: 1, idle: 5 } }));
  assert.match(err.message, new RegExp(`fetching ${server.url}/silent.bin timed out: no answer within 1 s`));
  assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
});

// --- the lock file: checked before anything in it becomes a path

test('a lock whose sha256 is a path (../../root/.docker/config.json) is refused, naming the file and the entry, before any request', async () => {
  const s = await fetchSettings();
  const secret = path.join(path.dirname(s.lockPath), 'config.json');
  await writeFile(secret, '{"auths": {"registry": {"auth": "c2VjcmV0"}}}');
  const traversal = path.relative(path.join(s.cacheDir, 'sha256'), secret);
  const url = `${server.url}/types.yaml`;
  await writeFile(s.lockPath, JSON.stringify({ lockfileVersion: 1, fetched: { [url]: { sha256: traversal, size: 10 } } }));
  const before = server.requests();
  const err = await rejection(createFetcher(s).fetch(url, { expect: 'yaml' }));
  assert.instance(err, UserError);
  assert.match(err.message, `${LOCK_FILE} is not a build-images lock file at fetched › "${url}" › sha256: a sha256 is 64 lower-case hex digits`);
  assert.is(server.requests(), before);
});

for (const [name, content, said] of [
  ['merge-conflict markers', '{\n<<<<<<< HEAD\n  "lockfileVersion": 1,\n=======\n  "lockfileVersion": 1,\n>>>>>>> feature\n}\n', /has merge-conflict markers/],
  ['{}', '{}', /is not a build-images lock file at lockfileVersion/],
  ['null', 'null', /is not a build-images lock file: /],
  ['an empty file', '', /is empty/],
  ['JSON cut short', '{"lockfileVersion": 1, "fetched": {', /is not valid JSON/],
] as const) {
  test(`a lock file with ${name} is a clear error naming it (exit 2)`, async () => {
    const s = await fetchSettings();
    await writeFile(s.lockPath, content);
    const err = await rejection(createFetcher(s).fetch(`${server.url}/types.yaml`));
    assert.instance(err, UserError);
    assert.match(err.message, LOCK_FILE);
    assert.match(err.message, said);
    assert.is(await readFile(s.lockPath, 'utf8'), content, 'the file is left as it was');
  });
}

test('a lock file that is a directory is a clear error naming it', async () => {
  const s = await fetchSettings();
  await mkdir(s.lockPath, { recursive: true });
  const err = await rejection(createFetcher(s).fetch(`${server.url}/types.yaml`));
  assert.instance(err, UserError);
  assert.match(err.message, `${LOCK_FILE} is a directory`);
});

test('a URL with a password in an old lock is not printed with it', async () => {
  const s = await fetchSettings();
  await writeFile(s.lockPath, JSON.stringify({ lockfileVersion: 1, fetched: { 'http://user:hunter2@example.test/a': { sha256: 'x', size: 1 } } }));
  const err = await rejection(createFetcher(s).fetch(`${server.url}/types.yaml`));
  assert.not.match(err.message, 'hunter2');
  assert.match(err.message, 'http://***@example.test/a');
});

// --- archive members

test('an archive member that climbs out or is absolute is refused', async () => {
  for (const member of ['../../../../etc/shadow', '/etc/shadow', 'a/../../b', './']) assert.is(memberName(member), undefined, member);
  assert.is(memberName('./docker/docker'), 'docker/docker');
  const fetcher = createFetcher(await fetchSettings());
  const archive = await fetcher.fetch(`${server.url}/client.tgz`, { expect: 'archive' });
  const err = await rejection(fetcher.extract(archive, '../../../../../../etc/shadow', `${server.url}/client.tgz`));
  assert.match(err.message, /is not a file inside the archive/);
});

// --- concurrent runs

test('five runs pinning at once keep every pin', async () => {
  const s = await fetchSettings();
  // One fetcher per run: each has its own idea of the lock, as separate processes do.
  await Promise.all([1, 2, 3, 4, 5].map(async (n) => createFetcher({ ...s }).fetch(`${server.url}/f${n}.bin`)));
  const lock = JSON.parse(await readFile(s.lockPath, 'utf8')) as { fetched: Record<string, unknown> };
  assert.equal(Object.keys(lock.fetched).sort(), [1, 2, 3, 4, 5].map((n) => `${server.url}/f${n}.bin`).sort());
  assert.equal((await readdir(path.dirname(s.lockPath))).filter((f) => f !== 'cache').sort(), [LOCK_FILE], 'no lock or temporary file is left');
});

// --- what the config refuses before any run

test('a fetch URL with a user and password is refused at its line, without echoing the password', () => {
  const problems = problemsOf(yaml`
variables: { URL: 'http://deploy:hunter2@nexus.example.test/types.yaml' }
images:
  app:
    base: alpine:3
    tags: [app:1]
    steps:
      - fetch: { url: '\${URL}', to: /types/ }
      - fetch: { url: 'https://token@nexus.example.test/b.yaml', to: /types/ }
`);
  assert.is(problems.length, 2, problems.join('\n'));
  for (const problem of problems) assert.match(problem, /a fetch URL may not carry a user or password/);
  assert.not.match(problems.join('\n'), 'hunter2');
});

test('an archive member that climbs out is a config error at its line', () => {
  const problems = problemsOf(yaml`
images:
  app:
    base: alpine:3
    tags: [app:1]
    steps:
      - fetch: { url: 'https://example.test/c.tgz', extract: ../../etc/shadow, to: /x }
`);
  assert.is(problems.length, 1);
  assert.match(problems[0]!, /^6:\d+ extract names a file inside the archive: a relative path without \.\./);
});

test('an image name that would put a command stamp outside .build-images/ is a config error at the image', () => {
  const problems = problemsOf(yaml`
images:
  a/../../../../tmp/x:
    base: alpine:3
    tags: [app:1]
    steps:
      - command: { run: 'true', outputs: [out] }
`);
  assert.equal(problems, [
    "3:5 'commands/a/../../../../tmp/x-0' would be written outside .build-images/ (an image's name is used in file names: no '.' or '..' between its slashes)",
  ]);
});

test.run();
