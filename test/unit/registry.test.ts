import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { credentialSources } from '../../pipeline/registry/registry-auth.ts';

test('credentials are tried in the docker CLI’s order: environment, the registry’s helper or the store, auths', () => {
  const names = (config: object, registry = 'r.example:5000') => credentialSources(config, {}, registry).map((s) => s.name);
  assert.equal(names({}), ['DOCKER_HUB_USER and DOCKER_HUB_PASSWD', 'config.json auths']);
  assert.equal(names({ credsStore: 'pass' }), ['DOCKER_HUB_USER and DOCKER_HUB_PASSWD', 'docker-credential-pass', 'config.json auths']);
  assert.equal(names({ credsStore: 'pass', credHelpers: { 'r.example:5000': 'ecr-login' } }), ['DOCKER_HUB_USER and DOCKER_HUB_PASSWD', 'docker-credential-ecr-login', 'config.json auths']);
  assert.equal(names({ credHelpers: { 'https://index.docker.io/v1/': 'hub' } }, 'docker.io'), ['DOCKER_HUB_USER and DOCKER_HUB_PASSWD', 'docker-credential-hub', 'config.json auths']);
});

test.run();
