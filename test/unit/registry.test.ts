import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { registryOf } from '../../pipeline/engine/engine.ts';
import { credentialSources, serverAddress } from '../../pipeline/registry/registry-auth.ts';
import { registryLocation } from '../../pipeline/registry/registry-client.ts';

test('the registry is the one the tag names, as the docker CLI decides it', () => {
  assert.is(registryOf('alicepx/oci-monitor:1.0'), 'docker.io');
  assert.is(registryOf('ubuntu:16.04'), 'docker.io');
  assert.is(registryOf('nexus3.onap.org:10003/onap/cm:1.6'), 'nexus3.onap.org:10003');
  assert.is(registryOf('localhost/app:1'), 'localhost');
  assert.is(serverAddress('docker.io'), 'https://index.docker.io/v1/');
});

test('a manifest is asked for where the engine would push it: https, or http on loopback', () => {
  assert.equal(registryLocation('ubuntu:16.04'), { host: 'registry-1.docker.io', repository: 'library/ubuntu', tag: '16.04', base: 'https://registry-1.docker.io' });
  assert.equal(registryLocation('alicepx/oci-monitor'), { host: 'registry-1.docker.io', repository: 'alicepx/oci-monitor', tag: 'latest', base: 'https://registry-1.docker.io' });
  assert.equal(registryLocation('127.0.0.1:5000/a/b:2'), { host: '127.0.0.1:5000', repository: 'a/b', tag: '2', base: 'http://127.0.0.1:5000' });
});

test('credentials are tried in the docker CLI’s order: environment, the registry’s helper or the store, auths', () => {
  const names = (config: object, registry = 'r.example:5000') => credentialSources(config, {}, registry).map((s) => s.name);
  assert.equal(names({}), ['DOCKER_HUB_USER and DOCKER_HUB_PASSWD', 'config.json auths']);
  assert.equal(names({ credsStore: 'pass' }), ['DOCKER_HUB_USER and DOCKER_HUB_PASSWD', 'docker-credential-pass', 'config.json auths']);
  assert.equal(names({ credsStore: 'pass', credHelpers: { 'r.example:5000': 'ecr-login' } }), ['DOCKER_HUB_USER and DOCKER_HUB_PASSWD', 'docker-credential-ecr-login', 'config.json auths']);
  assert.equal(names({ credHelpers: { 'https://index.docker.io/v1/': 'hub' } }, 'docker.io'), ['DOCKER_HUB_USER and DOCKER_HUB_PASSWD', 'docker-credential-hub', 'config.json auths']);
});

test.run();
