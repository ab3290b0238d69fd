// DOCKER_HOST over TCP, plain and with TLS as the docker CLI sets it up (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH),
// against the real engine: a proxy on loopback forwards to its unix socket, and with TLS it asks for a
// client certificate signed by the test's own CA, as a TLS-protected engine does.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { cli, project, summaryOf } from '../support/cli.ts';
import { cleanup, ensureStandIns, requireEngine, TEST_SOCKET as SOCKET, testTag } from '../support/engine.ts';
import { makeCerts } from '../support/tls-certs.ts';

const test = suite('engine over tcp');
let certs = '';
const servers: net.Server[] = [];

function forward(client: net.Socket): void {
  const engine = net.connect(SOCKET);
  client.pipe(engine).pipe(client);
  const close = () => {
    client.destroy();
    engine.destroy();
  };
  client.on('error', close);
  engine.on('error', close);
}

async function listen(server: net.Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

test.before(async () => {
  await requireEngine();
  await ensureStandIns();
  certs = await makeCerts();
});
test.after(async () => {
  for (const server of servers) server.close();
  await cleanup();
});

const config = (name: string) => `images:\n  ${name}: { base: ubuntu:16.04, tags: ['${testTag(name)}'], steps: [{ env: { OVER: tcp } }] }\n`;

test('tcp:// reaches the engine over plain TCP', async () => {
  const port = await listen(net.createServer(forward));
  const dir = await project({ 'build.config.yaml': config('over-tcp') });
  const result = await cli(['--json'], { cwd: dir, env: { DOCKER_HOST: `tcp://127.0.0.1:${port}` } });
  assert.is(result.code, 0, result.stderr);
  assert.is(summaryOf(result).images[0]!.status, 'built');
});

test('with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH it speaks TLS with a client certificate', async () => {
  const read = (f: string) => readFile(path.join(certs, f));
  const port = await listen(
    tls.createServer(
      { key: await read('server-key.pem'), cert: await read('server.pem'), ca: await read('ca.pem'), requestCert: true, rejectUnauthorized: true },
      forward,
    ),
  );
  const dir = await project({ 'build.config.yaml': config('over-tls') });
  const env = { DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: 'true', DOCKER_CERT_PATH: certs };
  const result = await cli(['--json'], { cwd: dir, env });
  assert.is(result.code, 0, result.stderr);
  assert.is(summaryOf(result).images[0]!.status, 'built');

  const noCerts = await cli(['--json'], { cwd: dir, env: { ...env, DOCKER_CERT_PATH: path.join(certs, 'missing') } });
  assert.is(noCerts.code, 2);
  assert.match(noCerts.stderr, /DOCKER_TLS_VERIFY is set but .*missing\/ca.pem cannot be read/);
});

/**
 * The engine behind an HTTP proxy that answers as Engine 29 does to a path versioned below its minimum API
 * (1.44 on 29.0-29.2): HTTP 400. Upgrades (BuildKit's POST /grpc) are passed through as they are; it speaks
 * no HTTP/2 itself, as an engine before 29.2 does not.
 */
async function engine29(paths: string[]): Promise<number> {
  const server = http.createServer((req, res) => {
    paths.push(`${req.method} ${req.url}`);
    const minor = /^\/v1\.(\d+)\//.exec(req.url ?? '')?.[1];
    if (minor !== undefined && Number(minor) < 44) {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ message: `client version 1.${minor} is too old. Minimum supported API version is 1.44` }));
      req.resume();
      return;
    }
    const upstream = http.request({ socketPath: SOCKET, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('upgrade', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    paths.push(`${req.method} ${req.url}`);
    const engine = net.connect(SOCKET, () => {
      // rawHeaders: a header may repeat, and req.headers would join its values into one.
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      engine.write(`${lines.join('\r\n')}\r\n\r\n`);
      engine.write(head);
      client.pipe(engine).pipe(client);
    });
    const close = () => (client.destroy(), engine.destroy());
    client.on('error', close);
    engine.on('error', close);
  });
  return listen(server as unknown as net.Server);
}

test('no request pins an API version: an engine refusing versions below 1.44 (Engine 29) builds with either builder', async () => {
  const paths: string[] = [];
  const port = await engine29(paths);
  for (const builder of ['buildkit', 'classic']) {
    const dir = await project({ 'build.config.yaml': config(`engine-29-${builder}`) });
    const result = await cli(['--json', '--builder', builder], { cwd: dir, env: { DOCKER_HOST: `tcp://127.0.0.1:${port}` } });
    assert.is(result.code, 0, result.stderr);
    assert.is(summaryOf(result).images[0]!.status, 'built', builder);
  }
  // BuildKit through the Control API (POST /grpc), the classic builder through POST /build; no POST /session.
  assert.ok(paths.some((p) => p.startsWith('POST /build')) && paths.some((p) => p.startsWith('POST /grpc')), paths.join('\n'));
  assert.not.ok(
    paths.some((p) => p.startsWith('POST /session')),
    paths.join('\n'),
  );
  assert.equal(
    paths.filter((p) => /^\w+ \/v\d/.test(p)),
    [],
    'no versioned path',
  );
});

test.run();
