// Cache export to a registry and import from it (issue 23, item 2), on real engines and Debian's registry
// with basic auth. Where the engine under test keeps its images in the containerd store (sid-containerd):
// two fresh engines of that kind of this test's own; A builds an image with a slow RUN step and exports
// mode=max cache to REG/…/cache:x, B (empty) builds the same config with --cache-from that ref and reports
// the RUN step cached, while the registry never held the image's own tags (so it is the exported cache, not
// inline metadata). Where the engine under test is a graphdriver one (20.10, trixie's overlay2), the export
// is refused before anything is built, from the command line and from the config alike. The same for a cache
// directory (type=local): A exports into it through the session's content store, it is an OCI image layout
// whose index.json tags the cache manifest `latest`, B imports it; a failed export leaves the index as it was.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import Docker from 'dockerode';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { cli, finishOf, project, type CliResult } from '../support/cli.ts';
import { cleanup, docker, requireEngine, rootfs, RUN_ID, STAND_IN_LABEL, TEST_HOST } from '../support/engine.ts';
import { engineRoot } from '../support/engine-root.ts';
import { startPrivateEngine, type PrivateEngine } from '../support/private-engine.ts';
import { PASSWORD, startRegistry, USER, type Registry } from '../support/registry.ts';

const test = suite('cache export to a registry and to a directory');
let registry: Registry | undefined;
let containerdStore = false;
const engines: PrivateEngine[] = [];

const ENV = { REG_USER: USER, REG_PASSWORD: PASSWORD };
const repo = (name: string) => `bi-${RUN_ID}/${name}`;
const config = (reg: string, cacheTo = '') => `
credentials:
  - { registry: '${reg}', usernameVariable: REG_USER, passwordVariable: REG_PASSWORD }
images:
  slow:
    base: ${reg}/${repo('base')}:1
    tags: ['${reg}/${repo('slow')}:1']
    steps:
      - run: 'sleep 3 && echo made > /made'
      - env: { DONE: 'yes' }
${cacheTo}`;

const isContainerdStore = async (engine: Docker) =>
  ((((await engine.info()) as { DriverStatus?: [string, string][] | null }).DriverStatus ?? []).flat() as string[]).some((s) =>
    s.startsWith('io.containerd.snapshotter'),
  );
const steps = (result: CliResult) =>
  result.events.filter((e) => e['type'] === 'step').map((e) => e['step'] as { name: string; cached: boolean; started?: number; completed?: number });
/** The RUN step's events. BuildKit reports a step from an imported cache cached, then again as it pulls its layer (not cached, milliseconds). */
const runEvents = (result: CliResult) => steps(result).filter((s) => s.name.includes('sleep 3'));
/** The longest the RUN step ran, in ms: the `sleep 3` takes 3000 where it really ran. */
const ranFor = (result: CliResult) => Math.max(0, ...runEvents(result).map((s) => (s.completed && s.started ? s.completed - s.started : 0)));

test.before(async () => {
  await requireEngine();
  containerdStore = await isContainerdStore(docker);
  registry = await startRegistry();
});

test.after(async () => {
  try {
    for (const engine of engines) await engine.stop();
    await cleanup();
  } finally {
    await registry?.stop();
  }
});

/** A fresh engine of the sid-containerd kind, its socket, and the registry's base pushed from it once. */
async function containerdEngine(): Promise<{ host: string; api: Docker }> {
  const { root } = await engineRoot('sid');
  const engine = await startPrivateEngine({ root, args: ['--feature', 'containerd-snapshotter=true'] });
  engines.push(engine);
  const api = new Docker({ socketPath: engine.host.slice('unix://'.length) });
  assert.ok(await isContainerdStore(api), 'the private engine keeps its images in the containerd store');
  return { host: engine.host, api };
}

/** The stand-in base, imported on `engine` and pushed to the registry as REG/…/base:1. */
async function pushBase(engine: Docker): Promise<void> {
  const reg = registry!.address;
  const imported = await engine.importImage(
    (await rootfs()) as never,
    { repo: `${reg}/${repo('base')}`, tag: '1', changes: [`LABEL ${STAND_IN_LABEL}=true`] } as never,
  );
  assert.not.match((await buffer(imported as unknown as NodeJS.ReadableStream)).toString(), /"error"/);
  const pushed = await engine.getImage(`${reg}/${repo('base')}:1`).push({ authconfig: { username: USER, password: PASSWORD, serveraddress: reg } });
  assert.not.match((await buffer(pushed as unknown as NodeJS.ReadableStream)).toString(), /"error"/);
}

test('containerd store: engine A exports mode=max cache to the registry; an empty engine B imports it and its RUN step is cached', async () => {
  if (!containerdStore) return; // the graphdriver engines check the refusal below instead
  const reg = registry!.address;
  const a = await containerdEngine();
  const b = await containerdEngine();
  // The base in the registry, pushed from A: both engines resolve the same manifest, B pulls it itself.
  await pushBase(a.api);

  const cacheRef = `${reg}/${repo('cache')}:x`;
  const dir = await project({ 'build.config.yaml': config(reg) });
  const onA = await cli(['--json', '--cache-to', `type=registry,ref=${cacheRef},mode=max`], { cwd: dir, env: { ...ENV, DOCKER_HOST: a.host } });
  assert.is(onA.code, 0, onA.stderr + onA.stdout);
  assert.is(finishOf(onA, 'slow')!.status, 'built');
  assert.not.ok(
    runEvents(onA).some((s) => s.cached),
    'A ran the step',
  );
  assert.ok(ranFor(onA) >= 3000, `A ran the step for ${ranFor(onA)} ms`);
  assert.equal(await registry!.allTags(repo('cache')), ['x'], 'the cache is in the registry under its own tag');
  assert.equal(await registry!.allTags(repo('slow')), [], "the image's own tags were never pushed: no inline cache to take from");
  // What the tag holds is a cache manifest, not an image: its config is BuildKit's cache config.
  const manifestPath = `/v2/${repo('cache')}/manifests/x`;
  const manifest = await fetch(`http://${reg}${manifestPath}`, {
    headers: {
      authorization: registry!.authorization(manifestPath),
      accept: 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json',
    },
  });
  assert.is(manifest.status, 200);
  const cacheDocument = await manifest.text();
  assert.match(cacheDocument, /application\/vnd\.buildkit\.cacheconfig\.v0/);
  assert.not.match(cacheDocument, /application\/vnd\.(oci\.image\.config\.v1|docker\.container\.image\.v1)\+json/);
  // Credentials went through the session, never into output.
  assert.not.ok((onA.stdout + onA.stderr).includes(PASSWORD));

  const onB = await cli(['--json', '--cache-from', `type=registry,ref=${cacheRef}`], { cwd: dir, env: { ...ENV, DOCKER_HOST: b.host } });
  assert.is(onB.code, 0, onB.stderr + onB.stdout);
  assert.is(finishOf(onB, 'slow')!.status, 'built', 'B had no image of it: it built');
  assert.ok(
    runEvents(onB).some((s) => s.cached),
    `B took the RUN step from the exported cache: ${JSON.stringify(runEvents(onB))}`,
  );
  assert.ok(ranFor(onB) < 3000, `B did not run the step (${ranFor(onB)} ms)`);
  const made = await b.api.getImage(`${reg}/${repo('slow')}:1`).inspect();
  assert.ok(made.Id, 'B has the image');

  // The same export asked by the config (cache.to) works as the option does, to a tag of its own.
  const fromConfig = await project({
    'build.config.yaml': config(reg, `    cache: { to: { type: registry, ref: '${reg}/${repo('cache')}:y', mode: min } }\n`),
  });
  // --no-cache: A holds the image already, and an image up to date is not built (nor its cache exported).
  const again = await cli(['--json', '--no-cache'], { cwd: fromConfig, env: { ...ENV, DOCKER_HOST: a.host } });
  assert.is(again.code, 0, again.stderr + again.stdout);
  assert.is(finishOf(again, 'slow')!.status, 'built');
  assert.equal((await registry!.allTags(repo('cache'))).sort(), ['x', 'y']);
});

const sha256Of = async (file: string) =>
  `sha256:${createHash('sha256')
    .update(await buffer(createReadStream(file)))
    .digest('hex')}`;
const blobFile = (dir: string, digest: string) => path.join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));

/**
 * What a user (or buildx) checks of a cache directory: an OCI image layout whose index.json tags one manifest
 * `latest`, that manifest a cache manifest (BuildKit's cache config, no image config), and every blob it
 * names present under its digest with its size. Returns the index's text.
 */
async function checkLayout(dir: string): Promise<{ index: string; manifest: string }> {
  assert.equal(JSON.parse(await readFile(path.join(dir, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
  const index = await readFile(path.join(dir, 'index.json'), 'utf8');
  const parsed = JSON.parse(index) as { schemaVersion: number; manifests: { digest: string; size: number; annotations?: Record<string, string> }[] };
  assert.is(parsed.schemaVersion, 2);
  const latest = parsed.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'latest');
  assert.is(latest.length, 1, index);
  const manifestFile = blobFile(dir, latest[0]!.digest);
  assert.is(await sha256Of(manifestFile), latest[0]!.digest);
  assert.is((await stat(manifestFile)).size, latest[0]!.size);
  const manifest = await readFile(manifestFile, 'utf8');
  assert.match(manifest, /application\/vnd\.buildkit\.cacheconfig\.v0/);
  assert.not.match(manifest, /application\/vnd\.(oci\.image\.config\.v1|docker\.container\.image\.v1)\+json/);
  const named = JSON.parse(manifest) as {
    config?: { digest: string; size: number };
    layers?: { digest: string; size: number }[];
    manifests?: { digest: string; size: number }[];
  };
  const blobs = [...(named.config ? [named.config] : []), ...(named.layers ?? []), ...(named.manifests ?? [])];
  assert.ok(blobs.length >= 2, manifest);
  for (const blob of blobs) {
    assert.is(await sha256Of(blobFile(dir, blob.digest)), blob.digest, `blob ${blob.digest}`);
    assert.is((await stat(blobFile(dir, blob.digest))).size, blob.size);
  }
  // Nothing half-written is left: no write in progress, no temporary index.
  assert.equal(await readdir(path.join(dir, 'ingest')).catch(() => []), []);
  assert.equal(
    (await readdir(dir)).filter((f) => f.endsWith('.tmp')),
    [],
  );
  return { index, manifest };
}

test('containerd store: engine A exports mode=max cache to a directory; an empty engine B imports it and its RUN step is cached; a failed export leaves the index whole', async () => {
  if (!containerdStore) return; // the graphdriver engines check the refusal below instead
  const a = await containerdEngine();
  const b = await containerdEngine();
  await pushBase(a.api);
  const reg = registry!.address;

  const dir = await project({ 'build.config.yaml': config(reg) });
  // Outside the project, as a CI job's cache directory often is.
  const cacheDir = path.join(await project({}), 'cache');
  const onA = await cli(['--json', '--cache-to', `type=local,dest=${cacheDir},mode=max`], { cwd: dir, env: { ...ENV, DOCKER_HOST: a.host } });
  assert.is(onA.code, 0, onA.stderr + onA.stdout);
  assert.is(finishOf(onA, 'slow')!.status, 'built');
  assert.ok(ranFor(onA) >= 3000, `A ran the step for ${ranFor(onA)} ms`);
  const exported = await checkLayout(cacheDir);
  assert.equal(await registry!.allTags(repo('slow')), [], "the image's own tags were never pushed: no inline cache to take from");

  const onB = await cli(['--json', '--cache-from', `type=local,src=${cacheDir}`], { cwd: dir, env: { ...ENV, DOCKER_HOST: b.host } });
  assert.is(onB.code, 0, onB.stderr + onB.stdout);
  assert.is(finishOf(onB, 'slow')!.status, 'built', 'B had no image of it: it built');
  assert.ok(
    runEvents(onB).some((s) => s.cached),
    `B took the RUN step from the cache directory: ${JSON.stringify(runEvents(onB))}`,
  );
  assert.ok(ranFor(onB) < 3000, `B did not run the step (${ranFor(onB)} ms)`);
  assert.is(await readFile(path.join(cacheDir, 'index.json'), 'utf8'), exported.index, 'an import leaves the directory as it was');

  // The config's form, relative to the config's folder, one directory read and written from run to run.
  const fromConfig = await project({
    'build.config.yaml': config(reg, `    cache: { from: [{ type: local, src: .cache/slow }], to: { type: local, dest: .cache/slow, mode: max } }\n`),
  });
  // --no-cache: A holds the image already, and an image up to date is not built (nor its cache exported).
  const first = await cli(['--json', '--no-cache'], { cwd: fromConfig, env: { ...ENV, DOCKER_HOST: a.host } });
  assert.is(first.code, 0, first.stderr + first.stdout);
  const before = await checkLayout(path.join(fromConfig, '.cache/slow'));

  // An export that fails half-way (the directory's ingest/ is a file: no blob can be written) fails the
  // build and leaves the index and every blob it names as they were.
  await rm(path.join(fromConfig, '.cache/slow/ingest'), { recursive: true, force: true });
  await writeFile(path.join(fromConfig, '.cache/slow/ingest'), 'in the way\n');
  const failed = await cli(['--json', '--no-cache'], { cwd: fromConfig, env: { ...ENV, DOCKER_HOST: a.host } });
  assert.is(failed.code, 1, failed.stderr + failed.stdout);
  assert.is(finishOf(failed, 'slow')!.status, 'failed');
  assert.match(String(finishOf(failed, 'slow')!.error), /ingest/);
  assert.is(await readFile(path.join(fromConfig, '.cache/slow/index.json'), 'utf8'), before.index);
  assert.equal(
    (await readdir(path.join(fromConfig, '.cache/slow'))).filter((f) => f.endsWith('.tmp')),
    [],
  );
  const manifest = JSON.parse(before.manifest) as { layers?: { digest: string }[]; manifests?: { digest: string }[] };
  for (const blob of [...(manifest.layers ?? []), ...(manifest.manifests ?? [])]) await stat(blobFile(path.join(fromConfig, '.cache/slow'), blob.digest));
});

test('graphdriver: a registry cache export is refused before the build, from the command line and from the config, with a hint', async () => {
  if (containerdStore) return; // the containerd store exports: the test above
  const reg = registry!.address;
  const dir = await project({ 'build.config.yaml': config(reg) });
  const cacheRef = `${reg}/${repo('cache')}:x`;
  const env = { ...ENV, DOCKER_HOST: TEST_HOST };
  await pushBase(docker);
  const refused = await cli(['--json', '--cache-to', `type=registry,ref=${cacheRef},mode=max`], { cwd: dir, env });
  assert.is(refused.code, 2, refused.stderr + refused.stdout);
  const finish = finishOf(refused, 'slow') as { status: string; error?: string; hint?: string };
  assert.is(finish.status, 'failed');
  assert.match(String(finish.error), /--cache-to type=registry,ref=.*containerd image store/);
  assert.match(String(finish.hint), /inline/);
  assert.is(steps(refused).length, 0, 'no step of the build ran');
  assert.equal(await registry!.allTags(repo('cache')), []);

  const inConfig = await project({ 'build.config.yaml': config(reg, `    cache: { to: { type: registry, ref: '${cacheRef}' } }\n`) });
  const refusedToo = await cli(['--json'], { cwd: inConfig, env });
  assert.is(refusedToo.code, 2, refusedToo.stderr + refusedToo.stdout);
  // Named at the config's line and column.
  assert.match(String(finishOf(refusedToo, 'slow')!.error), /build\.config\.yaml:\d+:\d+: .*containerd image store/);
  assert.is(steps(refusedToo).length, 0);
  // Inline cache, what the hint offers, builds on the same engine.
  const inline = await cli(['--json', '--cache-to', 'inline'], { cwd: inConfig, env });
  assert.is(inline.code, 0, inline.stderr + inline.stdout);
});

/**
 * A cache directory as BuildKit writes one in its older form (an index naming the cache config), which every
 * BuildKit reads; its config holds no records, so nothing matches, but the daemon reads it all.
 */
async function emptyCacheDir(dir: string): Promise<void> {
  const put = async (text: string) => {
    const digest = `sha256:${createHash('sha256').update(text).digest('hex')}`;
    await mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
    await writeFile(blobFile(dir, digest), text);
    return { digest, size: Buffer.byteLength(text) };
  };
  const config = await put(JSON.stringify({ layers: [], records: [] }));
  const manifest = await put(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: 'application/vnd.buildkit.cacheconfig.v0', ...config }],
    }),
  );
  const latest = { mediaType: 'application/vnd.oci.image.index.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'latest' } };
  await writeFile(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [latest] }));
  await writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
}

test('graphdriver: an export to a directory is refused before the build, from the command line and from the config, with a hint; a directory is read', async () => {
  if (containerdStore) return; // the containerd store exports: the test above
  const reg = registry!.address;
  const env = { ...ENV, DOCKER_HOST: TEST_HOST };
  await pushBase(docker);
  const dir = await project({ 'build.config.yaml': config(reg) });
  const cacheDir = path.join(dir, 'cache');
  // --no-cache: the image may be up to date from the test above, and an image up to date is not built.
  const exporting = await cli(['--json', '--no-cache', '--cache-to', `type=local,dest=${cacheDir}`], { cwd: dir, env });
  assert.is(exporting.code, 2, exporting.stderr + exporting.stdout);
  const finish = finishOf(exporting, 'slow') as { status: string; error?: string; hint?: string };
  assert.match(String(finish.error), /--cache-to type=local,dest=.*exports a cache to a directory only from the containerd image store/);
  assert.match(String(finish.hint), /inline/);
  assert.is(steps(exporting).length, 0, 'no step of the build ran');
  assert.not.ok(await stat(cacheDir).catch(() => undefined), 'no directory was made');

  const inConfig = await project({ 'build.config.yaml': config(reg, `    cache: { to: { type: local, dest: cache } }\n`) });
  const refused = await cli(['--json', '--no-cache'], { cwd: inConfig, env });
  assert.is(refused.code, 2, refused.stderr + refused.stdout);
  assert.match(String(finishOf(refused, 'slow')!.error), /build\.config\.yaml:\d+:\d+: .*cache\.to: \{type: local\}.*containerd image store/);
  assert.is(steps(refused).length, 0);

  // Reading one works on this store too, as with buildx's docker driver: the daemon reads the manifest the
  // index names through the session's content store.
  await emptyCacheDir(cacheDir);
  const before = await readFile(path.join(cacheDir, 'index.json'), 'utf8');
  const importing = await cli(['--json', '--no-cache', '--cache-from', `type=local,src=${cacheDir}`], { cwd: dir, env });
  assert.is(importing.code, 0, importing.stderr + importing.stdout);
  assert.is(finishOf(importing, 'slow')!.status, 'built');
  assert.ok(
    steps(importing).some((s) => /^importing cache manifest from local:/.test(s.name) && s.completed),
    JSON.stringify(steps(importing).map((s) => s.name)),
  );
  assert.is(await readFile(path.join(cacheDir, 'index.json'), 'utf8'), before, 'a source is only read');
  // A directory with no cache yet (a first job) is skipped: the build goes on.
  const none = await cli(['--json', '--no-cache', '--cache-from', `type=local,src=${path.join(dir, 'none')}`], { cwd: dir, env });
  assert.is(none.code, 0, none.stderr + none.stdout);
});

test('every engine: the classic builder refuses a registry cache export, and --cache-to type=registry one tag for two images', async () => {
  const reg = registry!.address;
  const cacheRef = `${reg}/${repo('cache')}:classic`;
  const env = { ...ENV, DOCKER_HOST: TEST_HOST };
  const dir = await project({ 'build.config.yaml': config(reg) });
  // --no-cache: an image up to date (the inline build above made it) is not built, nor its cache exported.
  const classic = await cli(['--json', '--no-cache', '--builder', 'classic', '--cache-to', `type=registry,ref=${cacheRef}`], { cwd: dir, env });
  assert.is(classic.code, 2, classic.stderr + classic.stdout);
  assert.match(String(finishOf(classic, 'slow')!.error), /the classic builder exports no cache/);
  assert.is(steps(classic).length, 0, 'nothing was built');
  const classicLocal = await cli(['--json', '--no-cache', '--builder', 'classic', '--cache-to', `type=local,dest=${path.join(dir, 'c')}`], { cwd: dir, env });
  assert.is(classicLocal.code, 2, classicLocal.stderr + classicLocal.stdout);
  assert.match(String(finishOf(classicLocal, 'slow')!.error), /--cache-to type=local.*the classic builder exports no cache and reads no cache directory/);
  assert.is(steps(classicLocal).length, 0);

  const two = await project({
    'build.config.yaml': `${config(reg)}  other:\n    base: ${reg}/${repo('base')}:1\n    tags: ['${reg}/${repo('other')}:1']\n`,
  });
  const both = await cli(['--json', '--cache-to', `type=registry,ref=${cacheRef}`], { cwd: two, env });
  assert.is(both.code, 2, both.stderr + both.stdout);
  assert.match(both.stderr, /one registry cache for 2 images \(other, slow\)|one registry cache for 2 images \(slow, other\)/);
  assert.is(steps(both).length, 0);
  const bothLocal = await cli(['--json', '--cache-to', `type=local,dest=${path.join(two, 'c')}`], { cwd: two, env });
  assert.is(bothLocal.code, 2, bothLocal.stderr + bothLocal.stdout);
  assert.match(bothLocal.stderr, /one cache directory for 2 images/);
  assert.is(steps(bothLocal).length, 0);
  assert.equal(await registry!.allTags(repo('cache')).then((tags) => tags.filter((t) => t === 'classic')), []);
});

test.run();
