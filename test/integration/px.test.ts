// The px images and the Makefile's targets, from this repository's build.config.yaml, with small Go
// programs of our own as the px-installer checkout and a real registry on 127.0.0.1.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { chmod, cp, mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import os from 'node:os';
import path from 'node:path';
import { cli, finishOf, summaryOf, type CliOptions, type CliResult } from '../support/cli.ts';
import { cleanup, docker, ensureStandIns, imageInfo, requireEngine, RUN_ID, runIn } from '../support/engine.ts';
import { flakyProxy, freePort, PASSWORD, startRegistry, USER, type Registry } from '../support/registry.ts';

const test = suite('px images and the Makefile targets');
const REPO_ROOT = new URL('../../', import.meta.url).pathname;
const FIXTURE = new URL('../fixtures/px-installer/', import.meta.url).pathname;

let registry: Registry;
let projectDir = '';
let pxSource = '';
let repo = '';
const ENV_CREDENTIALS = { DOCKER_HUB_USER: USER, DOCKER_HUB_PASSWD: PASSWORD };

test.before(async () => {
  await requireEngine();
  await ensureStandIns();
  registry = await startRegistry();
  // The Makefile's layout: build-images' project beside a px-installer checkout (PX_SRC's default).
  const parent = await mkdtemp(path.join(os.tmpdir(), 'bi-px-'));
  projectDir = path.join(parent, 'build-images');
  pxSource = path.join(parent, 'px-installer');
  await mkdir(projectDir);
  await cp(path.join(REPO_ROOT, 'build.config.yaml'), path.join(projectDir, 'build.config.yaml'));
  await cp(FIXTURE, pxSource, { recursive: true });
  repo = `${registry.address}/bi-${RUN_ID}`;
});
test.after(async () => {
  await registry.stop();
  await cleanup();
});

/** The command as a user runs it here: a private Docker config, the test registry as DOCKER_HUB_REPO. */
function run(args: string[], env: CliOptions['env'] = {}): Promise<CliResult> {
  return cli(['--json', ...args], { cwd: projectDir, env: { DOCKER_CONFIG: path.join(projectDir, 'no-docker-config'), DOCKER_HUB_REPO: repo, ...env } });
}

const ocimon = (tag: string) => `${repo}/oci-monitor:${tag}`;
const websvc = (tag: string) => `${repo}/monitor-websvc:${tag}`;
const pushEvents = (r: CliResult) => r.events.filter((e) => e['type'] === 'push');

test('`all` compiles both binaries on the host, and a second run finds them fresh', async () => {
  const first = await run(['all']);
  assert.is(first.code, 0, first.stderr + first.stdout);
  assert.ok((await stat(path.join(pxSource, 'px-oci-mon/px-oci-mon'))).size > 0);
  assert.ok((await stat(path.join(pxSource, 'px-spec-websvc/px-spec-websvc'))).size > 0);
  const second = await run(['all']);
  const statuses = second.events.filter((e) => e['type'] === 'command').map((e) => e['status']);
  assert.equal(statuses, ['fresh', 'fresh']);
});

test('a variable left at its default is reported once', async () => {
  const result = await run(['--dry-run', 'px-container'], { DOCKER_HUB_TAG: '1' });
  const notices = result.events.filter((e) => e['type'] === 'notice').map((e) => e['message']);
  assert.equal(notices, ["DOCKER_HUB_OCIMON_IMAGE is not set: using its default 'oci-monitor'", "DOCKER_HUB_WEBSVC_IMAGE is not set: using its default 'monitor-websvc'"]);
});

test('PXTAG becomes the tag and is linked into px-oci-mon; the images are as the Makefile made them', async () => {
  const result = await run(['px-container'], { PXTAG: '3.1.4' });
  assert.is(result.code, 0, result.stderr + result.stdout);
  assert.ok(result.events.some((e) => e['type'] === 'command' && e['status'] === 'ran' && e['reason'] === 'the command changed'), 'a new PXTAG recompiles');
  const run1 = await docker.createContainer({ Image: ocimon('3.1.4'), HostConfig: { NetworkMode: 'none' } });
  await run1.start();
  await run1.wait();
  const logs = ((await run1.logs({ stdout: true })) as unknown as Buffer).subarray(8).toString();
  await run1.remove({ force: true });
  assert.is(logs.trim(), 'px-oci-mon PXTAG=3.1.4');

  const oci = (await imageInfo(ocimon('3.1.4')))!.Config;
  assert.equal(oci.Entrypoint, ['/px-oci-mon']);
  const web = (await imageInfo(websvc('3.1.4')))!.Config;
  assert.equal(web.Entrypoint, ['/px-spec-websvc']);
  assert.ok(!web.Cmd || web.Cmd.length === 0, 'CMD []');
  assert.is(web.WorkingDir, '/');
  assert.ok('8080/tcp' in (web.ExposedPorts ?? {}));
  assert.is((await runIn(websvc('3.1.4'), ['/px-spec-websvc'])).output.trim(), 'px-spec.yaml.tmpl', 'the templates are at /');
});

test('deploy pushes every tag with the environment’s credentials; the registry has them', async () => {
  const result = await run(['px-container', 'deploy'], { ...ENV_CREDENTIALS, PXTAG: '3.1.4' });
  assert.is(result.code, 0, result.stderr + result.stdout);
  assert.equal(summaryOf(result).pushed, [ocimon('3.1.4'), websvc('3.1.4')]);
  assert.equal(await registry.tags(`bi-${RUN_ID}/oci-monitor`), ['3.1.4']);
  assert.equal(await registry.tags(`bi-${RUN_ID}/monitor-websvc`), ['3.1.4']);
});

test('deploy_latest retags and pushes :latest; when the tag already is latest it pushes nothing', async () => {
  const retag = await run(['px-oci-mon', 'deploy_latest'], { ...ENV_CREDENTIALS, PXTAG: '3.1.4' });
  assert.is(retag.code, 0, retag.stderr + retag.stdout);
  assert.equal(summaryOf(retag).pushed, [ocimon('latest')]);
  assert.equal(await registry.tags(`bi-${RUN_ID}/oci-monitor`), ['3.1.4', 'latest']);

  const already = await run(['px-oci-mon', 'deploy_latest'], { ...ENV_CREDENTIALS });
  assert.is(already.code, 0, already.stderr + already.stdout);
  assert.equal(summaryOf(already).pushed, []);
  assert.ok(already.events.some((e) => e['type'] === 'action' && /is already latest/.test(String(e['message']))));
});

test('a wrong password is refused and said clearly, and no password is ever printed', async () => {
  const result = await run(['px-oci-mon', 'deploy'], { DOCKER_HUB_USER: USER, DOCKER_HUB_PASSWD: 'wrong-Pa55word', PXTAG: '3.1.4' });
  assert.is(result.code, 1);
  const push = pushEvents(result)[0]!;
  assert.is(push['status'], 'failed');
  assert.match(String(push['error']), /unauthorized|authentication required/i);
  assert.equal(summaryOf(result).notPushed, [ocimon('3.1.4')]);
  for (const text of [result.stdout, result.stderr]) {
    assert.not.ok(text.includes('wrong-Pa55word'), 'the password is not printed');
    assert.not.ok(text.includes(PASSWORD));
  }
});

test('a registry that is down fails the push with a clear message, listing what was not pushed', async () => {
  const down = `127.0.0.1:${await freePort()}/bi-${RUN_ID}`;
  const result = await run(['px-oci-mon', 'deploy'], { ...ENV_CREDENTIALS, DOCKER_HUB_REPO: down, PXTAG: '3.1.4' });
  assert.is(result.code, 1);
  assert.match(String(pushEvents(result)[0]!['error']), /connection refused/);
  assert.equal(summaryOf(result).notPushed, [`${down}/oci-monitor:3.1.4`]);
});

test('a 500 on the first try is retried, and the push lands', async () => {
  const proxy = await flakyProxy(registry.address);
  try {
    const viaProxy = `${proxy.address}/bi-${RUN_ID}`;
    const result = await run(['--verbose', 'px-oci-mon', 'deploy'], { ...ENV_CREDENTIALS, DOCKER_HUB_REPO: viaProxy, PXTAG: '2.7.1' });
    assert.is(result.code, 0, result.stderr + result.stdout);
    assert.is(proxy.failures(), 1);
    assert.ok(result.events.some((e) => e['type'] === 'log' && /retrying/.test(String(e['line']))));
    assert.ok((await registry.tags(`bi-${RUN_ID}/oci-monitor`)).includes('2.7.1'));
  } finally {
    await proxy.stop();
  }
});

async function dockerConfig(config: unknown): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-docker-config-'));
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

test('credentials from config.json auths, as `docker login` leaves them', async () => {
  const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
  const DOCKER_CONFIG = await dockerConfig({ auths: { [registry.address]: { auth } } });
  const result = await run(['px-oci-mon', 'deploy'], { DOCKER_CONFIG, PXTAG: '4.0.0' });
  assert.is(result.code, 0, result.stderr + result.stdout);
  assert.ok((await registry.tags(`bi-${RUN_ID}/oci-monitor`)).includes('4.0.0'));
});

test('credentials from a credential helper on PATH, as credsStore and as credHelpers', async () => {
  const bin = await mkdtemp(path.join(os.tmpdir(), 'bi-helper-'));
  const helper = path.join(bin, 'docker-credential-bitest');
  await writeFile(helper, `#!/bin/sh\nread server\n[ "$server" = "${registry.address}" ] || exit 1\nprintf '{"ServerURL":"%s","Username":"${USER}","Secret":"${PASSWORD}"}' "$server"\n`);
  await chmod(helper, 0o755);
  const PATH = `${bin}:${process.env['PATH']}`;
  for (const [config, tag] of [[{ credsStore: 'bitest' }, '5.0.0'], [{ credHelpers: { [registry.address]: 'bitest' } }, '5.0.1']] as const) {
    const result = await run(['px-oci-mon', 'deploy'], { DOCKER_CONFIG: await dockerConfig(config), PATH, PXTAG: tag });
    assert.is(result.code, 0, result.stderr + result.stdout);
    assert.ok((await registry.tags(`bi-${RUN_ID}/oci-monitor`)).includes(tag), tag);
  }
});

test('the password is nowhere in the image: not in its labels, env or history', async () => {
  const info = (await imageInfo(ocimon('3.1.4')))!;
  const history = await docker.getImage(ocimon('3.1.4')).history();
  const everything = JSON.stringify([info, history]);
  assert.not.ok(everything.includes(PASSWORD));
});

test('a missing toolchain, or a missing source directory, is a clear error saying what to do', async () => {
  await cli(['clean'], { cwd: projectDir });
  const noGo = await run(['px-oci-mon'], { PATH: '/nonexistent', PXTAG: '3.1.4' });
  assert.is(noGo.code, 1);
  assert.match(finishOf(noGo, 'px-oci-mon')!.error!, /cannot run 'go'.*not found/);
  assert.match(noGo.stderr, /hint: install Go \(Debian's golang-go\)/);

  const noSource = await run(['px-oci-mon'], { PX_SRC: '/nonexistent/px-installer' });
  assert.is(noSource.code, 1);
  assert.match(finishOf(noSource, 'px-oci-mon')!.error!, /the directory '\/nonexistent\/px-installer\/px-oci-mon' does not exist/);
});

test('dockprox takes /usr/bin/docker out of the static client archive, fetched and pinned', async () => {
  const pack = tar.pack();
  pack.entry({ name: 'docker/dockerd', mode: 0o755 }, '#!/bin/sh\necho daemon\n');
  pack.entry({ name: 'docker/docker', mode: 0o755 }, '#!/bin/sh\necho "Docker version 17.09.0-ce (stand-in) $*"\n');
  pack.finalize();
  const tgz = gzipSync(await buffer(pack));
  const server = http.createServer((_req, res) => res.end(tgz));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/docker-17.09.0-ce.tgz`;
    const result = await run(['dockprox'], { DOCKER_CLIENT_URL: url, BUILD_IMAGES_CACHE: path.join(projectDir, 'cache') });
    assert.is(result.code, 0, result.stderr + result.stdout);
    const image = `${repo}/dockprox:latest`;
    assert.equal((await imageInfo(image))!.Config.Entrypoint, ['/usr/bin/docker']);
    const { output } = await runIn(image, ['sh', '-c', 'stat -c %a /usr/bin/docker && /usr/bin/docker version']);
    assert.is(output.trim(), '755\nDocker version 17.09.0-ce (stand-in) version');
    const lock = JSON.parse(await readFile(path.join(projectDir, 'build-images.lock.json'), 'utf8'));
    assert.is(lock.fetched[url].sha256, createHash('sha256').update(tgz).digest('hex'));
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('rmi removes the local tags, :latest too; clean removes the binaries; neither fails when there is nothing', async () => {
  assert.is((await run(['px-oci-mon'], { PXTAG: '3.1.4' })).code, 0);
  const rmi = await run(['px-oci-mon', 'rmi'], { PXTAG: '3.1.4' });
  assert.is(rmi.code, 0, rmi.stderr);
  assert.is(await imageInfo(ocimon('3.1.4')), undefined);
  assert.is(await imageInfo(ocimon('latest')), undefined);
  assert.is((await run(['px-oci-mon', 'rmi'], { PXTAG: '3.1.4' })).code, 0);
  const distclean = await run(['distclean']);
  assert.is(distclean.code, 0, distclean.stderr);
  assert.is(await stat(path.join(pxSource, 'px-oci-mon/px-oci-mon')).catch(() => undefined), undefined);
  assert.is((await run(['clean'])).code, 0);
});

test.run();
