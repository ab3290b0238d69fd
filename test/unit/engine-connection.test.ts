import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connectionOptions } from '../../pipeline/engine/docker/connection.ts';

const files: Record<string, string> = {
  '/certs/ca.pem': 'CA',
  '/certs/cert.pem': 'CERT',
  '/certs/key.pem': 'KEY',
  '/home/u/.docker/ca.pem': 'HCA',
  '/home/u/.docker/cert.pem': 'HCERT',
  '/home/u/.docker/key.pem': 'HKEY',
};
const read = (f: string) => {
  if (!(f in files)) throw new Error('ENOENT');
  return Buffer.from(files[f]!);
};
const options = (env: Record<string, string>) => connectionOptions(env, read, '/home/u');

test('the default is the local unix socket', () => {
  assert.equal(options({}), { socketPath: '/var/run/docker.sock' });
  assert.equal(options({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }), { socketPath: '/run/user/1000/docker.sock' });
});

test('tcp is plain http unless DOCKER_TLS_VERIFY is set to anything, as the docker CLI does', () => {
  assert.equal(options({ DOCKER_HOST: 'tcp://127.0.0.1:2375' }), { protocol: 'http', host: '127.0.0.1', port: 2375 });
  const tls = options({ DOCKER_HOST: 'tcp://engine.test', DOCKER_TLS_VERIFY: 'true', DOCKER_CERT_PATH: '/certs' });
  assert.equal(tls, { protocol: 'https', host: 'engine.test', port: 2376, ca: Buffer.from('CA'), cert: Buffer.from('CERT'), key: Buffer.from('KEY') });
});

test('the certificates default to ~/.docker', () => {
  const tls = options({ DOCKER_HOST: 'tcp://engine.test:2376', DOCKER_TLS_VERIFY: '1' });
  assert.equal('ca' in tls && tls.ca.toString(), 'HCA');
});

test('a missing certificate or an unsupported scheme is a user error with a hint', () => {
  assert.throws(() => options({ DOCKER_HOST: 'tcp://e:1', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/none' }), /\/none\/ca.pem cannot be read/);
  assert.throws(() => options({ DOCKER_HOST: 'ssh://me@host' }), /only unix:\/\/ and tcp:\/\//);
});

test.run();
