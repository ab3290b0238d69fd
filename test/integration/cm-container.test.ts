// cm-container, built from this repository's own build.config.yaml onto a stand-in Cloudify base (see
// test/support/cloudify.ts), with the type files served over loopback HTTP; then checked from outside and
// run for real: first boot against the stand-in REST API, restarts, stores, upgrades, dcae-cleanup.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cp, lstat, mkdir, readFile, readlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type Docker from 'dockerode';
import { parse } from 'yaml';
import { cli, finishOf, summaryOf, type CliResult } from '../support/cli.ts';
import { cloudifyStandIn, cmDeclaration, fixture, resolveImport } from '../support/cloudify.ts';
import { PASSWORD, startRegistry, USER, type Registry } from '../support/registry.ts';
import { cleanup, containerCount, demux, docker, requireEngine, RUN_ID, RUN_LABEL, runIn } from '../support/engine.ts';
import { tempDir } from '../support/temp.ts';

const test = suite('cm-container');
const REPO_ROOT = new URL('../../', import.meta.url).pathname;
const BASE_CONFIG = fixture('config.yaml');
const IMAGE = `bi-test-${RUN_ID}/cm-container`;
const ONAPSPEC = '/opt/manager/resources/onapspec';
const K8S_TYPES = '/k8splugin/1.4.3/k8splugin_types.yaml';
const CLOUDIFY_RULE = { 'http://www.getcloudify.org/spec': 'file:///opt/manager/resources/spec' };
const API_LOG = '/var/lib/pgsql/9.5/data/api-requests.log';

let server: http.Server;
let served = '';
/** Type files the loopback server has sent. */
let typeRequests = 0;
let projectDir = '';
let cacheDir = '';
/** The tag the build gave the image: <version>-<timestamp>. */
let built = '';

test.before(async () => {
  await requireEngine();
  await cloudifyStandIn();
  server = http.createServer((req, res) => {
    const url = req.url ?? '';
    typeRequests++;
    if (url.startsWith('/plugins/') || url.startsWith('/ccsdk/type_files/')) return void res.end(`tosca_definitions_version: cloudify_dsl_1_3\n# ${url}\n`);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  served = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The repository's config and assets, in a scratch copy so that the lock file it writes stays there.
  projectDir = await tempDir('bi-cm-');
  for (const entry of ['build.config.yaml', 'images', 'types-3.4']) await cp(path.join(REPO_ROOT, entry), path.join(projectDir, entry), { recursive: true });
  cacheDir = await tempDir('bi-cache-');
});
test.after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await cleanup();
});

const SETS = () => ['--set', `TYPE_REPO=${served}/plugins`, '--set', `CCSDK_REPO=${served}/ccsdk`, '--set', `CM_REPOSITORY=${IMAGE}`];

function build(...extra: string[]): Promise<CliResult> {
  return cli(['--json', ...SETS(), ...extra, 'cm-container'], { cwd: projectDir, env: { BUILD_IMAGES_CACHE: cacheDir } });
}

const inImage = async (cmd: string) => (await runIn(built, ['sh', '-c', cmd])).output.trim();

interface Started {
  container: Docker.Container;
  logs(): Promise<string>;
  exec(cmd: string): Promise<{ code: number; output: string }>;
}

/** Starts the image's own command (start-persistent.sh) in a container that is kept, for restarts and exec. */
async function start(options: { store?: string; secret?: string; check?: string; exit?: boolean; env?: string[] } = {}): Promise<Started> {
  const binds = [...(options.store ? [`${options.store}:/cfy-persist`] : []), ...(options.secret ? [`${options.secret}:/secret:ro`] : [])];
  const env = [...(options.check ? [`INIT_CHECK=${options.check}`] : []), ...(options.exit ? ['INIT_EXIT=1'] : []), ...(options.env ?? [])];
  const container = await docker.createContainer({
    Image: built,
    Env: env,
    Labels: { [RUN_LABEL]: RUN_ID },
    HostConfig: { NetworkMode: 'none', Binds: binds },
  });
  await container.start();
  return {
    container,
    logs: async () => demux((await container.logs({ stdout: true, stderr: true })) as unknown as Buffer),
    exec: async (cmd) => {
      const exec = await container.exec({ Cmd: ['sh', '-c', cmd], AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({});
      const chunks: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      const { ExitCode } = await exec.inspect();
      return { code: ExitCode ?? -1, output: demux(Buffer.concat(chunks)) };
    },
  };
}

/** The logs without the lines of the first-boot script, which runs in the background and interleaves. */
const withoutFirstBoot = (logs: string) =>
  logs
    .split('\n')
    .filter((l) => !/^(set-import-rules|cm-api):/.test(l))
    .join('\n');

/** Runs the image's command to the end of the stand-in init (INIT_EXIT), for the store's tests. */
async function runOnce(options: { store?: string; secret?: string; check?: string } = {}) {
  const started = await start({ ...options, exit: true });
  const { StatusCode } = (await started.container.wait()) as { StatusCode: number };
  return {
    code: StatusCode,
    logs: withoutFirstBoot(await started.logs()),
    again: async () => {
      await started.container.start();
      const { StatusCode: code } = (await started.container.wait()) as { StatusCode: number };
      return { code, logs: withoutFirstBoot(await started.logs()) };
    },
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, seconds = 40): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const ready = (c: Started) => until('readiness', async () => ((await c.exec('/scripts/readiness-check.sh')).code === 0 ? true : undefined));
const requests = async (c: Started) => (await c.exec(`cat ${API_LOG} 2>/dev/null`)).output.split('\n').filter(Boolean);
const posts = async (c: Started) => (await requests(c)).filter((l) => l.startsWith('POST '));
const restarts = async (c: Started) =>
  (await c.exec('cat /var/log/standin-systemctl.log 2>/dev/null')).output.split('\n').filter((l) => l === 'restart cloudify-restservice');
const contextRules = async (c: Started) =>
  JSON.parse((await c.exec('cat /var/lib/pgsql/9.5/data/provider-context.json')).output).context.cloudify.import_resolver.parameters.rules;
const ourRules = () => [{ [`${served}/plugins`]: `file://${ONAPSPEC}` }, { [`${served}/ccsdk`]: `file://${ONAPSPEC}` }];
const store = () => tempDir('bi-store-');

test('it builds from the repository’s config with no RUN, tagged <version>-<timestamp>, and leaves no container behind', async () => {
  const dryRun = await cli(['--dry-run', 'cm-container'], { cwd: projectDir });
  assert.is(dryRun.code, 0, dryRun.stderr);
  assert.not.match(dryRun.stdout, /\bRUN\b/);
  const containers = await containerCount();
  const result = await build();
  assert.is(result.code, 0, result.stderr + result.stdout);
  assert.is(finishOf(result, 'cm-container')!.status, 'built');
  assert.is(await containerCount(), containers, 'the containers that read the base image’s files are gone');
  const tags = summaryOf(result).images.find((i) => i.name === 'cm-container')!.tags;
  assert.is(tags.length, 1);
  assert.match(tags[0]!, new RegExp(`^${IMAGE}:1\\.5\\.0-\\d{8}T\\d{6}Z$`));
  built = tags[0]!;
  const info = await docker.getImage(built).inspect();
  assert.is(info.Config.Labels['org.opencontainers.image.version'], '1.5.0');
  const lock = JSON.parse(await readFile(path.join(projectDir, 'build-images.lock.json'), 'utf8'));
  assert.is(Object.keys(lock.fetched).length, 9, 'the nine type files are pinned');
});

test('every type file of the list, imported by its URL, resolves through the image’s rules to a file of the image owned by cfyuser', async () => {
  const config = parse(await readFile(path.join(projectDir, 'build.config.yaml'), 'utf8'));
  const steps = config.images['cm-container'].steps as Record<string, unknown>[];
  const vars: Record<string, string> = { TYPE_REPO: `${served}/plugins`, CCSDK_REPO: `${served}/ccsdk`, ONAPSPEC };
  const expand = (s: string) => s.replace(/\$\{(\w+)\}/g, (_, name: string) => vars[name] ?? `\${${name}}`);
  const { typeFiles } = cmDeclaration(steps.map((s) => JSON.parse(expand(JSON.stringify(s)))));
  assert.is(typeFiles.length, 9);
  const rules = parse(await inImage('cat /etc/cloudify/config.yaml')).provider_context.import_resolver.parameters.rules;
  const files: string[] = [];
  for (const { url, to } of typeFiles) {
    const resolved = resolveImport(url, rules);
    assert.ok(resolved?.startsWith('file://'), `${url} resolves to a local file (${resolved})`);
    assert.is(resolved, `file://${to}`);
    files.push(resolved!.slice('file://'.length));
  }
  const listing = await inImage(files.map((f) => `stat -c %U ${f}`).join('; '));
  assert.equal(
    listing.split('\n'),
    files.map(() => 'cfyuser'),
  );
  const types34 = await inImage(
    'stat -c %U /opt/manager/resources/spec/cloudify/3.4/types.yaml && head -c 2000 /opt/manager/resources/spec/cloudify/3.4/types.yaml',
  );
  assert.match(types34, /^cfyuser\n/);
  assert.match(types34, /tosca_definitions_version: cloudify_dsl_1_3/);
});

test('config.yaml gets one rule per repository first, every other byte kept, owner and mode kept', async () => {
  const text = await inImage('cat /etc/cloudify/config.yaml; echo; stat -c "%u:%g %a" /etc/cloudify/config.yaml');
  const [file, meta] = [text.slice(0, text.lastIndexOf('\n')), text.slice(text.lastIndexOf('\n') + 1)];
  assert.is(meta, '1001:1001 640');
  const rules = parse(file).provider_context.import_resolver.parameters.rules;
  assert.equal(rules, [...ourRules(), CLOUDIFY_RULE]);
  const added = file.split('\n').filter((line) => !BASE_CONFIG.split('\n').includes(line));
  assert.equal(added, [`      - {'${served}/plugins': 'file://${ONAPSPEC}'}`, `      - {'${served}/ccsdk': 'file://${ONAPSPEC}'}`]);
  assert.is(
    file
      .split('\n')
      .filter((l) => !added.includes(l))
      .join('\n')
      .trimEnd(),
    BASE_CONFIG.trimEnd(),
  );
});

test('rc.local runs setup-secret.sh, then set-import-rules.sh in the background, once, and is executable; scripts, CMD and /opt/onap are in place', async () => {
  const rc = await inImage('cat /etc/rc.d/rc.local; stat -c %a /etc/rc.d/rc.local');
  assert.is(
    rc,
    '#!/bin/bash\n# CentOS 7: runs once at the end of start-up, when executable\ntouch /var/lock/subsys/local\n/scripts/setup-secret.sh; /scripts/set-import-rules.sh &\n755',
  );
  assert.is(
    await inImage('stat -c "%a %n" /scripts/*'),
    [
      '644 /scripts/cm-api.py',
      '644 /scripts/cm-python.sh',
      '755 /scripts/dcae-cleanup.sh',
      '755 /scripts/readiness-check.sh',
      '755 /scripts/set-import-rules.sh',
      '755 /scripts/setup-secret.sh',
      '755 /scripts/start-persistent.sh',
    ].join('\n'),
  );
  assert.is(await inImage('stat -c "%U %F" /opt/onap'), 'cfyuser directory');
  const info = await docker.getImage(built).inspect();
  assert.equal(info.Config.Cmd, ['/scripts/start-persistent.sh']);
  const history = JSON.stringify(await docker.getImage(built).history());
  assert.not.match(history, /admin_password|YWRtaW46YWRtaW4=/, 'no secret in the image’s history');
});

test('first boot: readiness fails, then the rules go first into the provider context once, the REST service restarts, readiness passes', async () => {
  const c = await start({ store: await store() });
  const early = await c.exec('/scripts/readiness-check.sh');
  assert.is.not(early.code, 0, 'not ready before the rules are in force');
  await ready(c);
  assert.equal(await contextRules(c), [...ourRules(), CLOUDIFY_RULE]);
  assert.is((await posts(c)).length, 1);
  const post = JSON.parse((await posts(c))[0]!.replace(/^POST \S+ /, ''));
  assert.equal(Object.keys(post).sort(), ['context', 'name']);
  assert.is(post.name, 'provider');
  assert.is(post.context.cloudify.import_resolver.parameters.fallback, true, 'the rest of the context is kept');
  assert.is((await restarts(c)).length, 1);
  const logs = await c.logs();
  assert.match(logs, /waiting for the manager/);
  assert.match(logs, /provider context updated: 3 rules, 2 added first/);
  assert.match(logs, /restarted cloudify-restservice[\s\S]*set-import-rules: done/);
  assert.is(logs.match(/set-import-rules: done/g)?.length, 1, 'each line once in docker logs');
  assert.not.match(logs, /YWRtaW46YWRtaW4=|admin:admin|admin_password/, 'the password is not logged');
});

test('a restart, and a new container on the same store, find the rules in force and add nothing', async () => {
  const dir = await store();
  const first = await start({ store: dir });
  await ready(first);
  await first.container.restart({ t: 5 });
  await until('the second boot’s check', async () => (/already in force/.test(await first.logs()) ? true : undefined));
  await ready(first);
  assert.is((await posts(first)).length, 1, 'one POST in all');
  assert.is((await restarts(first)).length, 1, 'the REST service was not restarted again');
  await first.container.stop({ t: 5 });
  const second = await start({ store: dir });
  await until('the new container’s check', async () => (/already in force/.test(await second.logs()) ? true : undefined));
  await ready(second);
  assert.equal(await contextRules(second), [...ourRules(), CLOUDIFY_RULE]);
  assert.is((await posts(second)).length, 1);
  assert.is((await restarts(second)).length, 0);
  assert.match(await second.logs(), /using the populated store/);
});

test('a manager that refuses the password: the failure is in the logs, the container keeps running, readiness keeps failing', async () => {
  const c = await start({ env: ['STANDIN_PASSWORD=not-the-config-one'] });
  await until('the failure', async () => (/set-import-rules: FAILED/.test(await c.logs()) ? true : undefined));
  assert.match(await c.logs(), /apply-rules failed: HTTP 401/);
  assert.is((await c.container.inspect()).State.Running, true);
  assert.is.not((await c.exec('/scripts/readiness-check.sh')).code, 0);
});

test('with no store it says so and starts init as Cloudify does', async () => {
  const { code, logs } = await runOnce();
  assert.is(code, 0, logs);
  assert.match(logs, /no persistent store at \/cfy-persist/);
  assert.match(logs, /init: started with --log-target=journal/);
});

test('an empty store (lost+found aside) is populated, owners, modes and links kept, then marked; the directories are linked', async () => {
  const dir = await store();
  await mkdir(path.join(dir, 'lost+found'));
  const { code, logs } = await runOnce({ store: dir, check: 'readlink /var/lib/pgsql/9.5/data; cat /var/lib/pgsql/9.5/data/PG_VERSION' });
  assert.is(code, 0, logs);
  assert.match(logs, /populating \/cfy-persist/);
  assert.match(logs, /\/cfy-persist\/var\/lib\/pgsql\/9.5\/data\n9.5/, logs);
  const pgVersion = await lstat(path.join(dir, 'var/lib/pgsql/9.5/data/PG_VERSION'));
  assert.is(pgVersion.uid, 26);
  assert.is(pgVersion.mode & 0o7777, 0o600);
  assert.is(await readlink(path.join(dir, 'opt/manager/resources/latest-spec')), 'spec/cloudify/4.3');
  assert.ok(await lstat(path.join(dir, '.populated')));
  assert.is(await lstat(path.join(dir, '.copy-in-progress')).catch(() => undefined), undefined);
  assert.ok(await lstat(path.join(dir, `opt/manager/resources/onapspec${K8S_TYPES}`)));
});

test('a restart of the same container, and a new container on the same store, keep the state', async () => {
  const dir = await store();
  const first = await runOnce({ store: dir, check: 'echo "{}" > /opt/mgmtworker/work/deployments/dep-1.json' });
  assert.is(first.code, 0, first.logs);
  const restarted = await first.again();
  assert.is(restarted.code, 0, restarted.logs);
  assert.match(restarted.logs, /using the populated store/);
  const second = await runOnce({ store: dir, check: 'cat /opt/mgmtworker/work/deployments/dep-1.json' });
  assert.is(second.code, 0, second.logs);
  assert.match(second.logs, /using the populated store[\s\S]*\{\}/);
  assert.not.match(second.logs, /populating/);
});

test('a store populated by ONAP’s own image (directories copied, no marker) keeps its data', async () => {
  const dir = await store();
  const put = async (file: string, content: string) => {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), content);
  };
  await put('var/lib/pgsql/9.5/data/PG_VERSION', '9.5\n');
  await put('var/lib/pgsql/9.5/data/provider-context.json', fixture('provider-context.json'));
  await put('var/lib/pgsql/9.5/data/onap-database', 'blueprints and deployments\n');
  await put('opt/manager/resources/blueprints/default_tenant/k8s-dashboard/blueprint.yaml', 'onap\n');
  await put('opt/mgmtworker/env/plugins/default_tenant/k8splugin/installed', 'yes\n');
  await put('opt/mgmtworker/work/deployments/default_tenant/dashboard/state', 'started\n');
  const { code, logs } = await runOnce({
    store: dir,
    check: 'cat /var/lib/pgsql/9.5/data/onap-database /opt/manager/resources/blueprints/default_tenant/k8s-dashboard/blueprint.yaml',
  });
  assert.is(code, 0, logs);
  assert.match(logs, /using the populated store/);
  assert.not.match(logs, /populating/);
  assert.match(logs, /blueprints and deployments\nonap\n/);
  assert.is(await readFile(path.join(dir, 'opt/mgmtworker/work/deployments/default_tenant/dashboard/state'), 'utf8'), 'started\n');
  assert.is(await lstat(path.join(dir, 'var/lib/pgsql/9.5/data/base')).catch(() => undefined), undefined, 'no file of the image’s database in it');
});

test('a store missing one state directory gets the image’s, and nothing it has is replaced', async () => {
  const dir = await store();
  await mkdir(path.join(dir, 'var/lib/pgsql/9.5/data'), { recursive: true });
  await writeFile(path.join(dir, 'var/lib/pgsql/9.5/data/PG_VERSION'), 'kept\n');
  const { code, logs } = await runOnce({ store: dir });
  assert.is(code, 0, logs);
  assert.match(logs, /the store has no \/opt\/mgmtworker\/env\/plugins: copying the image's/);
  assert.is(await readFile(path.join(dir, 'var/lib/pgsql/9.5/data/PG_VERSION'), 'utf8'), 'kept\n');
  assert.ok(await lstat(path.join(dir, 'opt/mgmtworker/env/plugins/installed.txt')));
});

test('a first copy that died half-way (our mark still there) is redone', async () => {
  const dir = await store();
  await writeFile(path.join(dir, '.copy-in-progress'), '');
  await mkdir(path.join(dir, 'var/lib/pgsql/9.5/data'), { recursive: true });
  await mkdir(path.join(dir, 'opt/manager/resources'), { recursive: true });
  await writeFile(path.join(dir, 'opt/manager/resources/half-copied'), '');
  const { code, logs } = await runOnce({ store: dir });
  assert.is(code, 0, logs);
  assert.match(logs, /did not finish: populating it again/);
  assert.ok(await lstat(path.join(dir, 'var/lib/pgsql/9.5/data/PG_VERSION')));
  assert.is(await lstat(path.join(dir, 'opt/manager/resources/half-copied')).catch(() => undefined), undefined);
  assert.is(await lstat(path.join(dir, '.copy-in-progress')).catch(() => undefined), undefined);
  assert.ok(await lstat(path.join(dir, '.populated')));
});

test('a store holding something else is left alone, and the container says why it stops', async () => {
  const dir = await store();
  await writeFile(path.join(dir, 'notes.txt'), 'not a manager\n');
  const { code, logs } = await runOnce({ store: dir });
  assert.is(code, 1, logs);
  assert.match(logs, /holds files but none of Cloudify Manager's state directories/);
  assert.is(await lstat(path.join(dir, 'var')).catch(() => undefined), undefined);
});

test('on upgrade a new container copies the image’s type files over the store’s and keeps those the image lacks', async () => {
  const dir = await store();
  assert.is((await runOnce({ store: dir })).code, 0);
  const inStore = (f: string) => path.join(dir, `opt/manager/resources/onapspec${f}`);
  await writeFile(inStore(K8S_TYPES), 'an older image’s k8splugin 1.4.3\n');
  await mkdir(path.dirname(inStore('/k8splugin/1.4.2/k8splugin_types.yaml')), { recursive: true });
  await writeFile(inStore('/k8splugin/1.4.2/k8splugin_types.yaml'), 'only the store has 1.4.2\n');
  const upgraded = await runOnce({ store: dir, check: `cat ${ONAPSPEC}${K8S_TYPES} ${ONAPSPEC}/k8splugin/1.4.2/k8splugin_types.yaml` });
  assert.is(upgraded.code, 0, upgraded.logs);
  assert.match(upgraded.logs, new RegExp(`# /plugins${K8S_TYPES}\nonly the store has 1.4.2`));
});

test('with /secret mounted, rc.local links the service account to it; a second run changes nothing', async () => {
  const secret = await tempDir('bi-secret-');
  await writeFile(path.join(secret, 'token'), 'kube-token');
  const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
  const { code, logs } = await runOnce({ secret, check: `readlink ${sa}; echo "$(cat ${sa}/token)"; /scripts/setup-secret.sh; echo again=$?; readlink ${sa}` });
  assert.is(code, 0, logs);
  assert.match(logs, /linked \/var\/run\/secrets\/kubernetes.io\/serviceaccount to \/secret/);
  assert.match(logs, /\/secret\nkube-token\nagain=0\n\/secret/, logs);
});

test('dcae-cleanup stops the DCAE components of each deployment, goes on past a failing one and reports it', async () => {
  const c = await start({ env: ['STANDIN_DEPLOYMENTS=dep-a,dep-b,dep-c', 'STANDIN_CFY_FAIL=dep-b'] });
  await ready(c);
  const cleanupRun = await c.exec('/scripts/dcae-cleanup.sh');
  assert.is(cleanupRun.code, 1, cleanupRun.output);
  assert.match(
    cleanupRun.output,
    /dcae-cleanup: dep-a: stopped\n[\s\S]*dcae-cleanup: dep-b: FAILED \(cfy exited with 1\)\n[\s\S]*dcae-cleanup: dep-c: stopped\ndcae-cleanup: 3 deployments, 1 failed/,
  );
  const calls = (await c.exec('cat /var/log/standin-cfy.log')).output.trim().split('\n');
  assert.equal(
    calls,
    ['dep-a', 'dep-b', 'dep-c'].map(
      (id) =>
        `executions|start|-d|${id}|-p|type_names=[dcae.nodes.ContainerizedServiceComponent]|-p|operation=cloudify.interfaces.lifecycle.stop|execute_operation`,
    ),
  );
  assert.ok((await requests(c)).includes('GET /api/v3.1/deployments?_include=id '), 'the deployments were listed through the API');
});

/** `cm-container deploy` to the registry, from `cwd` with that fetch cache. */
async function deployTo(registry: Registry, cwd: string, cache: string): Promise<CliResult> {
  // CM_REGISTRY's credentials come from config.json, as `docker login` leaves them: DOCKER_HUB_USER is Docker Hub's.
  const dockerConfig = await tempDir('bi-cm-docker-config-');
  await writeFile(
    path.join(dockerConfig, 'config.json'),
    JSON.stringify({ auths: { [registry.address]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }),
  );
  return cli(['--json', ...SETS(), '--set', `CM_REGISTRY=${registry.address}`, 'cm-container', 'deploy'], {
    cwd,
    env: { BUILD_IMAGES_CACHE: cache, DOCKER_CONFIG: dockerConfig },
  });
}

test('deploy pushes ONAP’s tags to CM_REGISTRY: <version>-SNAPSHOT-<timestamp>, <version> and latest', async () => {
  const registry = await startRegistry();
  try {
    const result = await deployTo(registry, projectDir, cacheDir);
    assert.is(result.code, 0, result.stderr + result.stdout);
    const tags = await registry.tags(IMAGE);
    assert.is(tags.length, 3, tags.join(' '));
    assert.equal(tags.filter((t) => !/^1\.5\.0-SNAPSHOT-\d{8}T\d{6}Z$/.test(t)).sort(), ['1.5.0', 'latest']);
  } finally {
    await registry.stop();
  }
});

test('a one-line change of a file of types-3.4/ is named as the reason of the rebuild under a new timestamped tag, in --json and on the terminal', async () => {
  const types = path.join(projectDir, 'types-3.4', 'types.yaml');
  const original = await readFile(types, 'utf8');
  const changed = (note: string) => writeFile(types, original.replace('default: linux', `default: linux # ${note}`));
  // The tag's timestamp has seconds: the next second gives a tag that names no image yet.
  const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1100));
  try {
    await changed('one line changed');
    await nextSecond();
    const json = await build();
    assert.is(json.code, 0, json.stderr + json.stdout);
    assert.equal(finishOf(json, 'cm-container'), { ...finishOf(json, 'cm-container'), status: 'built', reason: 'inputs changed (types-3.4/types.yaml)' });
    assert.is.not(summaryOf(json).images.find((i) => i.name === 'cm-container')!.tags[0], built, 'a tag of its own');

    await changed('and again');
    await nextSecond();
    const shown = await cli([...SETS(), 'cm-container'], { cwd: projectDir, env: { BUILD_IMAGES_CACHE: cacheDir } });
    assert.is(shown.code, 0, shown.stderr + shown.stdout);
    assert.match(shown.stdout + shown.stderr, /built [0-9a-f]{12}.* \(inputs changed \(types-3\.4\/types\.yaml\)\): /);
  } finally {
    await writeFile(types, original);
  }
});

test('a release job sets the version', async () => {
  const result = await cli(['--dry-run', ...SETS(), '--set', 'CM_VERSION=1.5.3', 'cm-container'], { cwd: projectDir });
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, new RegExp(`tags: +${IMAGE}:1\\.5\\.3-\\d{8}T\\d{6}Z`));
  assert.match(result.stdout, /"org.opencontainers.image.version"="1.5.3"/);
});

test('the next CI job (a fresh clone with the committed lock, an empty fetch cache, no image on the engine) finds cm-container up to date in the registry without fetching one type file', async () => {
  const registry = await startRegistry();
  try {
    const result = await deployTo(registry, projectDir, cacheDir);
    assert.is(result.code, 0, result.stderr + result.stdout);

    // The next job: the lock the first one wrote is committed; the fetch cache and the engine have nothing.
    const clone = await tempDir('bi-cm-clone-');
    for (const entry of ['build.config.yaml', 'images', 'types-3.4', 'build-images.lock.json'])
      await cp(path.join(projectDir, entry), path.join(clone, entry), { recursive: true });
    for (const image of await docker.listImages({ filters: JSON.stringify({ reference: [`${IMAGE}`, `${registry.address}/${IMAGE}`] }) })) {
      // The earlier tests' containers of it go first: an image a container runs cannot be removed.
      for (const c of await docker.listContainers({ all: true, filters: JSON.stringify({ ancestor: [image.Id] }) }))
        await docker.getContainer(c.Id).remove({ force: true });
      await docker.getImage(image.Id).remove({ force: true });
    }
    const fetchedBefore = typeRequests;
    const fresh = await deployTo(registry, clone, await tempDir('bi-cache-fresh-'));
    assert.is(fresh.code, 0, fresh.stderr + fresh.stdout);
    assert.match(String(finishOf(fresh, 'cm-container')?.['reason']), /^up to date in 127\.0\.0\.1:\d+/);
    assert.is(typeRequests - fetchedBefore, 0, 'no type file fetched');
  } finally {
    await registry.stop();
  }
});

test.run();
