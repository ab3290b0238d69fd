// The px images and the Makefile's targets, from this repository's build.config.yaml, with a px-installer
// checkout of our own making shaped like the real one (GOPATH-era: no go.mod, packages importing each
// other by import path, govendor's vendor/), Debian's Go, and real registries on 127.0.0.1.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import os from 'node:os';
import path from 'node:path';
import { cli, finishOf, project, summaryOf, type CliOptions, type CliResult } from '../support/cli.ts';
import { cleanup, demux, docker, ensureStandIns, imageInfo, requireEngine, RUN_ID, RUN_LABEL, runIn } from '../support/engine.ts';
import { flakyProxy, freePort, PASSWORD, startRegistry, USER, type Registry } from '../support/registry.ts';
import { tempDir } from '../support/temp.ts';

const test = suite('px images and the Makefile targets');
const REPO_ROOT = new URL('../../', import.meta.url).pathname;
const FIXTURE = new URL('../fixtures/px-installer/', import.meta.url).pathname;
const NO_ENGINE = 'unix:///nonexistent/docker.sock';

let registry: Registry;
let parent = '';
let projectDir = '';
let pxSource = '';
let pxCommit = '';
let repo = '';
const ENV_CREDENTIALS = { DOCKER_HUB_USER: USER, DOCKER_HUB_PASSWD: PASSWORD };

/** A copy of the px-installer fixture, as a git checkout (docker-proxy's tag is its commit). */
async function pxCheckout(dir: string): Promise<string> {
  await cp(FIXTURE, dir, { recursive: true });
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.test', ...args], { cwd: dir, encoding: 'utf8' }).trim();
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'px-installer fixture');
  return git('rev-parse', 'HEAD');
}

test.before(async () => {
  await requireEngine();
  await ensureStandIns();
  registry = await startRegistry();
  // The Makefile's layout: build-images' project beside a px-installer checkout (PX_SRC's default).
  parent = await tempDir('bi-px-');
  projectDir = path.join(parent, 'build-images');
  pxSource = path.join(parent, 'px-installer');
  await mkdir(projectDir);
  await cp(path.join(REPO_ROOT, 'build.config.yaml'), path.join(projectDir, 'build.config.yaml'));
  pxCommit = await pxCheckout(pxSource);
  repo = `${registry.address}/bi-${RUN_ID}`;
});
test.after(async () => {
  await registry.stop();
  await cleanup();
});

/**
 * The command as a user runs it here: a private Docker config, the test registry as DOCKER_HUB_REPO, and
 * no GOPATH or GO111MODULE of their own: the tool must arrange what Go needs.
 */
function run(args: string[], env: CliOptions['env'] = {}, cwd = projectDir): Promise<CliResult> {
  return cli(['--json', ...args], {
    cwd,
    env: {
      DOCKER_CONFIG: path.join(projectDir, 'no-docker-config'),
      DOCKER_HUB_REPO: repo,
      GOPATH: undefined,
      GO111MODULE: undefined,
      GOFLAGS: undefined,
      ...env,
    },
  });
}

const ocimon = (tag: string) => `${repo}/oci-monitor:${tag}`;
const websvc = (tag: string) => `${repo}/monitor-websvc:${tag}`;
const pushEvents = (r: CliResult) => r.events.filter((e) => e['type'] === 'push');
const commandEvents = (r: CliResult) => r.events.filter((e) => e['type'] === 'command');

test('`all` compiles the GOPATH-era checkout with Debian’s Go, offline, without an engine; a second run finds both fresh', async () => {
  const first = await run(['all'], { DOCKER_HOST: NO_ENGINE, GOPROXY: 'off', GOFLAGS: '-mod=mod' });
  assert.is(first.code, 0, first.stderr + first.stdout);
  assert.ok((await stat(path.join(pxSource, 'px-oci-mon/px-oci-mon'))).size > 0);
  assert.ok((await stat(path.join(pxSource, 'px-spec-websvc/px-spec-websvc'))).size > 0);
  const shown = String(commandEvents(first)[0]!['command']);
  assert.match(shown, /^cd \S+\/\.build-images\/gopath\/\w+\/src\/github\.com\/portworx\/px-installer\/px-oci-mon && /);
  assert.match(
    shown,
    / GO111MODULE=off GOARCH=amd64 GOOS=linux GOPATH=\S+ go build -trimpath -ldflags '-X main\.PXTAG= -extldflags -static' -o px-oci-mon \.$/,
  );
  const second = await run(['all'], { DOCKER_HOST: NO_ENGINE });
  assert.equal(
    commandEvents(second).map((e) => e['status']),
    ['fresh', 'fresh'],
  );
  assert.equal(summaryOf(second).commands, { ran: 0, fresh: 2, failed: 0 });
});

test('the command shown is a line to paste into a shell: it builds the same binary', async () => {
  await rm(path.join(pxSource, 'px-oci-mon/px-oci-mon'));
  const result = await run(['px-oci-mon/px-oci-mon'], { DOCKER_HOST: NO_ENGINE, PXTAG: '8.8.8' });
  assert.is(result.code, 0, result.stderr + result.stdout);
  const line = String(commandEvents(result)[0]!['command']);
  await rm(path.join(pxSource, 'px-oci-mon/px-oci-mon'));
  const env = { PATH: process.env['PATH']!, HOME: process.env['HOME']! };
  const pasted = spawnSync('/bin/sh', ['-c', line], { env, encoding: 'utf8', cwd: os.tmpdir() });
  assert.is(pasted.status, 0, pasted.stderr);
  assert.is(execFileSync(path.join(pxSource, 'px-oci-mon/px-oci-mon'), { encoding: 'utf8' }).trim(), 'px-oci-mon PXTAG=8.8.8');
});

test('after a run, the dry run finds the GOPATH build up to date, as the next run does', async () => {
  const env = { DOCKER_HOST: NO_ENGINE, PXTAG: '8.8.9' };
  assert.is((await run(['px-oci-mon/px-oci-mon'], env)).code, 0);
  const dry = await run(['--dry-run', 'px-oci-mon/px-oci-mon'], env);
  const [planned] = (dry.events.find((e) => e['type'] === 'plan')!['phases'] as { commands: Record<string, unknown>[] }[])[0]!.commands;
  assert.is(planned!['upToDate'], true, JSON.stringify(planned));
  assert.equal(
    commandEvents(await run(['px-oci-mon/px-oci-mon'], env)).map((e) => e['status']),
    ['fresh'],
  );
});

test('a checkout with a go.mod builds in module mode, where it is', async () => {
  const moduleCheckout = path.join(parent, 'px-installer-modules');
  await cp(FIXTURE, moduleCheckout, { recursive: true });
  await writeFile(path.join(moduleCheckout, 'go.mod'), 'module github.com/portworx/px-installer\n\ngo 1.19\n\nrequire github.com/pkg/errors v0.8.0\n');
  await writeFile(path.join(moduleCheckout, 'vendor/modules.txt'), '# github.com/pkg/errors v0.8.0\n## explicit\ngithub.com/pkg/errors\n');
  const result = await run(['all'], { DOCKER_HOST: NO_ENGINE, PX_SRC: moduleCheckout, GOPROXY: 'off', GO111MODULE: 'off' });
  assert.is(result.code, 0, result.stderr + result.stdout);
  const shown = String(commandEvents(result)[0]!['command']);
  assert.ok(shown.startsWith(`cd ${moduleCheckout}/px-oci-mon && `), shown);
  assert.match(shown, / GO111MODULE=on /);
  assert.ok((await stat(path.join(moduleCheckout, 'px-spec-websvc/px-spec-websvc'))).size > 0);
});

test('a variable left at its default is reported once', async () => {
  const result = await run(['--dry-run', 'px-container'], { DOCKER_HUB_TAG: '1' });
  const notices = result.events.filter((e) => e['type'] === 'notice').map((e) => e['message']);
  assert.equal(notices, [
    "DOCKER_HUB_OCIMON_IMAGE is not set: using its default 'oci-monitor'",
    "DOCKER_HUB_WEBSVC_IMAGE is not set: using its default 'monitor-websvc'",
  ]);
});

test('PXTAG beats DOCKER_HUB_TAG from the environment, as the Makefile’s ifdef did; --set DOCKER_HUB_TAG beats both', async () => {
  const tags = async (env: Record<string, string>, sets: string[] = []) =>
    ((await run(['--dry-run', ...sets, 'px-container'], env)).events.find((e) => e['type'] === 'plan')!['images'] as { tags: string[] }[]).map(
      (i) => i.tags[0],
    );
  assert.equal(await tags({ PXTAG: '1.2.12', DOCKER_HUB_TAG: '1.0' }), [ocimon('1.2.12'), websvc('1.2.12')]);
  assert.equal(await tags({ PXTAG: '1.2.12', DOCKER_HUB_TAG: '1.0' }, ['--set', 'DOCKER_HUB_TAG=2.0']), [ocimon('2.0'), websvc('2.0')]);
  assert.equal(await tags({ DOCKER_HUB_TAG: '1.0' }), [ocimon('1.0'), websvc('1.0')]);
});

/** Starts the image on the host's network with PORT set, and returns what it printed and what it served. */
async function serve(image: string, query: string): Promise<{ logs: string; body: string }> {
  const port = await freePort();
  const container = await docker.createContainer({ Image: image, Env: [`PORT=${port}`], Labels: { [RUN_LABEL]: RUN_ID }, HostConfig: { NetworkMode: 'host' } });
  try {
    await container.start();
    let body = '';
    for (let i = 0; i < 50 && !body; i++) {
      body = await fetch(`http://127.0.0.1:${port}/${query}`).then(
        (r) => r.text(),
        () => '',
      );
      if (!body) await new Promise((r) => setTimeout(r, 100));
    }
    const logs = demux((await container.logs({ stdout: true, stderr: true })) as unknown as Buffer);
    return { logs, body };
  } finally {
    await container.remove({ force: true });
  }
}

test('PXTAG becomes the tag and is linked into both binaries: the web service serves specs naming oci-monitor:<PXTAG>', async () => {
  const result = await run(['px-container'], { PXTAG: '3.1.4' });
  assert.is(result.code, 0, result.stderr + result.stdout);
  assert.ok(
    commandEvents(result).every((e) => e['status'] === 'ran' && e['reason'] === 'the command changed'),
    'a new PXTAG recompiles both',
  );
  assert.is((await runIn(ocimon('3.1.4'), ['/px-oci-mon'])).output.trim(), 'px-oci-mon PXTAG=3.1.4');

  const oci = (await imageInfo(ocimon('3.1.4')))!.Config;
  assert.equal(oci.Entrypoint, ['/px-oci-mon']);
  const web = (await imageInfo(websvc('3.1.4')))!.Config;
  assert.equal(web.Entrypoint, ['/px-spec-websvc']);
  assert.ok(!web.Cmd || web.Cmd.length === 0, 'CMD []');
  assert.is(web.WorkingDir, '/');
  assert.ok('8080/tcp' in (web.ExposedPorts ?? {}));
  const { logs, body } = await serve(websvc('3.1.4'), '?c=px-cluster');
  assert.match(logs, /^px-spec-websvc PXTAG=3\.1\.4 listening/);
  assert.match(body, /image: portworx\/oci-monitor:3\.1\.4\n/, 'the template at / rendered with the linked PXTAG');
  assert.match(body, /"-c", "px-cluster"/);
});

test('the binaries are the Makefile’s: static, not stripped (their symbol table is there)', async () => {
  for (const binary of ['px-oci-mon/px-oci-mon', 'px-spec-websvc/px-spec-websvc']) {
    const symbols = spawnSync('go', ['tool', 'nm', path.join(pxSource, binary)], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.is(symbols.status, 0, symbols.stderr);
    assert.match(symbols.stdout, / D main\.PXTAG\n/, binary);
    const header = (await readFile(path.join(pxSource, binary))).subarray(0, 4);
    assert.equal([...header], [0x7f, 0x45, 0x4c, 0x46], 'an ELF binary for linux');
  }
});

test('deploy with no image named pushes the px images and nothing else, with the environment’s credentials', async () => {
  const result = await run(['deploy'], { ...ENV_CREDENTIALS, PXTAG: '3.1.4' });
  assert.is(result.code, 0, result.stderr + result.stdout);
  assert.equal(summaryOf(result).pushed, [ocimon('3.1.4'), websvc('3.1.4')]);
  assert.equal(
    summaryOf(result).images.map((i) => i.name),
    ['px-oci-mon', 'px-spec-websvc'],
    'neither cm-container nor dockprox is built',
  );
  assert.equal(await registry.tags(`bi-${RUN_ID}/oci-monitor`), ['3.1.4']);
  assert.equal(await registry.tags(`bi-${RUN_ID}/monitor-websvc`), ['3.1.4']);
  assert.equal(await registry.tags(`bi-${RUN_ID}/dockprox`), []);
});

test('a fresh runner (new clones, another umask, no image of ours) finds the px images up to date in the registry without compiling; a changed source compiles and rebuilds that image alone', async () => {
  // The next CI job: both checkouts cloned anew elsewhere, files 0664 and folders 0775, no binary, no state.
  const runner = await tempDir('bi-px-runner-');
  const [project, checkout] = [path.join(runner, 'build-images'), path.join(runner, 'px-installer')];
  const cloned = spawnSync(
    'sh',
    ['-c', `umask 0002 && mkdir "${project}" && cp "${projectDir}/build.config.yaml" "${project}/" && git clone -q "${pxSource}" "${checkout}"`],
    {
      encoding: 'utf8',
    },
  );
  assert.is(cloned.status, 0, cloned.stderr);
  for (const ref of [ocimon('3.1.4'), websvc('3.1.4')]) await docker.getImage(ref).remove({ force: true });
  const env = { ...ENV_CREDENTIALS, PXTAG: '3.1.4', PX_SRC: checkout };

  const unchanged = await run(['px-container', 'deploy'], env, project);
  assert.is(unchanged.code, 0, unchanged.stderr + unchanged.stdout);
  assert.equal(commandEvents(unchanged), [], 'no go build ran');
  for (const name of ['px-oci-mon', 'px-spec-websvc']) {
    const finish = finishOf(unchanged, name) as { status: string; reason?: string };
    assert.is(finish.status, 'skipped', name);
    assert.match(finish.reason!, /^up to date in /);
  }
  assert.is(await stat(path.join(checkout, 'px-oci-mon/px-oci-mon')).catch(() => undefined), undefined, 'no binary made');
  assert.equal(
    pushEvents(unchanged).filter((e) => e['status'] === 'pushed'),
    [],
  );

  const main = path.join(checkout, 'px-oci-mon/main.go');
  await writeFile(main, `${await readFile(main, 'utf8')}\n// changed in the next job\n`);
  const changed = await run(['px-container', 'deploy'], env, project);
  assert.is(changed.code, 0, changed.stderr + changed.stdout);
  assert.equal(
    commandEvents(changed).map((e) => `${e['name']} ${e['status']}`),
    ['px-oci-mon/px-oci-mon ran'],
  );
  assert.is(finishOf(changed, 'px-oci-mon')!.status, 'built');
  assert.is(finishOf(changed, 'px-oci-mon')!.reason, 'inputs changed (px:px-oci-mon/px-oci-mon)');
  assert.is(finishOf(changed, 'px-spec-websvc')!.status, 'skipped');
  assert.equal(
    pushEvents(changed)
      .filter((e) => e['status'] === 'pushed')
      .map((e) => e['tag']),
    [ocimon('3.1.4')],
  );
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
  // Who retries the manifest differs by image store: we do on the graphdriver's (it does not), the
  // containerd store's pusher does it quietly itself. Either way the 500 is met and the tag lands.
  const proxy = await flakyProxy(registry.address);
  try {
    const viaProxy = `${proxy.address}/bi-${RUN_ID}`;
    const result = await run(['--verbose', 'px-oci-mon', 'deploy'], { ...ENV_CREDENTIALS, DOCKER_HUB_REPO: viaProxy, PXTAG: '2.7.1' });
    assert.is(result.code, 0, result.stderr + result.stdout);
    assert.is(proxy.failures(), 1, 'the manifest was refused once');
    assert.ok((await registry.tags(`bi-${RUN_ID}/oci-monitor`)).includes('2.7.1'));
  } finally {
    await proxy.stop();
  }
});

async function dockerConfig(config: unknown): Promise<string> {
  const dir = await tempDir('bi-docker-config-');
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
  const bin = await tempDir('bi-helper-');
  const helper = path.join(bin, 'docker-credential-bitest');
  await writeFile(
    helper,
    `#!/bin/sh\nread server\n[ "$server" = "${registry.address}" ] || exit 1\nprintf '{"ServerURL":"%s","Username":"${USER}","Secret":"${PASSWORD}"}' "$server"\n`,
  );
  await chmod(helper, 0o755);
  const PATH = `${bin}:${process.env['PATH']}`;
  for (const [config, tag] of [
    [{ credsStore: 'bitest' }, '5.0.0'],
    [{ credHelpers: { [registry.address]: 'bitest' } }, '5.0.1'],
  ] as const) {
    const result = await run(['px-oci-mon', 'deploy'], { DOCKER_CONFIG: await dockerConfig(config), PATH, PXTAG: tag });
    assert.is(result.code, 0, result.stderr + result.stdout);
    assert.ok((await registry.tags(`bi-${RUN_ID}/oci-monitor`)).includes(tag), tag);
  }
});

test('the environment’s credentials go to their registry only: another registry, in the same run, is sent config.json’s', async () => {
  const other = await startRegistry({ user: 'nexus-user', password: 'nexus-Pa55' });
  const recorder = await flakyProxy(other.address, { failOnce: false });
  try {
    const otherAuth = `Basic ${Buffer.from('nexus-user:nexus-Pa55').toString('base64')}`;
    const DOCKER_CONFIG = await dockerConfig({ auths: { [recorder.address]: { auth: Buffer.from('nexus-user:nexus-Pa55').toString('base64') } } });
    // As this repository's config pushes cm-container to CM_REGISTRY beside the px images to DOCKER_HUB_REPO.
    const dir = await project({
      'build.config.yaml': `
variables:
  DOCKER_HUB_REPO: unset
  CM_REGISTRY: unset
credentials:
  - { registry: '\${DOCKER_HUB_REPO}', usernameVariable: DOCKER_HUB_USER, passwordVariable: DOCKER_HUB_PASSWD }
images:
  px: { base: ubuntu:16.04, tags: ['\${DOCKER_HUB_REPO}/px:1'], steps: [{ env: { IMAGE: px } }] }
  cm: { base: ubuntu:16.04, tags: ['\${CM_REGISTRY}/bi-${RUN_ID}/cm:1'], steps: [{ env: { IMAGE: cm } }] }
`,
    });
    const result = await run(['px', 'cm', 'deploy'], { ...ENV_CREDENTIALS, DOCKER_CONFIG, CM_REGISTRY: recorder.address }, dir);
    assert.is(result.code, 0, result.stderr + result.stdout);
    assert.equal(summaryOf(result).pushed, [`${repo}/px:1`, `${recorder.address}/bi-${RUN_ID}/cm:1`]);
    assert.equal(await other.tags(`bi-${RUN_ID}/cm`), ['1']);
    const sent = recorder.authorizations();
    assert.ok(sent.length > 0, 'the other registry was sent credentials');
    assert.equal([...new Set(sent)], [otherAuth], 'only its own, from config.json');
    assert.not.ok(
      sent.some((header) =>
        Buffer.from(header.replace(/^Basic /, ''), 'base64')
          .toString()
          .includes(PASSWORD),
      ),
    );
  } finally {
    await recorder.stop();
    await other.stop();
  }
});

test('the password is nowhere in the image: not in its labels, env or history', async () => {
  const info = (await imageInfo(ocimon('3.1.4')))!;
  const history = await docker.getImage(ocimon('3.1.4')).history();
  const everything = JSON.stringify([info, history]);
  assert.not.ok(everything.includes(PASSWORD));
});

test('Go missing: the one hint that applies', async () => {
  await cli(['clean'], { cwd: projectDir });
  const noGo = await run(['px-oci-mon'], { PATH: '/nonexistent', PXTAG: '3.1.4' });
  assert.is(noGo.code, 1);
  assert.match(finishOf(noGo, 'px-oci-mon')!.error!, /cannot run 'go'.*not found/);
  assert.is(commandEvents(noGo)[0]!['hint'], "install Go: Debian's golang-go (apt-get install golang-go), or put go on PATH");
});

test('a newcomer with no px checkout: the px images fail with the one hint that applies, dockprox still builds', async () => {
  const server = await archiveServer();
  try {
    const result = await cli(['px-container', 'dockprox'], {
      cwd: projectDir,
      env: {
        DOCKER_HUB_REPO: repo,
        PX_SRC: '/nonexistent/px-installer',
        DOCKER_CLIENT_URL: server.url,
        BUILD_IMAGES_CACHE: path.join(projectDir, 'cache-newcomer'),
      },
    });
    assert.is(result.code, 1);
    assert.match(result.stdout, /px-oci-mon: px-oci-mon\/px-oci-mon: FAILED: the directory '\/nonexistent\/px-installer' does not exist\n/);
    const hints = result.stdout.split('\n').filter((line) => line.trim().startsWith('hint:'));
    assert.ok(hints.length > 0);
    assert.ok(
      hints.every((h) => h.trim() === 'hint: clone px-installer beside this project (../px-installer), or set PX_SRC to your checkout'),
      hints.join('\n'),
    );
    assert.match(result.stdout, /dockprox: built \w+/);
    assert.match(result.stdout, /summary: FAILED: 1 built, 0 up to date, 2 failed/);
  } finally {
    await server.close();
  }
});

test('no engine: one line that says how to start one', async () => {
  const result = await cli(['px-oci-mon'], { cwd: projectDir, env: { DOCKER_HOST: NO_ENGINE } });
  assert.is(result.code, 1);
  assert.match(
    result.stderr,
    /^error: cannot reach the Docker engine at unix:\/\/\/nonexistent\/docker\.sock \(ENOENT\): start it \(dockerd, or systemctl start docker\), or point DOCKER_HOST at a running engine\n$/,
  );
});

test('a compile error shows Go’s message and the matching hint; -k goes on and reports every failed command', async () => {
  const broken = path.join(parent, 'px-installer-broken');
  await cp(FIXTURE, broken, { recursive: true });
  for (const file of ['px-oci-mon/main.go', 'px-spec-websvc/px-spec-websvc.go']) {
    const source = await readFile(path.join(broken, file), 'utf8');
    await writeFile(path.join(broken, file), source.replace('func main() {', 'func main() {\n\tundefinedHelper()'));
  }
  const result = await run(['-k', 'all'], { DOCKER_HOST: NO_ENGINE, PX_SRC: broken });
  assert.is(result.code, 1);
  const failed = commandEvents(result);
  assert.equal(
    failed.map((e) => [e['name'], e['status']]),
    [
      ['px-oci-mon/px-oci-mon', 'failed'],
      ['px-spec-websvc/px-spec-websvc', 'failed'],
    ],
  );
  for (const event of failed) {
    assert.ok(
      (event['output'] as string[]).some((line) => /\.go:\d+:\d+: undefined: undefinedHelper/.test(line)),
      JSON.stringify(event),
    );
    assert.is(event['hint'], "Go's message says what does not compile: fix the px-installer checkout at PX_SRC, or check out a commit that builds");
  }
  assert.equal(summaryOf(result).commands, { ran: 0, fresh: 0, failed: 2 });

  const plain = await cli(['-k', 'all'], { cwd: projectDir, env: { DOCKER_HOST: NO_ENGINE, PX_SRC: broken } });
  assert.match(
    plain.stdout,
    /px-oci-mon: px-oci-mon\/px-oci-mon: FAILED: exited with code 2: go build -trimpath -ldflags '-X main\.PXTAG= -extldflags -static' -o px-oci-mon \.\n {2}\| # github\.com\/portworx\/px-installer\/px-oci-mon\n {2}\| \.\/main\.go:\d+:\d+: undefined: undefinedHelper\n {2}command: cd \S+ && CGO_ENABLED=0 GO111MODULE=off /,
  );
  assert.match(
    plain.stdout,
    /\n {2}hint: Go's message says what does not compile: fix the px-installer checkout at PX_SRC, or check out a commit that builds\n/,
  );
  assert.match(plain.stdout, /summary: FAILED: 0 built, 0 up to date, 0 failed, commands: 0 ran, 0 up to date, 2 failed\n$/);
});

/**
 * Runs a host command alone (no engine), whose subshell leaves an orphaned `sleep` holding the output
 * open, and sends the tool SIGTERM once it has started, once per given delay. What became of the run and
 * of the orphan.
 */
async function interrupted(run: string, delays: number[]): Promise<{ code: number | null; ms: number; orphanAlive: boolean }> {
  const dir = await project({
    'build.config.yaml': `images:\n  slow:\n    base: ubuntu:16.04\n    tags: [bi-test-${RUN_ID}/slow:1]\n    steps:\n      - command: { name: slow/out, run: '${run}', outputs: [out] }\n`,
  });
  const started = Date.now();
  const result = await cli(['--json', '--verbose', 'slow/out'], {
    cwd: dir,
    env: { DOCKER_HOST: NO_ENGINE },
    onLine: (line, child) => {
      if (line.includes('"line":"started"')) for (const delay of delays) setTimeout(() => child.kill('SIGTERM'), delay);
    },
  });
  const ms = Date.now() - started;
  const orphan = Number(await readFile(path.join(dir, 'orphan.pid'), 'utf8'));
  await new Promise((r) => setTimeout(r, 200));
  // A killed process that nobody reaped (PID 1 here does not) is a zombie: dead.
  const state = await readFile(`/proc/${orphan}/status`, 'utf8').catch(() => '');
  return { code: result.code, ms, orphanAlive: /^State:\s+[^Z]/m.test(state) };
}

test('SIGTERM reaches the host command’s whole process group: the run ends at once, no orphan left', async () => {
  const { code, ms, orphanAlive } = await interrupted('(sleep 30 & echo $! > orphan.pid); echo started; sleep 30', [0]);
  assert.is(code, 130);
  assert.ok(ms < 5000, `ended after ${ms} ms`);
  assert.not.ok(orphanAlive, 'the orphaned sleep was killed with its group');
});

test('a second SIGTERM exits at once, and still takes the host command’s group with it', async () => {
  // The command ignores SIGTERM, so the first signal's cleanup would wait; the second must not leave it behind.
  const { code, ms, orphanAlive } = await interrupted('trap "" TERM; (sleep 30 & echo $! > orphan.pid); echo started; sleep 30', [0, 300]);
  assert.is(code, 130);
  assert.ok(ms < 1800, `ended after ${ms} ms, before the SIGKILL grace`);
  assert.not.ok(orphanAlive, 'the orphaned sleep was killed');
});

/** The static docker client archive, served on loopback: a stand-in of docker-17.09.0-ce.tgz. */
async function archiveServer(): Promise<{ url: string; tgz: Buffer; close(): Promise<void> }> {
  const pack = tar.pack();
  pack.entry({ name: 'docker/dockerd', mode: 0o755 }, '#!/bin/sh\necho daemon\n');
  pack.entry({ name: 'docker/docker', mode: 0o755 }, '#!/bin/sh\necho "Docker version 17.09.0-ce (stand-in) $*"\n');
  pack.finalize();
  const tgz = gzipSync(await buffer(pack));
  const server = http.createServer((_req, res) => res.end(tgz));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/docker-17.09.0-ce.tgz`,
    tgz,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test('dockprox takes /usr/bin/docker out of the static client archive, fetched and pinned, tagged with the px checkout’s commit', async () => {
  const server = await archiveServer();
  try {
    const result = await run(['dockprox'], { DOCKER_CLIENT_URL: server.url, BUILD_IMAGES_CACHE: path.join(projectDir, 'cache') });
    assert.is(result.code, 0, result.stderr + result.stdout);
    // docker-proxy's Makefile: DOCKER_HUB_TAG := $(shell git rev-parse HEAD | cut -c-7)
    const image = `${repo}/dockprox:${pxCommit.slice(0, 7)}`;
    assert.equal(summaryOf(result).images[0]!.tags, [image]);
    assert.equal((await imageInfo(image))!.Config.Entrypoint, ['/usr/bin/docker']);
    const { output } = await runIn(image, ['sh', '-c', 'stat -c %a /usr/bin/docker && /usr/bin/docker version']);
    assert.is(output.trim(), '755\nDocker version 17.09.0-ce (stand-in) version');
    // DOCKER_CLIENT_URL came from the environment: pinned under the URL's digest, the URL not written.
    const lockText = await readFile(path.join(projectDir, 'build-images.lock.json'), 'utf8');
    assert.not.match(lockText, server.url);
    const pin = JSON.parse(lockText).fetched[`sha256:${createHash('sha256').update(server.url).digest('hex')}`];
    assert.is(pin.sha256, createHash('sha256').update(server.tgz).digest('hex'));
  } finally {
    await server.close();
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
  assert.is((await run(['clean'], { DOCKER_HOST: NO_ENGINE })).code, 0, 'clean needs no engine');
});

test.run();
