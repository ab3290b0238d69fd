// A standalone buildkitd as a builder (issue 23, item 4), as buildx's remote driver with --load uses one: the
// image is built there from a base it pulls from the registry (pinned by the digest the run's inputs were
// made of) and comes back through the session as a docker tarball, loaded into the local engine, where it is
// tagged and found up to date the next time. No buildkitd can be had here, so its endpoints are stood in
// for by a fresh sid engine's own BuildKit offered bare on a unix socket and on a mutual-TLS port
// (test/support/buildkitd-stand-in.ts); that engine's image store starts empty and is checked to stay so.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { cli, finishOf, project, type CliResult } from '../support/cli.ts';
import { cleanup, docker, ensureStandIns, requireEngine, rootfs, runIn, RUN_ID, STAND_IN_LABEL, TEST_SOCKET, testTag } from '../support/engine.ts';
import { engineRoot } from '../support/engine-root.ts';
import { startPrivateEngine, type PrivateEngine } from '../support/private-engine.ts';
import { PASSWORD, startRegistry, USER, type Registry } from '../support/registry.ts';
import { makeCerts } from '../support/tls-certs.ts';
import { startBuildkitdStandIn, type BuildkitdStandIn } from '../support/buildkitd-stand-in.ts';

const test = suite('a buildkitd builder');
let registry: Registry | undefined;
let daemon: PrivateEngine | undefined;
let kit: BuildkitdStandIn | undefined;
let certs = '';
const ENV = { REG_USER: USER, REG_PASSWORD: PASSWORD };
const repo = (name: string) => `bi-${RUN_ID}/${name}`;

test.before(async () => {
  await requireEngine();
  if (!TEST_SOCKET) throw new Error('this test needs the test engine on a unix socket');
  registry = await startRegistry();
  certs = await makeCerts();
  const { root } = await engineRoot('sid');
  daemon = await startPrivateEngine({ root, args: ['--feature', 'containerd-snapshotter=true'] });
  kit = await startBuildkitdStandIn(daemon.host.slice('unix://'.length), certs);
  // The base, as a public one is: in the registry, pushed from the local engine (which keeps it, with its digest).
  const base = `${registry.address}/${repo('base')}`;
  const imported = await docker.importImage((await rootfs()) as never, { repo: base, tag: '1', changes: [`LABEL ${STAND_IN_LABEL}=true`] } as never);
  assert.not.match((await buffer(imported as unknown as NodeJS.ReadableStream)).toString(), /"error"/);
  const pushed = await docker.getImage(`${base}:1`).push({ authconfig: { username: USER, password: PASSWORD, serveraddress: registry.address } });
  assert.not.match((await buffer(pushed as unknown as NodeJS.ReadableStream)).toString(), /"error"/);
});

test.after(async () => {
  try {
    await kit?.stop();
    await daemon?.stop();
    await cleanup();
  } finally {
    await registry?.stop();
  }
});

const builder = (endpoint: string, tls = '') => `  - { name: kit, kind: buildkitd, endpoint: '${endpoint}'${tls} }\n`;
const tlsFiles = (dir: string) => {
  const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
  return { 'certs/ca.pem': read('ca.pem'), 'certs/client.pem': read('client.pem'), 'certs/client-key.pem': read('client-key.pem') };
};
const TLS = ', tls: { ca: certs/ca.pem, cert: certs/client.pem, key: certs/client-key.pem }';

function config(builders: string, images: string): string {
  return `credentials:
  - { registry: '${registry!.address}', usernameVariable: REG_USER, passwordVariable: REG_PASSWORD }
builders:
${builders}images:
${images}`;
}

const toolImage = (name: string, base = `${registry!.address}/${repo('base')}:1`) => `  ${name}:
    base: ${base}
    tags: ['${testTag(`kit-${name}`)}']
    steps:
      - copy: { from: hello.txt, to: /hello.txt }
      - run: 'cat /hello.txt > /made && echo built there >> /made'
`;

const run = (dir: string, args: string[] = []): Promise<CliResult> => cli(['--json', ...args], { cwd: dir, env: ENV });

/** What the daemon behind the buildkitd holds: nothing of ours, since what it built went home. */
async function daemonImages(): Promise<string[]> {
  const images = await new Docker({ socketPath: daemon!.host.slice('unix://'.length) }).listImages();
  return images.flatMap((i) => i.RepoTags ?? []).filter((t) => t.includes('kit-'));
}

test('built on the buildkitd (unix socket), loaded into the local engine under its tags, up to date there next time', async () => {
  const dir = await project({ 'build.config.yaml': config(builder(kit!.unix), toolImage('tool')), 'hello.txt': 'hello\n' });
  const before = kit!.connections();
  const first = await run(dir);
  assert.is(first.code, 0, first.stderr + first.stdout);
  const done = finishOf(first, 'tool') as { status: string; builder?: string };
  assert.is(done.status, 'built');
  assert.is(done.builder, 'kit');
  assert.ok(kit!.connections() > before, 'the build went through the buildkitd endpoint');
  const made = await runIn(testTag('kit-tool'), ['cat', '/made']);
  assert.is(made.output.trim(), 'hello\nbuilt there', 'the local engine has the image the buildkitd built');
  assert.equal(await daemonImages(), [], 'the buildkitd keeps no image of it');
  // Its base is the one the inputs were made of: the label names the registry's digest of it.
  const labels = (await docker.getImage(testTag('kit-tool')).inspect()).Config.Labels ?? {};
  assert.is(labels['org.opencontainers.image.base.digest'], await registry!.digest(repo('base'), '1'));
  assert.not.ok((first.stdout + first.stderr).includes(PASSWORD), 'the registry password went through the session only');

  const again = await run(dir);
  assert.is(again.code, 0, again.stderr);
  assert.is((finishOf(again, 'tool') as { status: string }).status, 'skipped', 'up to date in the local engine');
});

test('over tcp:// with mutual TLS; a client certificate of another CA stops the run before anything is built, naming the builder', async () => {
  const endpoint = `tcp://127.0.0.1:${kit!.port}`;
  const good = await project({ 'build.config.yaml': config(builder(endpoint, TLS), toolImage('tls')), 'hello.txt': 'over tls\n', ...tlsFiles(certs) });
  const built = await run(good);
  assert.is(built.code, 0, built.stderr + built.stdout);
  assert.is((finishOf(built, 'tls') as { builder?: string }).builder, 'kit');
  assert.is((await runIn(testTag('kit-tls'), ['cat', '/made'])).output.trim(), 'over tls\nbuilt there');

  // The server is the one trusted; the client's certificate is signed by a CA the buildkitd does not know.
  const stranger = tlsFiles(await makeCerts());
  const bad = await project({
    'build.config.yaml': config(builder(endpoint, TLS), toolImage('refused')),
    'hello.txt': 'x\n',
    ...tlsFiles(certs),
    'certs/client.pem': stranger['certs/client.pem'],
    'certs/client-key.pem': stranger['certs/client-key.pem'],
  });
  const refused = await run(bad);
  assert.is(refused.code, 1, refused.stderr + refused.stdout);
  assert.match(refused.stderr, /asking the buildkitd at tcp:\/\/127\.0\.0\.1:\d+ \(builder kit\)/);
  assert.not.ok(
    refused.events.some((e) => e['type'] === 'start'),
    'nothing was started',
  );
  assert.not.match(refused.stderr, /\n\s+at /, 'no stack trace');
});

test('its cache goes to a registry from its own content store, whatever store the local engine keeps', async () => {
  const dir = await project({ 'build.config.yaml': config(builder(kit!.unix), toolImage('cached')), 'hello.txt': 'cache me\n' });
  const cacheRef = `${registry!.address}/${repo('kit-cache')}:c`;
  const result = await run(dir, ['--cache-to', `type=registry,ref=${cacheRef},mode=max`]);
  assert.is(result.code, 0, result.stderr + result.stdout);
  assert.is((finishOf(result, 'cached') as { status: string }).status, 'built');
  assert.equal(await registry!.allTags(repo('kit-cache')), ['c']);
  const manifestPath = `/v2/${repo('kit-cache')}/manifests/c`;
  const manifest = await fetch(`http://${registry!.address}${manifestPath}`, {
    headers: {
      authorization: registry!.authorization(manifestPath),
      accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json',
    },
  });
  assert.match(await manifest.text(), /application\/vnd\.buildkit\.cacheconfig\.v0/, 'a cache manifest, not an image');
});

test('a base only the local engine has is refused, naming it; an image on a buildkitd image is built by the local engine', async () => {
  await ensureStandIns(['alpine:latest']);
  const local = await project({ 'build.config.yaml': config(builder(kit!.unix), toolImage('local', 'alpine:latest')), 'hello.txt': 'x\n' });
  const refused = await run(local);
  assert.is(refused.code, 1);
  // A graphdriver engine knows no digest for an image it never pulled: refused before the build. The
  // containerd store names one for every image; the buildkitd then finds no such image and says so.
  assert.match(
    String(finishOf(refused, 'local')!['error']),
    /the base alpine:latest is in the local engine only \(no registry digest\): a buildkitd builds on bases it pulls from a registry|on builder kit: \[context alpine\] load metadata for alpine@sha256:[0-9a-f]{64}/,
  );

  const chain = `${toolImage('first')}  second: { base: { image: first }, tags: ['${testTag('kit-second')}'], steps: [{ env: { SECOND: 'yes' } }] }\n`;
  const alone = await run(await project({ 'build.config.yaml': config(builder(kit!.unix), chain), 'hello.txt': 'chain\n' }));
  assert.is(alone.code, 1);
  assert.match(
    String(finishOf(alone, 'second')!['error']),
    /its base was built by buildkitd kit and is in the local engine, which a buildkitd cannot build on/,
  );

  // kit first: an image with no earlier build goes to the first of equally free builders.
  const withLocal = `${builder(kit!.unix)}  - { name: here, endpoint: 'unix://${TEST_SOCKET}' }\n`;
  const both = await run(await project({ 'build.config.yaml': config(withLocal, chain), 'hello.txt': 'chain\n' }));
  assert.is(both.code, 0, both.stderr + both.stdout);
  assert.is((finishOf(both, 'first') as { builder?: string }).builder, 'kit');
  assert.is((finishOf(both, 'second') as { builder?: string }).builder, 'here', 'built where first was loaded');
  assert.is((await runIn(testTag('kit-second'), ['sh', '-c', 'echo $SECOND; cat /made'])).output.trim(), 'yes\nchain\nbuilt there');
});

test('the buildkitd gone mid-build costs only its image: named with it; with --keep-going the other finishes on the local engine', async () => {
  const slow = (name: string) => `  ${name}:
    base: ${registry!.address}/${repo('base')}:1
    tags: ['${testTag(`kit-${name}`)}']
    steps: [{ run: 'sleep 4 && echo ${name} > /made' }]
`;
  const builders = `${builder(kit!.unix)}  - { name: here, endpoint: 'unix://${TEST_SOCKET}' }\n`;
  const dir = await project({ 'build.config.yaml': config(builders, slow('far') + slow('near')) });
  let stopped = false;
  const result = await cli(['--json', '--keep-going', '--concurrency', '1'], {
    cwd: dir,
    env: ENV,
    onLine: (line) => {
      const event = JSON.parse(line) as { type: string; builder?: string };
      if (stopped || event.type !== 'start' || event.builder !== 'kit') return;
      stopped = true;
      // Once its RUN is under way, the endpoint goes, as a buildkitd whose pod is deleted does.
      setTimeout(() => void kit!.stop(), 1500);
    },
  });
  assert.is(result.code, 1, result.stderr + result.stdout);
  // One of each builder: which one goes first is the order their placements were decided in.
  const finished = ['far', 'near'].map((name) => finishOf(result, name) as { status: string; builder?: string; error?: string });
  const onKit = finished.find((f) => f.builder === 'kit');
  const onHere = finished.find((f) => f.builder === 'here');
  assert.ok(onKit && onHere, JSON.stringify(finished));
  assert.is(onKit.status, 'failed');
  assert.match(onKit.error ?? '', /builder kit is gone/);
  assert.is(onHere.status, 'built');
});

test.run();
