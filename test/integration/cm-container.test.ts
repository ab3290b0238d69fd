// cm-container, built from this repository's own build.config.yaml onto a stand-in Cloudify base, with the
// type files served over loopback HTTP; then checked from outside and run for real.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cp, lstat, mkdir, mkdtemp, readFile, readlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { cli, finishOf, type CliResult } from '../support/cli.ts';
import { PASSWORD, startRegistry, USER } from '../support/registry.ts';
import { cleanup, containerCount, demux, docker, importImage, requireEngine, rootfs, RUN_ID, RUN_LABEL, runIn } from '../support/engine.ts';

const test = suite('cm-container');
const REPO_ROOT = new URL('../../', import.meta.url).pathname;
const FIXTURE_CONFIG = await readFile(new URL('../fixtures/cloudify-config.yaml', import.meta.url), 'utf8');
const BASE = 'cloudifyplatform/community:18.7.23';
const IMAGE = `bi-test-${RUN_ID}/cm-container`;
const ONAPSPEC = '/opt/manager/resources/onapspec';
const K8S_TYPES = '/k8splugin/1.4.3/k8splugin_types.yaml';

let server: http.Server;
let served = '';
let k8sTypes = 'tosca_definitions_version: cloudify_dsl_1_3\n# k8splugin 1.4.3, first version\n';
let projectDir = '';
let cacheDir = '';

/** Cloudify's image as far as this image cares: config, rc.local, cfyuser, state, and an init that runs rc.local. */
async function standInBase(): Promise<void> {
  const fs = await rootfs({
    'etc/passwd': { content: 'root:x:0:0:root:/root:/bin/sh\npostgres:x:26:26::/var/lib/pgsql:/bin/sh\ncfyuser:x:1001:1001::/home/cfyuser:/bin/sh\n' },
    'etc/group': { content: 'root:x:0:\npostgres:x:26:\ncfyuser:x:1001:\n' },
    'etc/cloudify/config.yaml': { content: FIXTURE_CONFIG, mode: 0o640, uid: 1001, gid: 1001 },
    'etc/rc.d/rc.local': { content: '#!/bin/sh\n# CentOS: runs once at the end of start-up\ntouch /var/lock/subsys/local\n', mode: 0o644 },
    'var/lock/subsys/.keep': { content: '' },
    'var/run/.keep': { content: '' },
    'sbin/init': {
      mode: 0o755,
      content: '#!/bin/sh\necho "init: started with $*"\nif [ -x /etc/rc.d/rc.local ]; then /etc/rc.d/rc.local; fi\nif [ -n "${INIT_CHECK:-}" ]; then sh -c "$INIT_CHECK"; fi\n',
    },
    'var/lib/pgsql/9.5/data/PG_VERSION': { content: '9.5\n', mode: 0o600, uid: 26, gid: 26 },
    'var/lib/pgsql/9.5/data/base/1/1259': { content: 'catalog', mode: 0o600, uid: 26, gid: 26 },
    'opt/manager/resources/spec/cloudify/4.3/types.yaml': { content: 'tosca_definitions_version: cloudify_dsl_1_3\n', uid: 1001, gid: 1001 },
    'opt/manager/resources/latest-spec': { linkname: 'spec/cloudify/4.3' },
    'opt/mgmtworker/env/plugins/installed.txt': { content: 'none\n', uid: 1001, gid: 1001 },
    'opt/mgmtworker/work/deployments/.keep': { content: '', uid: 1001, gid: 1001 },
  });
  // Labelled with the run, so that cleanup removes it and each run imports its own.
  await importImage(BASE, fs, { [RUN_LABEL]: RUN_ID });
}

test.before(async () => {
  await requireEngine();
  await standInBase();
  server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url === `/plugins${K8S_TYPES}`) return void res.end(k8sTypes);
    if (url.startsWith('/plugins/') || url.startsWith('/ccsdk/type_files/')) return void res.end(`tosca_definitions_version: cloudify_dsl_1_3\n# ${url}\n`);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  served = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The repository's config and assets, in a scratch copy so that the lock file it writes stays there.
  projectDir = await mkdtemp(path.join(os.tmpdir(), 'bi-cm-'));
  for (const entry of ['build.config.yaml', 'images', 'types-3.4']) await cp(path.join(REPO_ROOT, entry), path.join(projectDir, entry), { recursive: true });
  cacheDir = await mkdtemp(path.join(os.tmpdir(), 'bi-cache-'));
});
test.after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await cleanup();
});

function build(tag: string, ...extra: string[]): Promise<CliResult> {
  return cli(
    ['--json', '--set', `TYPE_REPO=${served}/plugins`, '--set', `CCSDK_REPO=${served}/ccsdk`, '--set', `CM_REPOSITORY=${IMAGE}`, '--set', `CM_VERSION=${tag}`, ...extra, 'cm-container'],
    { cwd: projectDir, env: { BUILD_IMAGES_CACHE: cacheDir } },
  );
}

const inImage = async (cmd: string, tag = '1') => (await runIn(`${IMAGE}:${tag}`, ['sh', '-c', cmd])).output.trim();

/** Runs the image's own command (start-persistent.sh) in a container that is kept, for restarts. */
async function start(tag: string, options: { store?: string; secret?: string; check?: string } = {}) {
  const binds = [...(options.store ? [`${options.store}:/cfy-persist`] : []), ...(options.secret ? [`${options.secret}:/secret:ro`] : [])];
  const container = await docker.createContainer({
    Image: `${IMAGE}:${tag}`,
    Env: options.check ? [`INIT_CHECK=${options.check}`] : [],
    Labels: { [RUN_LABEL]: RUN_ID },
    HostConfig: { NetworkMode: 'none', Binds: binds },
  });
  const run = async () => {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const logs = demux((await container.logs({ stdout: true, stderr: true })) as unknown as Buffer);
    return { code: StatusCode, logs };
  };
  return { container, first: await run(), again: run };
}

const store = () => mkdtemp(path.join(os.tmpdir(), 'bi-store-'));

test('it builds from the repository’s config with no RUN, and leaves no container behind', async () => {
  const dryRun = await cli(['--dry-run', 'cm-container'], { cwd: projectDir });
  assert.is(dryRun.code, 0, dryRun.stderr);
  assert.not.match(dryRun.stdout, /\bRUN\b/);
  const containers = await containerCount();
  const result = await build('1');
  assert.is(result.code, 0, result.stderr + result.stdout);
  assert.is(finishOf(result, 'cm-container')!.status, 'built');
  assert.is(await containerCount(), containers, 'the containers that read the base image’s files are gone');
  const lock = JSON.parse(await readFile(path.join(projectDir, 'build-images.lock.json'), 'utf8'));
  assert.is(Object.keys(lock.fetched).length, 6, 'the six type files are pinned');
});

test('the type files are where ONAP’s resolver rules point, owned by cfyuser', async () => {
  const listing = await inImage(`cd ${ONAPSPEC} && find . -type f | sort && stat -c %U .${K8S_TYPES}`);
  assert.equal(listing.split('\n'), [
    './dcaepolicyplugin/2.3.0/dcaepolicyplugin_types.yaml',
    './dockerplugin/3.2.0/dockerplugin_types.yaml',
    './k8splugin/1.4.3/k8splugin_types.yaml',
    './relationshipplugin/1.0.0/relationshipplugin_types.yaml',
    './type_files/pgaas/1.1.0/pgaas_types.yaml',
    './type_files/sshkeyshare/sshkey_types.yaml',
    'cfyuser',
  ]);
  assert.match(await inImage(`cat ${ONAPSPEC}${K8S_TYPES}`), /first version/);
  const types34 = await inImage('stat -c %U /opt/manager/resources/spec/cloudify/3.4/types.yaml && head -c 2000 /opt/manager/resources/spec/cloudify/3.4/types.yaml');
  assert.match(types34, /^cfyuser\n/);
  assert.match(types34, /tosca_definitions_version: cloudify_dsl_1_3/);
});

test('config.yaml gets one rule per repository first, every other byte kept, owner and mode kept', async () => {
  const text = await inImage('cat /etc/cloudify/config.yaml; echo; stat -c "%u:%g %a" /etc/cloudify/config.yaml');
  const [file, meta] = [text.slice(0, text.lastIndexOf('\n')), text.slice(text.lastIndexOf('\n') + 1)];
  assert.is(meta, '1001:1001 640');
  const rules = parse(file).provider_context.import_resolver.parameters.rules;
  assert.equal(rules.slice(0, 2), [{ [`${served}/plugins`]: `file://${ONAPSPEC}` }, { [`${served}/ccsdk`]: `file://${ONAPSPEC}` }]);
  const added = file.split('\n').filter((line) => !FIXTURE_CONFIG.split('\n').includes(line));
  assert.is(added.length, 2, 'only the two rule lines are new');
  assert.is(file.split('\n').filter((l) => !added.includes(l)).join('\n').trimEnd(), FIXTURE_CONFIG.trimEnd());
});

test('rc.local runs setup-secret.sh, once, and is executable; the scripts, CMD and /opt/onap are in place', async () => {
  const rc = await inImage('cat /etc/rc.d/rc.local; stat -c %a /etc/rc.d/rc.local');
  assert.is(rc, '#!/bin/sh\n# CentOS: runs once at the end of start-up\ntouch /var/lock/subsys/local\n/scripts/setup-secret.sh\n755');
  assert.is(await inImage('stat -c "%a %n" /scripts/*'), '755 /scripts/setup-secret.sh\n755 /scripts/start-persistent.sh');
  assert.is(await inImage('stat -c "%U %F" /opt/onap'), 'cfyuser directory');
  const info = await docker.getImage(`${IMAGE}:1`).inspect();
  assert.equal(info.Config.Cmd, ['/scripts/start-persistent.sh']);
});

test('with no store it says so and starts init as before', async () => {
  const { first } = await start('1');
  assert.is(first.code, 0, first.logs);
  assert.match(first.logs, /no persistent store at \/cfy-persist/);
  assert.match(first.logs, /init: started with --log-target=journal/);
});

test('an empty store is populated, owners, modes and links kept, then marked; the directories are linked', async () => {
  const dir = await store();
  const { first } = await start('1', { store: dir, check: 'readlink /var/lib/pgsql/9.5/data; cat /var/lib/pgsql/9.5/data/PG_VERSION' });
  assert.is(first.code, 0, first.logs);
  assert.match(first.logs, /populating \/cfy-persist/);
  assert.match(first.logs, /\/cfy-persist\/var\/lib\/pgsql\/9.5\/data\n9.5/, first.logs);
  const pgVersion = await lstat(path.join(dir, 'var/lib/pgsql/9.5/data/PG_VERSION'));
  assert.is(pgVersion.uid, 26);
  assert.is(pgVersion.mode & 0o7777, 0o600);
  assert.is(await readlink(path.join(dir, 'opt/manager/resources/latest-spec')), 'spec/cloudify/4.3');
  assert.ok(await lstat(path.join(dir, '.populated')));
  assert.ok(await lstat(path.join(dir, `opt/manager/resources/onapspec${K8S_TYPES}`)));
});

test('a restart of the same container, and a new container on the same store, keep the state', async () => {
  const dir = await store();
  const write = 'echo "{}" > /opt/mgmtworker/work/deployments/dep-1.json';
  const first = await start('1', { store: dir, check: write });
  assert.is(first.first.code, 0, first.first.logs);
  const restarted = await first.again();
  assert.is(restarted.code, 0, restarted.logs);
  assert.match(restarted.logs, /using the populated store/);
  const second = await start('1', { store: dir, check: 'cat /opt/mgmtworker/work/deployments/dep-1.json' });
  assert.is(second.first.code, 0, second.first.logs);
  assert.match(second.first.logs, /using the populated store[\s\S]*\{\}/);
  assert.not.match(second.first.logs, /populating/);
});

test('a first copy that died half-way is redone, not taken for a populated store', async () => {
  const dir = await store();
  await mkdir(path.join(dir, 'var/lib/pgsql/9.5'), { recursive: true });
  await mkdir(path.join(dir, 'opt/manager/resources'), { recursive: true });
  await writeFile(path.join(dir, 'opt/manager/resources/half-copied'), '');
  const { first } = await start('1', { store: dir });
  assert.is(first.code, 0, first.logs);
  assert.match(first.logs, /populating/);
  assert.ok(await lstat(path.join(dir, 'var/lib/pgsql/9.5/data/PG_VERSION')));
  assert.is(await lstat(path.join(dir, 'opt/manager/resources/half-copied')).catch(() => undefined), undefined);
  assert.ok(await lstat(path.join(dir, '.populated')));
});

test('after an upgrade the manager sees the new image’s type files, though an older image populated the store', async () => {
  const dir = await store();
  assert.is((await start('1', { store: dir })).first.code, 0);
  k8sTypes = 'tosca_definitions_version: cloudify_dsl_1_3\n# k8splugin 1.4.3, second version\n';
  // The lock pins what was fetched: a rebuild takes the pinned file from the cache, asking no server.
  const pinned = await build('2');
  assert.is(pinned.code, 0, pinned.stderr + pinned.stdout);
  assert.match(await inImage(`cat ${ONAPSPEC}${K8S_TYPES}`, '2'), /first version/);
  const rebuilt = await build('2', '--update-lock');
  assert.is(rebuilt.code, 0, rebuilt.stderr + rebuilt.stdout);
  assert.match(await inImage(`cat ${ONAPSPEC}${K8S_TYPES}`, '2'), /second version/);
  const upgraded = await start('2', { store: dir, check: `cat ${ONAPSPEC}${K8S_TYPES}` });
  assert.is(upgraded.first.code, 0, upgraded.first.logs);
  assert.match(upgraded.first.logs, /second version/);
});

test('with /secret mounted, rc.local links the service account to it; a second run changes nothing', async () => {
  const secret = await mkdtemp(path.join(os.tmpdir(), 'bi-secret-'));
  await writeFile(path.join(secret, 'token'), 'kube-token');
  const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
  const { first } = await start('1', { secret, check: `readlink ${sa}; cat ${sa}/token; echo; /scripts/setup-secret.sh; echo again=$?; readlink ${sa}` });
  assert.is(first.code, 0, first.logs);
  assert.match(first.logs, /linked \/var\/run\/secrets\/kubernetes.io\/serviceaccount to \/secret/);
  assert.match(first.logs, /\/secret\nkube-token\nagain=0\n\/secret/, first.logs);
});

test('deploy pushes ONAP’s tags to CM_REGISTRY: <release>-<timestamp>, <release> and <release>-latest', async () => {
  const registry = await startRegistry();
  try {
    // CM_REGISTRY's credentials come from config.json, as `docker login` leaves them: DOCKER_HUB_USER is Docker Hub's.
    const dockerConfig = path.join(projectDir, 'docker-config');
    await mkdir(dockerConfig, { recursive: true });
    await writeFile(path.join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [registry.address]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }));
    const result = await cli(
      ['--json', '--set', `TYPE_REPO=${served}/plugins`, '--set', `CCSDK_REPO=${served}/ccsdk`, '--set', `CM_REPOSITORY=${IMAGE}`, '--set', 'CM_VERSION=1', '--set', `CM_REGISTRY=${registry.address}`, 'cm-container', 'deploy'],
      { cwd: projectDir, env: { BUILD_IMAGES_CACHE: cacheDir, DOCKER_CONFIG: dockerConfig } },
    );
    assert.is(result.code, 0, result.stderr + result.stdout);
    const tags = await registry.tags(IMAGE);
    assert.is(tags.length, 3, tags.join(' '));
    assert.equal(tags.filter((t) => !/^1\.6-\d{8}T\d{6}Z$/.test(t)), ['1.6', '1.6-latest']);
  } finally {
    await registry.stop();
  }
});

test.run();
