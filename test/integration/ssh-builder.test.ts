// A builder over ssh:// (issue 23, item 4), as the docker CLI reaches one: the tool runs `ssh … buildhost
// docker system dial-stdio` per connection, with the user's ~/.ssh (config, key, known_hosts). The far
// side is a real OpenSSH server of the test's own (test/support/sshd.ts) whose sessions' DOCKER_HOST is a
// second private engine; the CLI runs with a home of the test's own bound over /root in a mount namespace,
// so the user's ~/.ssh is neither read nor changed. The image must land on the far engine, not the local one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import Docker from 'dockerode';
import { cp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { cli, finishOf, project } from '../support/cli.ts';
import { cleanup, docker, onEngine, requireEngine, rootfs, STAND_IN_LABEL, testTag } from '../support/engine.ts';
import { startPrivateEngine, type PrivateEngine } from '../support/private-engine.ts';
import { asSshClient, startSshd, type Sshd } from '../support/sshd.ts';
import { tempDir } from '../support/temp.ts';

const test = suite('a builder over ssh');
let far: PrivateEngine | undefined;
let farApi: Docker | undefined;
let sshd: Sshd | undefined;

test.before(async () => {
  await requireEngine();
  far = await startPrivateEngine();
  farApi = new Docker({ socketPath: far.host.slice('unix://'.length) });
  const stream = await farApi.importImage((await rootfs()) as never, { repo: 'alpine', tag: 'latest', changes: [`LABEL ${STAND_IN_LABEL}=true`] } as never);
  assert.not.match((await buffer(stream as unknown as NodeJS.ReadableStream)).toString(), /"error"/);
  sshd = await startSshd(far.host);
});

test.after(async () => {
  try {
    await sshd?.stop();
    await far?.stop();
  } finally {
    await cleanup();
  }
});

const config = `builders:
  - { name: far, endpoint: 'ssh://root@buildhost' }
images:
  remote:
    base: alpine:latest
    tags: ['${testTag('ssh-remote')}']
    steps:
      - copy: { from: hello.txt, to: /hello.txt }
      - run: 'cat /hello.txt > /made'
`;

test('built on the engine at the far end of ssh, with the user’s ssh config, key and known_hosts; up to date there next time', async () => {
  const dir = await project({ 'build.config.yaml': config, 'hello.txt': 'over ssh\n' });
  const first = await cli(['--json'], { cwd: dir, prefix: asSshClient(sshd!.home) });
  assert.is(first.code, 0, first.stderr + first.stdout);
  const done = finishOf(first, 'remote') as { status: string; builder?: string };
  assert.is(done.status, 'built');
  assert.is(done.builder, 'far');
  assert.is(await onEngine(testTag('ssh-remote'), farApi!), true, 'the far engine has it');
  assert.is(await onEngine(testTag('ssh-remote'), docker), false, 'the local engine does not');
  const container = await farApi!.createContainer({ Image: testTag('ssh-remote'), Cmd: ['cat', '/made'] });
  try {
    await container.start();
    await container.wait();
    const logs = await container.logs({ stdout: true });
    assert.match(logs.toString(), /over ssh/);
  } finally {
    await container.remove({ force: true });
  }

  const again = await cli(['--json'], { cwd: dir, prefix: asSshClient(sshd!.home) });
  assert.is(again.code, 0, again.stderr);
  assert.is((finishOf(again, 'remote') as { status: string }).status, 'skipped');
});

test('a host key that is not the known one stops the run before anything is built, naming the builder and what ssh said', async () => {
  const home = await tempDir('bi-ssh-home-');
  await cp(sshd!.home, home, { recursive: true });
  // known_hosts names another key for the host, as after a reinstall or in an attack.
  await writeFile(
    path.join(home, '.ssh', 'known_hosts'),
    `[127.0.0.1]:${sshd!.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9zJrKa0RJB5S8PjK5k2cVq6pNwQqv3T9p0r1Vv0sXw\n`,
  );
  const dir = await project({ 'build.config.yaml': config, 'hello.txt': 'x\n' });
  const result = await cli(['--json'], { cwd: dir, prefix: asSshClient(home) });
  assert.is(result.code, 1, result.stderr + result.stdout);
  assert.match(result.stderr, /builder far/);
  assert.match(result.stderr, /builder far: ssh to ssh:\/\/root@buildhost failed: Host key verification failed\./);
  assert.not.ok(
    result.events.some((e) => e['type'] === 'start'),
    'nothing was started',
  );
});

test.run();
