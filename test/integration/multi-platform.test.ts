// Multi-platform images (issue 23, item 3): a px image (px-oci-mon's shape: the GOPATH-era fixture checkout,
// cross-compiled on the host per platform) for linux/amd64 and linux/arm64, built on the containerd image
// store and pushed as one index, read back from the registry as a consumer reads it; and the refusals, on
// whichever engine runs this file (the graphdriver one on bookworm's 20.10 and trixie's 26.1).
import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { cli, type CliResult } from '../support/cli.ts';
import { cleanup, docker, requireEngine, RUN_ID } from '../support/engine.ts';
import { ELF_MACHINE, elfMachine, pushMultiPlatformBase } from '../support/multi-platform-base.ts';
import { PASSWORD, startRegistry, USER, type Registry } from '../support/registry.ts';
import { tempDir } from '../support/temp.ts';

const test = suite('multi-platform images');
const FIXTURE = new URL('../fixtures/px-installer/', import.meta.url).pathname;

let registry: Registry;
let projectDir = '';
let base = '';
let repo = '';
let containerdStore = false;

test.before(async () => {
  await requireEngine();
  registry = await startRegistry();
  repo = `bi-${RUN_ID}`;
  await pushMultiPlatformBase(registry, `${repo}/busybox`, 'multi');
  base = `${registry.address}/${repo}/busybox:multi`;
  const parent = await tempDir('bi-multi-');
  projectDir = path.join(parent, 'build-images');
  await mkdir(projectDir);
  await cp(FIXTURE, path.join(parent, 'px-installer'), { recursive: true });
  const status = ((await docker.info()) as { DriverStatus?: [string, string][] }).DriverStatus ?? [];
  containerdStore = status.flat().some((s) => s.startsWith('io.containerd.snapshotter'));
});
test.after(async () => {
  await registry.stop();
  // The pulled stand-in carries no run label: removed by name.
  if (base)
    await docker
      .getImage(base)
      .remove({ force: true })
      .catch(() => {});
  await cleanup();
});

/** px-oci-mon as this repository's build.config.yaml makes it, on the multi-platform stand-in; `extra` steps after it. */
async function writeConfig(platforms: string, extraSteps = ''): Promise<void> {
  await writeFile(
    path.join(projectDir, 'build.config.yaml'),
    `sources:
  px: ../px-installer
credentials:
  - { registry: '${registry.address}', usernameVariable: REG_USER, passwordVariable: REG_PASSWORD }
images:
  px-oci-mon:
    base: ${base}
    tags: ['${registry.address}/${repo}/oci-monitor:multi']
    ${platforms}
    steps:
      - command:
          name: px-oci-mon/px-oci-mon
          gopath: { importPath: github.com/portworx/px-installer, checkout: 'px:' }
          cwd: px:px-oci-mon
          run: [go, build, -trimpath, -ldflags, '-X main.PXTAG=multi -extldflags -static', -o, px-oci-mon, .]
          reproducible: true
          env: { CGO_ENABLED: '0', GOOS: linux, GOARCH: amd64 }
          inputs: [px:px-oci-mon, px:vendor]
          outputs: [px:px-oci-mon/px-oci-mon]
      - copy: { from: px:px-oci-mon/px-oci-mon, to: /px-oci-mon, mode: '0755' }
      - entrypoint: [/px-oci-mon]
${extraSteps}`,
  );
}

function run(args: string[]): Promise<CliResult> {
  return cli(['--json', ...args], {
    cwd: projectDir,
    env: {
      DOCKER_CONFIG: path.join(projectDir, 'no-docker-config'),
      REG_USER: USER,
      REG_PASSWORD: PASSWORD,
      GOPATH: undefined,
      GO111MODULE: undefined,
      GOFLAGS: undefined,
      GOPROXY: 'off',
    },
  });
}

const finishOf = (result: CliResult) => result.events.find((e) => e['type'] === 'finish' && e['image'] === 'px-oci-mon');
const errorOf = (result: CliResult) => String(finishOf(result)?.['error'] ?? '') + String(finishOf(result)?.['hint'] ?? '');

/** A registry document, read as a consumer reads it (the Accept header names what it takes). */
async function document(pathname: string, accept: string): Promise<{ mediaType: string; body: Record<string, unknown> }> {
  const response = await fetch(`http://${registry.address}${pathname}`, { headers: { authorization: registry.authorization(pathname), accept } });
  assert.is(response.status, 200, `${pathname}: HTTP ${response.status}`);
  return { mediaType: response.headers.get('content-type') ?? '', body: (await response.json()) as Record<string, unknown> };
}

async function blob(repository: string, digest: string): Promise<Buffer> {
  const pathname = `/v2/${repository}/blobs/${digest}`;
  const response = await fetch(`http://${registry.address}${pathname}`, { headers: { authorization: registry.authorization(pathname) } });
  assert.is(response.status, 200, `${pathname}: HTTP ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

/** A file of a gzipped layer, or undefined. */
async function fileInLayer(layer: Buffer, name: string): Promise<Buffer | undefined> {
  const extract = tar.extract();
  let found: Buffer | undefined;
  extract.on('entry', (header, stream, next) => {
    const entryName = header.name.replace(/^\.?\//, '');
    if (entryName === name && header.type === 'file') {
      void buffer(stream).then((bytes) => {
        found = bytes;
        next();
      });
    } else {
      stream.on('end', next);
      stream.resume();
    }
  });
  const done = new Promise<void>((resolve, reject) => extract.on('finish', () => resolve()).on('error', reject));
  Readable.from([gunzipSync(layer)]).pipe(extract);
  await done;
  return found;
}

const INDEX_TYPES = 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json';
const MANIFEST_TYPES = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';

test('on the containerd store, px-oci-mon for linux/amd64 and linux/arm64 is pushed as one index, each platform its own binary', async () => {
  if (!containerdStore) return;
  await writeConfig('platforms: [linux/amd64, linux/arm64]');
  const metadata = path.join(projectDir, 'images.json');
  const result = await run(['--builder', 'buildkit', '--metadata-file', metadata, 'px-oci-mon', 'deploy']);
  assert.is(result.code, 0, result.stderr + result.stdout);
  const ran = result.events.filter((e) => e['type'] === 'command').map((e) => String(e['command']));
  assert.is(ran.length, 2);
  assert.match(ran[0]!, / GOARCH=amd64 GOOS=linux /);
  assert.match(ran[1]!, / GOARCH=arm64 GOOS=linux /);

  const repository = `${repo}/oci-monitor`;
  const tag = `${registry.address}/${repository}:multi`;
  const index = await document(`/v2/${repository}/manifests/multi`, `${INDEX_TYPES}, ${MANIFEST_TYPES}`);
  assert.ok(/index|manifest\.list/.test(index.mediaType), `the tag is an index, not ${index.mediaType}`);
  // Exactly one manifest per platform (dockerd's moby exporter adds no attestation manifests here).
  const images = index.body['manifests'] as { digest: string; platform: { os: string; architecture: string } }[];
  assert.equal(images.map((m) => `${m.platform.os}/${m.platform.architecture}`).sort(), ['linux/amd64', 'linux/arm64']);
  const binarySha = new Map<string, string>();
  for (const image of images) {
    const manifest = await document(`/v2/${repository}/manifests/${image.digest}`, MANIFEST_TYPES);
    const layers = manifest.body['layers'] as { digest: string }[];
    const binaries = (await Promise.all(layers.map(async (l) => fileInLayer(await blob(repository, l.digest), 'px-oci-mon')))).filter((b) => b);
    assert.is(binaries.length, 1, `one layer of ${image.platform.architecture} holds /px-oci-mon`);
    assert.is(elfMachine(binaries[0]!), ELF_MACHINE[image.platform.architecture as keyof typeof ELF_MACHINE], image.platform.architecture);
    binarySha.set(`${image.platform.os}/${image.platform.architecture}`, createHash('sha256').update(binaries[0]!).digest('hex'));
  }
  // The index's SBOM lists each platform's binary, told by its platform, with that image's bytes' digest.
  const spdx = JSON.parse(await readFile(path.join(projectDir, 'px-oci-mon.spdx.json'), 'utf8')) as {
    files: { fileName: string; comment?: string; checksums: { algorithm: string; checksumValue: string }[] }[];
  };
  const listed = spdx.files.filter((f) => f.fileName === './px-oci-mon');
  assert.equal(
    listed.map((f) => [/in the (\S+) image/.exec(f.comment ?? '')?.[1], f.checksums.find((c) => c.algorithm === 'SHA256')?.checksumValue]).sort(),
    [...binarySha].sort(),
  );
  // The supply-chain documents are attached to what was pushed: the index (OCI 1.1 referrers, by the
  // `sha256-<hex>` tag on a registry without the referrers API).
  const pushed = await registry.digest(repository, 'multi');
  assert.ok((await registry.allTags(repository)).includes(pushed.replace(':', '-')), 'the documents name the index');
  const referrers = await document(`/v2/${repository}/manifests/${pushed.replace(':', '-')}`, INDEX_TYPES);
  const referrer = (referrers.body['manifests'] as { digest: string }[])[0]!;
  const attached = await document(`/v2/${repository}/manifests/${referrer.digest}`, MANIFEST_TYPES);
  assert.is((attached.body['subject'] as { digest: string }).digest, pushed);
  const written = JSON.parse(await readFile(metadata, 'utf8')) as Record<string, Record<string, string>>;
  assert.is(written['px-oci-mon']!['containerimage.digest'], await registry.digest(repository, 'multi'));

  // Nothing changed: both platforms' commands are fresh, the image up to date.
  const again = await run(['--builder', 'buildkit', 'px-oci-mon']);
  assert.is(again.code, 0, again.stderr);
  assert.equal(
    again.events.filter((e) => e['type'] === 'command').map((e) => e['status']),
    [],
    'decided before compiling: reproducible commands of an up-to-date image do not run',
  );
  assert.is(finishOf(again)?.['status'], 'skipped');

  // A fresh runner (the engine has no image of it): the registry's index holds both platforms with these
  // inputs, so nothing is compiled, built or pushed, and the tag reported is the index.
  const indexDigest = await registry.digest(repository, 'multi');
  await docker.getImage(tag).remove({ force: true });
  const fresh = await run(['--builder', 'buildkit', 'px-oci-mon', 'deploy']);
  assert.is(fresh.code, 0, fresh.stderr);
  assert.match(String(finishOf(fresh)?.['reason']), /up to date in 127\.0\.0\.1/);
  assert.is(fresh.events.filter((e) => e['type'] === 'command').length, 0);
  assert.equal(
    fresh.events.filter((e) => e['type'] === 'push').map((e) => [e['status'], e['digest']]),
    [['present', indexDigest]],
  );

  // The tag now names the amd64 image alone (pushed over by a one-platform build): its label matches, but
  // arm64 is not there, so the image is built and pushed as the index again.
  const amd64 = images.find((m) => m.platform.architecture === 'amd64')!;
  const single = `/v2/${repository}/manifests/${amd64.digest}`;
  const bytes = await fetch(`http://${registry.address}${single}`, { headers: { authorization: registry.authorization(single), accept: MANIFEST_TYPES } });
  const put = await fetch(`http://${registry.address}/v2/${repository}/manifests/multi`, {
    method: 'PUT',
    headers: { authorization: registry.authorization(single), 'content-type': bytes.headers.get('content-type')! },
    body: new Uint8Array(await bytes.arrayBuffer()),
  });
  assert.is(put.status, 201);
  await docker
    .getImage(tag)
    .remove({ force: true })
    .catch(() => {});
  const rebuilt = await run(['--builder', 'buildkit', 'px-oci-mon', 'deploy']);
  assert.is(rebuilt.code, 0, rebuilt.stderr);
  assert.is(finishOf(rebuilt)?.['status'], 'built');
  const after = await document(`/v2/${repository}/manifests/multi`, `${INDEX_TYPES}, ${MANIFEST_TYPES}`);
  assert.is((after.body['manifests'] as unknown[] | undefined)?.length, 2, 'the tag is the index of both again');
});

test('several platforms on a graphdriver engine are refused, naming the image and the store', async () => {
  if (containerdStore) return;
  await writeConfig('');
  const result = await run(['--builder', 'buildkit', '--platform', 'linux/amd64,linux/arm64', 'px-oci-mon']);
  assert.is(result.code, 2, result.stderr + result.stdout);
  assert.match(errorOf(result), /px-oci-mon: platforms linux\/amd64, linux\/arm64: this engine keeps its images in a graphdriver/);
  assert.match(errorOf(result), /containerd-snapshotter/);
  assert.is(result.events.filter((e) => e['type'] === 'command').length, 0, 'refused before anything ran');
});

test('several platforms with the classic builder are refused', async () => {
  await writeConfig('platforms: [linux/amd64, linux/arm64]');
  const result = await run(['--builder', 'classic', 'px-oci-mon']);
  assert.is(result.code, 2, result.stderr + result.stdout);
  assert.match(errorOf(result), /px-oci-mon: platforms linux\/amd64, linux\/arm64: the classic builder builds only the engine's own platform/);
  assert.match(errorOf(result), /--builder buildkit/);
});

test('a run step for a platform not the engine’s own is refused: it would need emulation', async () => {
  await writeConfig('platforms: [linux/arm64]', '      - run: echo hello\n');
  const result = await run(['--builder', 'buildkit', 'px-oci-mon']);
  assert.is(result.code, 2, result.stderr + result.stdout);
  assert.match(errorOf(result), /build\.config\.yaml:\d+:\d+: px-oci-mon: its run step needs emulation for linux\/arm64/);
  assert.match(errorOf(result), /compile on the host instead/);
});

test.run();
