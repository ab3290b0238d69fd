// Our own Engine API client against the real engine: what a failing call says, a build's answer as a
// stream, a context that fails mid-send, an upgrade the engine refuses, and a run that ends on its own
// with the client's kept-alive connection open.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { connectionOptions } from '../../pipeline/engine/docker/connection.ts';
import { engineApi, EngineApiError, ping } from '../../pipeline/engine/docker/engine-api.ts';
import { engineMessage } from '../../pipeline/engine/buildkit/engine-request.ts';
import { RunError } from '../../pipeline/model/errors.ts';
import { requireEngine, TEST_SOCKET } from '../support/engine.ts';

const test = suite('engine API client');
const api = engineApi(connectionOptions());

test.before(requireEngine);

test('a missing image is a 404 carrying the engine’s own words', async () => {
  const err = await api.request('GET', '/images/bi-no-such-image:never/json').then(
    () => assert.unreachable('found an image that does not exist'),
    (e: unknown) => e,
  );
  assert.instance(err, EngineApiError);
  assert.is((err as EngineApiError).statusCode, 404);
  assert.match(engineMessage(err), /no such image/i);
});

test('the ping says which API the engine speaks', async () => {
  assert.match((await ping(api)).apiVersion ?? '', /^1\.\d+$/);
});

test('a build the engine refuses rejects with its message; one it accepts answers as a stream', async () => {
  const refused = await api.stream({ method: 'POST', path: '/build', query: { version: '7' }, body: Readable.from([]) }).then(
    () => assert.unreachable('the engine took builder version 7'),
    (e: unknown) => e,
  );
  assert.instance(refused, EngineApiError);
  assert.match(engineMessage(refused), /invalid version "7"/);
  const info = await api.stream({ method: 'GET', path: '/info' });
  assert.is(info.statusCode, 200);
  assert.ok(JSON.parse(await text(info)).ID);
});

test('a body that fails mid-send fails the request with its own error', async () => {
  const failing = new Readable({
    read() {
      this.destroy(new RunError('context file files/a.txt changed while it was sent'));
    },
  });
  const err = await api.stream({ method: 'POST', path: '/build', query: { dockerfile: 'Dockerfile' }, body: failing }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, RunError);
  assert.match((err as Error).message, /files\/a\.txt changed/);
});

test('an upgrade the engine does not make rejects, naming the status', async () => {
  const err = await api.upgrade({ method: 'GET', path: '/_ping', headers: { Upgrade: 'h2c' } }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, EngineApiError);
});

test('a process that used the client ends on its own: the kept-alive connection holds nothing open', () => {
  const script = `
    const { engineApi } = await import(${JSON.stringify(new URL('../../pipeline/engine/docker/engine-api.ts', import.meta.url).pathname)});
    await engineApi({ socketPath: ${JSON.stringify(TEST_SOCKET)} }).request('GET', '/_ping');
  `;
  const started = Date.now();
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.is(result.status, 0, result.stderr);
  assert.ok(Date.now() - started < 15_000, 'it did not wait for the connection to time out');
});

test.run();
