// Builders on other machines (issue 23, item 4), on real engines: the test bed's engine as builder `a` (on
// its unix socket), and a second dockerd of this test's own as builder `b`, reached only over tcp:// with
// mutual TLS (certificates made here with openssl). A graph spread over both puts images on both; then `b`'s
// dockerd is SIGKILLed while it builds, and only the images placed on it fail, named with it, while with
// --keep-going the others finish, on `a`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { cli, project, type CliResult } from '../support/cli.ts';
import { cleanup, docker, ensureStandIns, onEngine, requireEngine, rootfs, STAND_IN_LABEL, TEST_SOCKET, testTag } from '../support/engine.ts';
import { startPrivateEngine, type PrivateEngine } from '../support/private-engine.ts';
import { makeCerts } from '../support/tls-certs.ts';

const test = suite('builders on two engines');
let other: PrivateEngine | undefined;
let port = 0;
let certs = '';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: free } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return free;
}

/** The stand-in base on the second engine, as the test bed makes it on its own. */
async function standInOn(engine: Docker, ref: string): Promise<void> {
  const [repo, tag] = ref.split(':');
  const stream = await engine.importImage((await rootfs()) as never, { repo, tag, changes: [`LABEL ${STAND_IN_LABEL}=true`] } as never);
  const text = (await buffer(stream as unknown as NodeJS.ReadableStream)).toString();
  if (/"error"/.test(text)) throw new Error(`importing ${ref}: ${text}`);
}

test.before(async () => {
  await requireEngine();
  if (!TEST_SOCKET) throw new Error('this test needs the test engine on a unix socket (its second engine is the tcp:// one)');
  await ensureStandIns(['alpine:latest']);
  certs = await makeCerts();
  port = await freePort();
  other = await startPrivateEngine({
    args: [
      '-H',
      `tcp://127.0.0.1:${port}`,
      '--tlsverify',
      '--tlscacert',
      path.join(certs, 'ca.pem'),
      '--tlscert',
      path.join(certs, 'server.pem'),
      '--tlskey',
      path.join(certs, 'server-key.pem'),
    ],
  });
  await standInOn(new Docker({ socketPath: other.host.slice('unix://'.length) }), 'alpine:latest');
});
test.after(async () => {
  await other?.stop();
  await cleanup();
});

/** The project: builders a (the test engine) and b (over TLS), one at a time each; images as given. */
async function graph(images: string): Promise<string> {
  const builders = `builders:
  - { name: a, endpoint: 'unix://${TEST_SOCKET}', capacity: 1 }
  - name: b
    endpoint: 'tcp://127.0.0.1:${port}'
    capacity: 1
    tls: { ca: certs/ca.pem, cert: certs/client.pem, key: certs/client-key.pem }
`;
  const read = (f: string) => readFileSync(path.join(certs, f), 'utf8');
  return project({
    'build.config.yaml': `${builders}images:\n${images}`,
    'certs/ca.pem': read('ca.pem'),
    'certs/client.pem': read('client.pem'),
    'certs/client-key.pem': read('client-key.pem'),
  });
}

type Finish = { image: string; status: string; builder?: string; error?: string; notBuilt?: string };
const finishes = (result: CliResult) => new Map(result.events.filter((e) => e['type'] === 'finish').map((e) => [e['image'] as string, e as unknown as Finish]));

test('a graph over two engines puts images on both, the tcp:// one over mutual TLS; an image goes with its base', async () => {
  const b = new Docker({ socketPath: other!.host.slice('unix://'.length) });
  const dir = await graph(
    ['one', 'two', 'three']
      .map((n) => `  ${n}: { base: alpine:latest, tags: ['${testTag(`spread-${n}`)}'], steps: [{ run: 'sleep 1' }, { env: { N: ${n} } }] }\n`)
      .join('') + `  four: { base: { image: one }, tags: ['${testTag('spread-four')}'], steps: [{ env: { N: four } }] }\n`,
  );
  const metadata = path.join(dir, 'metadata.json');
  const result = await cli(['--json', '--metadata-file', metadata], { cwd: dir });
  assert.is(result.code, 0, result.stderr);
  const done = finishes(result);
  const where = Object.fromEntries([...done].map(([name, f]) => [name, f.builder]));
  assert.ok(Object.values(where).includes('a') && Object.values(where).includes('b'), JSON.stringify(where));
  assert.is(where['four'], where['one'], 'four is built where its base is');
  for (const [name, builder] of Object.entries(where)) {
    const tag = testTag(`spread-${name}`);
    assert.is(await onEngine(tag, builder === 'a' ? docker : b), true, `${name} is on ${builder}`);
    assert.is(await onEngine(tag, builder === 'a' ? b : docker), false, `${name} is not on the other`);
  }
  const document = JSON.parse(readFileSync(metadata, 'utf8')) as Record<string, Record<string, unknown>>;
  assert.is(document['one']!['build-images.builder'], where['one'], 'the metadata file names the builder');

  // Asked again, each is up to date where it is: the engine that holds it is the one asked.
  const again = await cli(['--json'], { cwd: dir });
  assert.is(again.code, 0, again.stderr);
  for (const [name, f] of finishes(again)) {
    assert.is(f.status, 'skipped', `${name} up to date`);
    assert.is(f.builder, where[name], `${name} asked on ${where[name]}`);
  }
});

test('b’s dockerd killed mid-run: only its images fail, named with it; with --keep-going the rest finish on a', async () => {
  const dir = await graph(
    ['r1', 'r2', 'r3']
      .map((n) => `  ${n}: { base: alpine:latest, tags: ['${testTag(`kill-${n}`)}'], steps: [{ run: 'sleep 4' }, { env: { N: ${n} } }] }\n`)
      .join('') + `  c1: { base: { image: r1 }, tags: ['${testTag('kill-c1')}'], steps: [{ env: { N: c1 } }] }\n`,
  );
  let killed = false;
  const result = await cli(['--json', '--keep-going'], {
    cwd: dir,
    onLine: (line) => {
      const event = JSON.parse(line) as { type: string; builder?: string };
      if (killed || event.type !== 'start' || event.builder !== 'b') return;
      killed = true;
      // Once its build is under way (its RUN sleeps 4 s), the dockerd goes, as a machine that dies does.
      setTimeout(() => process.kill(Number(readFileSync(other!.pidFile, 'utf8')), 'SIGKILL'), 1500);
    },
  });
  assert.ok(killed, 'an image was placed on b');
  assert.is(result.code, 1, result.stderr);
  const done = finishes(result);
  const onB = [...done.values()].filter((f) => f.builder === 'b');
  assert.ok(onB.length >= 1, JSON.stringify([...done.values()]));
  for (const f of onB) {
    assert.is(f.status, 'failed', `${f.image} on b failed`);
    assert.match(f.error!, /builder b/, `${f.image}'s error names the builder: ${f.error}`);
  }
  const rest = [...done.values()].filter((f) => f.builder !== 'b');
  assert.ok(rest.length >= 2, JSON.stringify([...done.values()]));
  for (const f of rest) {
    assert.is(f.status, 'built', `${f.image}: ${f.error ?? ''}`);
    assert.is(f.builder, 'a');
    assert.is(await onEngine(testTag(`kill-${f.image}`), docker), true, `${f.image} is on a`);
  }
  assert.match(result.stdout + result.stderr, /builder b is gone/);
});

test.run();
