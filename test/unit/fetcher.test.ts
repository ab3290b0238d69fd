// The fetch step's downloads, against a real HTTP server on loopback.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { buffer } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RunError } from '../../pipeline/model/errors.ts';
import { createFetcher } from '../../pipeline/context/fetcher.ts';
import { fetchSettings } from '../support/fetch.ts';

const test = suite('fetch over HTTP');
let server: http.Server;
let base = '';
let body = 'tosca_definitions_version: cloudify_dsl_1_3\n';
let hits = 0;
let archive = Buffer.alloc(0);
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

test.before(async () => {
  const pack = tar.pack();
  pack.entry({ name: 'docker/dockerd', mode: 0o755 }, 'daemon');
  pack.entry({ name: 'docker/docker', mode: 0o755 }, 'the client');
  pack.finalize();
  archive = gzipSync(await buffer(pack));
  server = http.createServer((req, res) => {
    hits++;
    if (req.url === '/types.yaml') res.end(body);
    else if (req.url === '/moved') res.writeHead(302, { location: '/types.yaml' }).end();
    else if (req.url === '/client.tgz') res.end(archive);
    else if (req.url === '/broken') res.writeHead(500).end('<html>Internal Server Error</html>');
    else res.writeHead(404).end('<html>Not Found</html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
test.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
test.before.each(() => {
  body = 'tosca_definitions_version: cloudify_dsl_1_3\n';
  hits = 0;
});

async function failure(p: Promise<unknown>): Promise<string> {
  const outcome = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(outcome, RunError, 'it should fail with a RunError');
  return (outcome as RunError).message;
}

test('200: the body lands in the cache under its digest and the lock pins it', async () => {
  const s = await fetchSettings();
  const got = await createFetcher(s).fetch(`${base}/types.yaml`);
  assert.is(got.sha256, sha(body));
  assert.is(await readFile(got.path, 'utf8'), body);
  const lock = JSON.parse(await readFile(s.lockPath, 'utf8'));
  assert.equal(lock.fetched[`${base}/types.yaml`], { sha256: sha(body), size: body.length });
});

test('a URL that holds a value given with --set or by the environment is pinned under its digest, never written out', async () => {
  const s = { ...(await fetchSettings()), given: [['TYPES', `${base}/types.yaml`]] as const };
  const url = `${base}/types.yaml`;
  await createFetcher(s).fetch(url);
  const text = await readFile(s.lockPath, 'utf8');
  assert.not.match(text, base);
  assert.equal(JSON.parse(text).fetched, { [`sha256:${sha(url)}`]: { sha256: sha(body), size: body.length } });
  body = 'changed\n';
  const cold = { ...s, cacheDir: `${s.cacheDir}-cold` };
  assert.match(await failure(createFetcher(cold).fetch(url)), /changed: sha256 .* but build-images.lock.json pins/, 'the pin holds');
});

test('a redirect is followed', async () => {
  const got = await createFetcher(await fetchSettings()).fetch(`${base}/moved`);
  assert.is(await readFile(got.path, 'utf8'), body);
});

test('404 and 500 fail naming the URL and the status; nothing is cached', async () => {
  const s = await fetchSettings();
  assert.match(await failure(createFetcher(s).fetch(`${base}/missing.yaml`)), new RegExp(`fetching ${base}/missing.yaml failed: HTTP 404`));
  assert.match(await failure(createFetcher(s).fetch(`${base}/broken`)), /HTTP 500/);
  assert.is(await readFile(s.lockPath, 'utf8').catch(() => 'none'), 'none');
});

test('a refused connection fails naming the URL', async () => {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  assert.match(
    await failure(createFetcher(await fetchSettings()).fetch(`http://127.0.0.1:${port}/x`)),
    new RegExp(`fetching http://127.0.0.1:${port}/x failed: ECONNREFUSED`),
  );
});

test('a sha256 given in the config is checked', async () => {
  const message = await failure(createFetcher(await fetchSettings()).fetch(`${base}/types.yaml`, { sha256: sha('something else') }));
  assert.match(message, /sha256 is [0-9a-f]{64}, but the config expects/);
});

test('a pinned file that changed upstream fails until --update-lock', async () => {
  const s = await fetchSettings();
  await createFetcher(s).fetch(`${base}/types.yaml`);
  body = 'changed\n';
  await readFile(s.lockPath);
  // A warm cache answers without the network, so empty it to make the fetcher ask again.
  const cold = { ...s, cacheDir: `${s.cacheDir}-cold` };
  assert.match(await failure(createFetcher(cold).fetch(`${base}/types.yaml`)), /changed: sha256 .* but build-images.lock.json pins/);
  const updated = await createFetcher({ ...cold, updateLock: true }).fetch(`${base}/types.yaml`);
  assert.is(updated.sha256, sha('changed\n'));
  assert.is(JSON.parse(await readFile(s.lockPath, 'utf8')).fetched[`${base}/types.yaml`].sha256, sha('changed\n'));
});

test('with a warm cache a rebuild needs no network, and --offline works', async () => {
  const s = await fetchSettings();
  await createFetcher(s).fetch(`${base}/types.yaml`);
  hits = 0;
  const again = await createFetcher({ ...s, offline: true }).fetch(`${base}/types.yaml`);
  assert.is(await readFile(again.path, 'utf8'), body);
  assert.is(hits, 0, 'the server was not asked');
  const cold = { ...s, offline: true, cacheDir: `${s.cacheDir}-empty` };
  assert.match(await failure(createFetcher(cold).fetch(`${base}/types.yaml`)), /not in the cache and --offline forbids fetching it/);
});

test('one member of a fetched .tar.gz is extracted once, into the cache; a missing one is named', async () => {
  const fetcher = createFetcher(await fetchSettings());
  const fetched = await fetcher.fetch(`${base}/client.tgz`);
  const member = await fetcher.extract(fetched, './docker/docker', `${base}/client.tgz`);
  assert.is(await readFile(member, 'utf8'), 'the client');
  await rm(fetched.path);
  assert.is(await fetcher.extract(fetched, 'docker/docker', `${base}/client.tgz`), member, 'the second time, no archive is read');
  const missing = await fetcher.fetch(`${base}/client.tgz`);
  assert.match(await failure(fetcher.extract(missing, 'docker/nope', `${base}/client.tgz`)), /client.tgz has no file docker\/nope/);
});

test.run();
