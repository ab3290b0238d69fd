// The suite runs on an engine of its own, never on the default one: its stand-ins carry public names
// (ubuntu:16.04, alpine:latest, cloudifyplatform/community:18.7.23), and a user's engine holds the real images.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import { buffer } from 'node:stream/consumers';
import { cleanup, docker, ensureStandIns, importImage, requireEngine, rootfs, RUN_ID, RUN_LABEL, TEST_HOST, TEST_SOCKET, testTag } from '../support/engine.ts';

const test = suite('engine isolation');
const DEFAULT_SOCKET = '/var/run/docker.sock';
const defaultEngine = new Docker({ socketPath: DEFAULT_SOCKET });
const isPrivate = process.env['BUILD_IMAGES_TEST_ENGINE'] === 'private';

test.before(requireEngine);
test.after(cleanup);

test('the tests and the commands they run talk to the test engine, not the default socket', () => {
  assert.ok(TEST_HOST, 'BUILD_IMAGES_TEST_DOCKER_HOST is set');
  assert.is(process.env['DOCKER_HOST'], TEST_HOST);
  assert.is.not(TEST_SOCKET, DEFAULT_SOCKET);
});

// Not the engine ID: dockerd 20.10 derives it from /etc/docker/key.json, which every engine of a machine shares.
test('the test engine is another engine than the default one: its own data root', async () => {
  const ours = await docker.info();
  const theirs = await defaultEngine.info().catch(() => undefined);
  // No default engine at all: nothing to tell apart, and nothing of a user's to meet.
  if (theirs) {
    assert.is.not(ours.DockerRootDir, theirs.DockerRootDir);
  }
  assert.is.not(ours.DockerRootDir, '/var/lib/docker');
});

test('the private engine is the dockerd the test bed started, on its own data root', async () => {
  if (!isPrivate) return; // an engine that BUILD_IMAGES_TEST_DOCKER_HOST names is the user's choice
  const dataRoot = process.env['BUILD_IMAGES_TEST_ENGINE_DATA_ROOT']!;
  assert.is((await docker.info()).DockerRootDir, dataRoot);
  const pid = readFileSync(process.env['BUILD_IMAGES_TEST_ENGINE_PIDFILE']!, 'utf8').trim();
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  assert.ok(cmdline[0]!.endsWith('dockerd'), cmdline.join(' '));
  assert.is(cmdline[cmdline.indexOf('--data-root') + 1], dataRoot);
  assert.is(cmdline[cmdline.indexOf('-H') + 1], TEST_HOST);
});

test('an image made on the test engine is not on the default one', async () => {
  const id = await importImage(testTag('isolation'), await rootfs(), { [RUN_LABEL]: RUN_ID });
  const seen = await defaultEngine
    .getImage(id)
    .inspect()
    .then(
      () => true,
      (err: { statusCode?: number; code?: string }) => {
        // 404: the default engine answers and lacks it; no socket: there is no default engine.
        if (err.statusCode === 404 || err.code === 'ENOENT' || err.code === 'ECONNREFUSED') return false;
        throw err;
      },
    );
  assert.not.ok(seen);
});

test('an image that is not a stand-in is neither used nor replaced', async () => {
  const ref = testTag('foreign', '1');
  const [repo, tag] = ref.split(':') as [string, string];
  const stream = await docker.importImage((await rootfs()) as never, { repo, tag, changes: [`LABEL ${RUN_LABEL}=${RUN_ID}`] } as never);
  await buffer(stream as unknown as NodeJS.ReadableStream);
  const before = (await docker.getImage(ref).inspect()).Id;
  const refusal = `${ref} (${before}) on the test engine ${TEST_HOST} is not a build-images stand-in`;
  for (const attempt of [() => ensureStandIns([ref]), () => importImage(ref, Buffer.alloc(1024))]) {
    // Said on stderr as well as thrown (uvu drops the message of a failing `before` hook): caught here.
    const write = process.stderr.write;
    let said = '';
    process.stderr.write = ((chunk: string) => ((said += chunk), true)) as typeof write;
    try {
      await attempt();
      assert.unreachable('refused');
    } catch (err) {
      assert.match((err as Error).message, refusal);
    } finally {
      process.stderr.write = write;
    }
    assert.match(said, refusal);
  }
  assert.is((await docker.getImage(ref).inspect()).Id, before);
});

test.run();
