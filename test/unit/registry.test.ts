import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CredentialVariables } from '../../pipeline/model/credentials.ts';
import { RunError } from '../../pipeline/model/errors.ts';
import { parseRegistry } from '../../pipeline/model/image-ref.ts';
import { credentialSources, registryCredentials } from '../../pipeline/registry/registry-auth.ts';
import { problemsOf, yaml } from '../support/config.ts';
import { tempDir } from '../support/temp.ts';

const ENV_SOURCE = 'the environment variables the config names';
const HUB: CredentialVariables = { registry: 'docker.io', usernameVariable: 'DOCKER_HUB_USER', passwordVariable: 'DOCKER_HUB_PASSWD' };
const HUB_ENV = { DOCKER_HUB_USER: 'alice', DOCKER_HUB_PASSWD: 'hub-secret' };

test('credentials are tried in order: the config’s variables, the registry’s helper or the store, auths', () => {
  const names = (config: object, registry = 'r.example:5000') => credentialSources(config, {}, registry).map((s) => s.name);
  assert.equal(names({}), [ENV_SOURCE, 'config.json auths']);
  assert.equal(names({ credsStore: 'pass' }), [ENV_SOURCE, 'docker-credential-pass', 'config.json auths']);
  assert.equal(names({ credsStore: 'pass', credHelpers: { 'r.example:5000': 'ecr-login' } }), [ENV_SOURCE, 'docker-credential-ecr-login', 'config.json auths']);
  assert.equal(names({ credHelpers: { 'https://index.docker.io/v1/': 'hub' } }, 'docker.io'), [ENV_SOURCE, 'docker-credential-hub', 'config.json auths']);
});

/** A private, empty DOCKER_CONFIG, or one holding this config.json. */
async function dockerConfig(config: object = {}): Promise<string> {
  const dir = await tempDir('bi-docker-config-');
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

test('the environment’s credentials go to their registry only; another gets config.json’s, or nothing', async () => {
  const auth = Buffer.from('nexus-user:nexus-secret').toString('base64');
  const DOCKER_CONFIG = await dockerConfig({ auths: { 'nexus3.onap.org:10003': { auth } } });
  const lookUp = registryCredentials([HUB], { ...HUB_ENV, DOCKER_CONFIG });
  assert.equal(await lookUp('docker.io'), { registry: 'docker.io', username: 'alice', password: 'hub-secret' });
  assert.equal(await lookUp('nexus3.onap.org:10003'), { registry: 'nexus3.onap.org:10003', username: 'nexus-user', password: 'nexus-secret' });
  assert.is(await lookUp('elsewhere.example'), undefined);
  assert.is(await registryCredentials([], { ...HUB_ENV, DOCKER_CONFIG })('docker.io'), undefined, 'no credentials: section, no environment credentials');
});

test('the environment’s credentials win over config.json for their own registry; Docker Hub’s other names are Docker Hub', async () => {
  const auth = Buffer.from('old:old').toString('base64');
  const DOCKER_CONFIG = await dockerConfig({ auths: { 'https://index.docker.io/v1/': { auth } } });
  const lookUp = registryCredentials([HUB], { ...HUB_ENV, DOCKER_CONFIG });
  assert.equal(await lookUp('docker.io'), { registry: 'docker.io', username: 'alice', password: 'hub-secret' });
  assert.equal(await lookUp('index.docker.io'), { registry: 'index.docker.io', username: 'alice', password: 'hub-secret' });
});

test('a user name without a password is an error naming the variables, never their values', async () => {
  const DOCKER_CONFIG = await dockerConfig();
  try {
    await registryCredentials([HUB], { DOCKER_HUB_USER: 'alice', DOCKER_CONFIG })('docker.io');
    assert.unreachable();
  } catch (err) {
    assert.instance(err, RunError);
    assert.is((err as Error).message, 'DOCKER_HUB_USER is set but DOCKER_HUB_PASSWD is not, for docker.io');
  }
});

test('a credential helper that answers something that is not JSON is a clean error, without what it printed', async () => {
  const bin = await tempDir('bi-helper-');
  // A pass set-up gone wrong prints the bare secret.
  await writeFile(path.join(bin, 'docker-credential-broken'), '#!/bin/sh\ncat >/dev/null\necho "hunter2-bare-secret"\n');
  await chmod(path.join(bin, 'docker-credential-broken'), 0o755);
  const DOCKER_CONFIG = await dockerConfig({ credsStore: 'broken' });
  try {
    await registryCredentials([], { DOCKER_CONFIG, PATH: `${bin}:${process.env['PATH']}` })('r.example:5000');
    assert.unreachable();
  } catch (err) {
    assert.instance(err, RunError);
    const { message, hint } = err as RunError;
    assert.is(message, 'docker-credential-broken answered for r.example:5000 with something that is not JSON (not shown: it may be a secret)');
    assert.not.ok(`${message} ${hint}`.includes('hunter2'));
  }
});

test('a registry is named by its host or by a repository in it; Docker Hub when it names no host', () => {
  const registry = (text: string) => {
    const parsed = parseRegistry(text);
    return parsed.ok ? parsed.registry : `error: ${parsed.problem}`;
  };
  assert.is(registry('alicepx'), 'docker.io');
  assert.is(registry('docker.io'), 'docker.io');
  assert.is(registry('index.docker.io'), 'docker.io');
  assert.is(registry('127.0.0.1:5000'), '127.0.0.1:5000');
  assert.is(registry('127.0.0.1:5000/team'), '127.0.0.1:5000');
  assert.is(registry('localhost'), 'localhost');
  assert.is(registry('registry.example/a/b'), 'registry.example');
  assert.match(registry('alicepx/app:1.0'), /^error: name a registry or a repository/);
  assert.match(registry('Bad Host'), /^error: /);
});

test('a credentials entry that names no registry is a config error at its line', () => {
  assert.equal(
    problemsOf(yaml`
credentials:
  - { registry: 'repo/app:1.0', usernameVariable: U, passwordVariable: P }
images: {}
`),
    [
      "2:17 registry 'repo/app:1.0' names no registry: name a registry or a repository, without a tag or digest (write a host (docker.io, registry.example:5000) or a repository in it (${DOCKER_HUB_REPO}))",
    ],
  );
});

test.run();
