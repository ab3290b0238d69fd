import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { supportsBuildkit } from '../../pipeline/engine/buildkit/detect.ts';
import { buildQuery } from '../../pipeline/engine/buildkit/post-build.ts';
import { atLeast, pruneQuery } from '../../pipeline/engine/buildkit/prune.ts';
import { authService, healthService, methodsOf, secretsService } from '../../pipeline/engine/buildkit/session-services.ts';
import { registryOf } from '../../pipeline/engine/buildkit/session.ts';

test('BuildKit is there on Linux from API 1.39, or wherever the engine says Builder-Version 2', () => {
  assert.ok(supportsBuildkit({ apiVersion: '1.41', osType: 'linux' }), 'Engine 20.10 sends no Builder-Version');
  assert.ok(supportsBuildkit({ apiVersion: '1.51', osType: 'linux', builderVersion: '2' }));
  assert.ok(supportsBuildkit({ apiVersion: '1.39', osType: 'linux', builderVersion: '1' }), 'features.buildkit=false only changes the default');
  assert.not.ok(supportsBuildkit({ apiVersion: '1.38', osType: 'linux' }));
  assert.not.ok(supportsBuildkit({ apiVersion: '1.41', osType: 'windows' }));
  assert.not.ok(supportsBuildkit({}));
});

test('the build query: version 2, our session, no tag, no network, args and labels as JSON', () => {
  const query = buildQuery({ session: 'abc', buildargs: { A: '1' }, labels: { team: 'infra' }, noCache: true });
  assert.equal(query, {
    version: '2',
    session: 'abc',
    dockerfile: 'Dockerfile',
    buildargs: '{"A":"1"}',
    labels: '{"team":"infra"}',
    nocache: true,
    networkmode: 'none',
    rm: true,
    forcerm: true,
  });
  assert.not.ok('t' in query);
  assert.not.ok('remote' in query);
  assert.is(buildQuery({ session: 'abc', buildargs: {}, labels: {}, noCache: false, contextInSession: true })['remote'], 'client-session');
});

test("layer cache: cachefrom as one JSON array, inline export as BuildKit's build arg; none asked, neither sent", () => {
  const query = buildQuery({
    session: 'abc',
    buildargs: { A: '1' },
    labels: {},
    noCache: false,
    cache: { from: ['r.test/a:1', 'r.test/a:latest'], inline: true },
  });
  assert.is(query['cachefrom'], '["r.test/a:1","r.test/a:latest"]');
  assert.is(query['buildargs'], '{"A":"1","BUILDKIT_INLINE_CACHE":"1"}');
  const plain = buildQuery({ session: 'abc', buildargs: {}, labels: {}, noCache: false, cache: { from: [], inline: false } });
  assert.not.ok('cachefrom' in plain);
  assert.is(plain['buildargs'], '{}');
});

test('Docker Hub is asked for as registry-1.docker.io and known to us as docker.io', () => {
  assert.is(registryOf('registry-1.docker.io'), 'docker.io');
  assert.is(registryOf('127.0.0.1:5000'), '127.0.0.1:5000');
});

test('the session serves Health, Auth/Credentials and Secrets/GetSecret, and says so', () => {
  assert.equal(methodsOf(healthService, authService, secretsService), [
    '/grpc.health.v1.Health/Check',
    '/moby.filesync.v1.Auth/Credentials',
    '/moby.buildkit.secrets.v1.Secrets/GetSecret',
  ]);
});

test('session messages keep the upstream field numbers', () => {
  // CredentialsResponse { Username = 1; Secret = 2 }: tag bytes 0x0a and 0x12.
  const creds = authService.Credentials.responseSerialize({ Username: 'u', Secret: 'p' });
  assert.equal([...creds], [0x0a, 1, 0x75, 0x12, 1, 0x70]);
  // GetSecretRequest { ID = 1; annotations = 2 }: the map is skipped, the ID read.
  const request = Buffer.from([0x0a, 2, 0x69, 0x64, 0x12, 6, 0x0a, 1, 0x6b, 0x12, 1, 0x76]);
  assert.equal(secretsService.GetSecret.requestDeserialize(request), { ID: 'id' });
  assert.equal([...secretsService.GetSecret.responseSerialize({ data: Buffer.from('xy') })], [0x0a, 2, 0x78, 0x79]);
  // HealthCheckResponse { status = 1 } with SERVING = 1.
  assert.equal([...healthService.Check.responseSerialize({ status: 1 })], [0x08, 1]);
});

test("prune's parameters follow the engine's API version: keep-storage until 1.47, max-used-space and reserved-space from 1.48", () => {
  assert.equal(pruneQuery(4096, '1.41'), { 'keep-storage': 4096, all: true }, 'Engine 20.10');
  assert.equal(pruneQuery(4096, '1.47'), { 'keep-storage': 4096, all: true });
  assert.equal(pruneQuery(4096, '1.48'), { 'max-used-space': 4096, 'reserved-space': 4096, all: true });
  assert.equal(pruneQuery(0, '1.51'), { 'max-used-space': 0, 'reserved-space': 0, all: true }, 'Engine 28');
  assert.equal(pruneQuery(1, '2.0'), { 'max-used-space': 1, 'reserved-space': 1, all: true });
  assert.equal(pruneQuery(1, undefined), { 'keep-storage': 1, all: true }, 'an engine that names no version is taken as old');
  assert.ok(atLeast('1.100', 1, 48));
  assert.not.ok(atLeast('1.9', 1, 48));
  assert.not.ok(atLeast('v1.48', 1, 48));
});

test.run();
