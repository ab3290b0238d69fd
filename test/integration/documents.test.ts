// The supply-chain documents of the px images and cm-container, built from this repository's config (a
// px-installer checkout of the fixture's, GOPATH-era with govendor's vendor.json; the type files over
// loopback HTTP) and pushed to Debian's registry: the files next to the metadata file read back as a
// consumer reads them, validated, their file digests equal to the files in the built images.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { cli, type CliResult } from '../support/cli.ts';
import { cloudifyStandIn } from '../support/cloudify.ts';
import { cleanup, docker, ensureStandIns, imageInfo, requireEngine, RUN_ID, RUN_LABEL } from '../support/engine.ts';
import { PASSWORD, startRegistry, USER, type Registry } from '../support/registry.ts';
import { tempDir } from '../support/temp.ts';
import { cyclonedxProblems, provenanceProblems, spdxProblems } from '../support/documents.ts';
import { createEngine } from '../../pipeline/engine/create-engine.ts';
import type { ImageStore } from '../../pipeline/engine/engine.ts';

const test = suite('supply-chain documents');
const REPO_ROOT = new URL('../../', import.meta.url).pathname;
const FIXTURE = new URL('../fixtures/px-installer/', import.meta.url).pathname;
const VENDOR = JSON.parse(await readFile(path.join(FIXTURE, 'vendor/vendor.json'), 'utf8')) as { package: { path: string; revision: string }[] };

let registry: Registry;
let server: http.Server;
let served = '';
let projectDir = '';
let pxSource = '';
let pxCommit = '';
let images: ImageStore;
let baseDigest = '';
const baseRef = () => `${registry.address}/bi-${RUN_ID}/alpine:3`;

test.before(async () => {
  await requireEngine();
  await ensureStandIns();
  await cloudifyStandIn();
  registry = await startRegistry();
  server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url.startsWith('/plugins/') || url.startsWith('/ccsdk/type_files/')) return void res.end(`tosca_definitions_version: cloudify_dsl_1_3\n# ${url}\n`);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  served = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The Makefile's layout: the project beside a px-installer checkout (PX_SRC's default), a git checkout.
  const parent = await tempDir('bi-docs-');
  projectDir = path.join(parent, 'build-images');
  pxSource = path.join(parent, 'px-installer');
  await mkdir(projectDir);
  for (const entry of ['build.config.yaml', 'images', 'types-3.4']) await cp(path.join(REPO_ROOT, entry), path.join(projectDir, entry), { recursive: true });
  await cp(FIXTURE, pxSource, { recursive: true });
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.test', ...args], { cwd: pxSource, encoding: 'utf8' }).trim();
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'px-installer fixture');
  pxCommit = git('rev-parse', 'HEAD');
  images = (await createEngine()).images;
  // px-spec-websvc's base from a registry, so that it has a manifest digest to be pinned by (the stand-ins
  // the engine imported have none).
  await docker.getImage('alpine:latest').tag({ repo: `${registry.address}/bi-${RUN_ID}/alpine`, tag: '3' });
  const pushing = await docker.getImage(baseRef()).push({ authconfig: { username: USER, password: PASSWORD, serveraddress: registry.address } });
  await new Promise((resolve, reject) => docker.modem.followProgress(pushing, (err: Error | null) => (err ? reject(err) : resolve(undefined))));
  baseDigest = await registry.digest(`bi-${RUN_ID}/alpine`, '3');
  const config = path.join(projectDir, 'build.config.yaml');
  await writeFile(config, (await readFile(config, 'utf8')).replace('base: alpine:latest', `base: ${baseRef()}`));
});
test.after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await registry.stop();
  await cleanup();
});

const repo = () => `${registry.address}/bi-${RUN_ID}`;

function run(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return cli(['--json', ...args], {
    cwd: projectDir,
    env: {
      DOCKER_CONFIG: path.join(projectDir, 'no-docker-config'),
      BUILD_IMAGES_CACHE: path.join(projectDir, 'cache'),
      DOCKER_HUB_REPO: repo(),
      DOCKER_HUB_USER: USER,
      DOCKER_HUB_PASSWD: PASSWORD,
      PXTAG: '2.6.1',
      GOPATH: undefined,
      GO111MODULE: undefined,
      GOFLAGS: undefined,
      ...env,
    },
  });
}

const CM_SETS = () => [
  '--set',
  `TYPE_REPO=${served}/plugins`,
  '--set',
  `CCSDK_REPO=${served}/ccsdk`,
  '--set',
  `CM_REPOSITORY=bi-${RUN_ID}/cm-container`,
  '--set',
  `CM_REGISTRY=${registry.address}`,
];

interface Spdx {
  packages: { SPDXID: string; name: string; versionInfo?: string; externalRefs?: { referenceLocator: string }[]; comment?: string }[];
  files: { SPDXID: string; fileName: string; checksums: { algorithm: string; checksumValue: string }[]; comment?: string }[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
}

const sha = (algorithm: string, bytes: Uint8Array) => createHash(algorithm).update(bytes).digest('hex');
const checksum = (file: Spdx['files'][number], algorithm: string) => file.checksums.find((c) => c.algorithm === algorithm)!.checksumValue;

/** Each file the SPDX document lists, read back from the image: the same SHA1 and SHA256. */
async function assertFilesInImage(spdx: Spdx, image: string): Promise<void> {
  assert.ok(spdx.files.length > 0);
  for (const file of spdx.files) {
    const read = await images.readFile(image, file.fileName.slice(1), { [RUN_LABEL]: RUN_ID });
    assert.is(checksum(file, 'SHA256'), sha('sha256', read.content), file.fileName);
    assert.is(checksum(file, 'SHA1'), sha('sha1', read.content), file.fileName);
  }
}

let deployed: CliResult;
let metadata: Record<string, Record<string, unknown>>;
const metadataFile = () => path.join(projectDir, 'out', 'images.json');
const documentsOf = async (image: string) => {
  const named = metadata[image]!['build-images.documents'] as { files: string[]; subject: string };
  const read = async (kind: string) =>
    readFile(
      named.files.find((f) => f.endsWith(`.${kind}.json`))!,
      'utf8',
    );
  return { named, spdx: JSON.parse(await read('spdx')) as Spdx, cyclonedx: await read('cyclonedx'), provenance: JSON.parse(await read('provenance')) };
};

test('deploy of the px images and cm-container writes SPDX, CycloneDX and provenance per image next to the metadata file, named there and in --json, all valid', async () => {
  deployed = await run(['--metadata-file', 'out/images.json', ...CM_SETS(), 'px-container', 'cm-container', 'deploy'], { SOURCE_DATE_EPOCH: '1700000000' });
  assert.is(deployed.code, 0, deployed.stderr + deployed.stdout);
  metadata = JSON.parse(await readFile(metadataFile(), 'utf8'));
  const told = deployed.events.filter((e) => e['type'] === 'documents');
  assert.equal(told.map((e) => e['image']).sort(), ['cm-container', 'px-oci-mon', 'px-spec-websvc']);
  assert.equal((await readdir(path.join(projectDir, 'out'))).sort(), [
    'cm-container.cyclonedx.json',
    'cm-container.provenance.json',
    'cm-container.spdx.json',
    'images.json',
    'px-oci-mon.cyclonedx.json',
    'px-oci-mon.provenance.json',
    'px-oci-mon.spdx.json',
    'px-spec-websvc.cyclonedx.json',
    'px-spec-websvc.provenance.json',
    'px-spec-websvc.spdx.json',
  ]);
  for (const image of ['px-oci-mon', 'px-spec-websvc', 'cm-container']) {
    const { named, spdx, cyclonedx, provenance } = await documentsOf(image);
    const digest = metadata[image]!['containerimage.digest'] as string;
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    assert.is(named.subject, digest, `${image}: the documents are of the pushed manifest`);
    assert.equal(told.find((e) => e['image'] === image)!['files'], named.files);
    assert.equal(spdxProblems(spdx), [], image);
    assert.is(await cyclonedxProblems(cyclonedx), null, image);
    assert.equal(provenanceProblems(provenance, digest), [], image);
    const purl = spdx.packages.find((p) => p.SPDXID === 'SPDXRef-Image')!.externalRefs![0]!.referenceLocator;
    assert.is(
      decodeURIComponent(purl.split('?')[0]!),
      `pkg:oci/${image === 'cm-container' ? 'cm-container' : image === 'px-oci-mon' ? 'oci-monitor' : 'monitor-websvc'}@${digest}`,
    );
  }
});

/** A manifest or index by digest or tag, as a consumer asks for it. */
async function manifest(repository: string, reference: string): Promise<Record<string, unknown>> {
  const pathname = `/v2/${repository}/manifests/${reference}`;
  const response = await fetch(`http://${registry.address}${pathname}`, {
    headers: { authorization: registry.authorization(pathname), accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' },
  });
  assert.is(response.status, 200, pathname);
  return (await response.json()) as Record<string, unknown>;
}

test('done when: every pushed image has SPDX, CycloneDX and provenance referrers in the registry, read back through the sha256-<hex> index, valid, the same bytes as the files', async () => {
  const told = deployed.events.filter((e) => e['type'] === 'referrers');
  for (const image of ['px-oci-mon', 'px-spec-websvc', 'cm-container']) {
    const local = await documentsOf(image);
    const digest = local.named.subject;
    const subjects = told.filter((e) => e['image'] === image);
    assert.ok(subjects.length > 0, `${image}: no referrers event`);
    for (const event of subjects) {
      assert.not.ok(event['error'], String(event['error']));
      const [repository, subjectDigest] = String(event['subject']).split('@') as [string, string];
      assert.is(subjectDigest, digest);
      const name = repository.slice(registry.address.length + 1);
      // Debian's 2.8 has no Referrers API: the index is at the fallback tag.
      const index = await manifest(name, `sha256-${digest.slice('sha256:'.length)}`);
      const entries = index['manifests'] as { digest: string; artifactType: string }[];
      const byType = new Map(entries.map((e) => [e.artifactType, e.digest]));
      const bodies: Record<string, string> = {};
      for (const [kind, type] of [
        ['spdx', 'application/spdx+json'],
        ['cyclonedx', 'application/vnd.cyclonedx+json'],
        ['provenance', 'application/vnd.in-toto+json'],
      ] as const) {
        assert.ok(byType.has(type), `${image}: no ${type} referrer`);
        const referrer = await manifest(name, byType.get(type)!);
        assert.equal((referrer['subject'] as { digest: string }).digest, digest);
        const layer = (referrer['layers'] as { digest: string }[])[0]!;
        bodies[kind] = (await registry.api(`/v2/${name}/blobs/${layer.digest}`)).body;
      }
      assert.is(bodies['spdx'], JSON.stringify(local.spdx, null, 2) + '\n', `${image}: the SPDX attached is the file's`);
      assert.equal(spdxProblems(JSON.parse(bodies['spdx']!), { seenBefore: true }), []);
      assert.is(await cyclonedxProblems(bodies['cyclonedx']!), null);
      assert.equal(provenanceProblems(JSON.parse(bodies['provenance']!), digest), []);
    }
  }
});

test('px-oci-mon: its SBOM lists the binary as built (read back from the image), its Go version, PXTAG in the ldflags, and the vendored packages it links with their revisions', async () => {
  const { spdx, provenance } = await documentsOf('px-oci-mon');
  const image = `${repo()}/oci-monitor:2.6.1`;
  await assertFilesInImage(spdx, image);
  const binary = spdx.files.find((f) => f.fileName === './px-oci-mon')!;
  const built = await readFile(path.join(pxSource, 'px-oci-mon/px-oci-mon'));
  assert.is(checksum(binary, 'SHA256'), sha('sha256', built));
  const generated = spdx.relationships.find((r) => r.spdxElementId === binary.SPDXID && r.relationshipType === 'GENERATED_FROM')!;
  const main = spdx.packages.find((p) => p.SPDXID === generated.relatedSpdxElement)!;
  assert.is(main.name, 'github.com/portworx/px-installer/px-oci-mon');
  assert.is(main.versionInfo, pxCommit, 'a GOPATH build has no module version: the checkout commit stands for it');
  const goVersion = execFileSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' }).trim();
  assert.ok(main.comment!.includes(`built with ${goVersion}`), main.comment);
  assert.ok(main.comment!.includes('-ldflags=-X main.PXTAG=2.6.1 -extldflags -static'), main.comment);
  const deps = spdx.relationships.filter((r) => r.spdxElementId === main.SPDXID && r.relationshipType === 'DEPENDS_ON');
  const linked = deps.map((r) => spdx.packages.find((p) => p.SPDXID === r.relatedSpdxElement)!).map((p) => [p.name, p.versionInfo]);
  const revision = (p: string) => VENDOR.package.find((e) => e.path === p)!.revision;
  assert.equal(linked, [
    ['github.com/pkg/errors', revision('github.com/pkg/errors')],
    ['github.com/portworx/sched-ops/k8s', revision('github.com/portworx/sched-ops/k8s')],
    ['github.com/sirupsen/logrus', revision('github.com/sirupsen/logrus')],
    ['k8s.io/api/core/v1', revision('k8s.io/api/core/v1')],
  ]);
  // Listed in vendor.json, linked by neither binary: not in the SBOM.
  assert.not.ok(spdx.packages.some((p) => p.name === 'github.com/docker/docker/client'));
  const internal = provenance.predicate.buildDefinition.internalParameters as Record<string, string>;
  const info = (await docker.info()) as { ServerVersion: string; DriverStatus?: [string, string][] | null };
  assert.is(internal['engineVersion'], info.ServerVersion);
  const containerd = (info.DriverStatus ?? []).flat().some((s) => s.startsWith('io.containerd.snapshotter'));
  assert.is(internal['imageStore'], containerd ? 'containerd' : 'graphdriver');
  assert.is(internal['builder'], process.env['BUILD_IMAGES_BUILDER'] || 'buildkit');
  const sources = provenance.predicate.buildDefinition.resolvedDependencies as { name?: string; digest: Record<string, string> }[];
  assert.ok(
    sources.some((d) => d.name === 'source px' && d.digest['gitCommit'] === pxCommit),
    JSON.stringify(sources),
  );
});

test("px-spec-websvc: its base pinned by the registry's digest (DESCENDANT_OF, the provenance, the labels), and it links no logrus", async () => {
  const { spdx, provenance } = await documentsOf('px-spec-websvc');
  const base = spdx.packages.find((p) => p.SPDXID === 'SPDXRef-Base')!;
  assert.equal([base.name, base.versionInfo], [baseRef(), baseDigest]);
  assert.ok(
    spdx.relationships.some((r) => r.spdxElementId === 'SPDXRef-Image' && r.relationshipType === 'DESCENDANT_OF' && r.relatedSpdxElement === 'SPDXRef-Base'),
  );
  const dependencies = provenance.predicate.buildDefinition.resolvedDependencies as { name?: string; uri: string; digest: Record<string, string> }[];
  assert.equal(
    dependencies.find((d) => d.name === 'base'),
    { uri: `docker-image://${baseRef()}`, name: 'base', digest: { sha256: baseDigest.slice('sha256:'.length) } },
  );
  const labels = (await imageInfo(`${repo()}/monitor-websvc:2.6.1`))!.Config.Labels as Record<string, string>;
  assert.is(labels['org.opencontainers.image.base.name'], baseRef());
  assert.is(labels['org.opencontainers.image.base.digest'], baseDigest);
  assert.is(labels['org.opencontainers.image.created'], '2023-11-14T22:13:20.000Z', 'SOURCE_DATE_EPOCH');
  assert.is(labels['org.opencontainers.image.source'], 'https://github.com/build-images/build-images');
  await assertFilesInImage(spdx, `${repo()}/monitor-websvc:2.6.1`);
  const names = spdx.packages.map((p) => p.name);
  assert.ok(names.includes('github.com/pkg/errors'));
  assert.not.ok(names.includes('github.com/sirupsen/logrus'));
});

test('cm-container: every type file with the sha256 it is pinned to (fetched: its URL and the lock file; types-3.4: the file), each read back from the image', async () => {
  const { spdx } = await documentsOf('cm-container');
  const tag = (metadata['cm-container']!['build-images.tags'] as string[])[0]!;
  await assertFilesInImage(spdx, tag);
  const lock = JSON.parse(await readFile(path.join(projectDir, 'build-images.lock.json'), 'utf8')) as { fetched: Record<string, { sha256: string }> };
  const fetched = spdx.packages.filter((p) => p.SPDXID.startsWith('SPDXRef-Download-'));
  assert.is(fetched.length, 9);
  for (const download of fetched) {
    const url = (download as unknown as { downloadLocation: string }).downloadLocation;
    const pinned = (download as unknown as { checksums: { checksumValue: string }[] }).checksums[0]!.checksumValue;
    // A URL that holds a --set value is kept in the lock under its digest (given-values.ts).
    assert.is(pinned, (lock.fetched[url] ?? lock.fetched[`sha256:${sha('sha256', Buffer.from(url))}`])!.sha256, url);
    assert.is(pinned, sha('sha256', Buffer.from(`tosca_definitions_version: cloudify_dsl_1_3\n# ${new URL(url).pathname}\n`)), url);
    assert.ok(download.externalRefs![0]!.referenceLocator.startsWith('pkg:generic/'), url);
  }
  const types = await readdir(path.join(projectDir, 'types-3.4'), { recursive: true });
  for (const name of types) {
    const onDisk = path.join(projectDir, 'types-3.4', name);
    if (!(await stat(onDisk)).isFile()) continue;
    const listed = spdx.files.find((f) => f.fileName === `./opt/manager/resources/spec/cloudify/3.4/${name}`);
    assert.ok(listed, name);
    assert.is(checksum(listed, 'SHA256'), sha('sha256', await readFile(onDisk)), name);
  }
  const edited = spdx.files.find((f) => f.fileName === './etc/cloudify/config.yaml');
  assert.ok(edited?.comment?.startsWith('edited: /etc/cloudify/config.yaml'), JSON.stringify(edited));
});

test('cm-container up to date: the same files and digests, its edited files read back from the image (the run made only their stand-ins)', async () => {
  await mkdir(path.join(projectDir, 'again'));
  const again = await run(['--metadata-file', 'again/images.json', ...CM_SETS(), 'cm-container']);
  assert.is(again.code, 0, again.stderr + again.stdout);
  const finish = again.events.find((e) => e['type'] === 'finish' && e['image'] === 'cm-container')!;
  assert.is(finish['status'], 'skipped');
  const first = (await documentsOf('cm-container')).spdx;
  const second = JSON.parse(await readFile(path.join(projectDir, 'again', 'cm-container.spdx.json'), 'utf8')) as Spdx;
  const digests = (doc: Spdx) => doc.files.map((f) => [f.fileName, f.checksums]);
  assert.equal(digests(second), digests(first));
  assert.ok(second.files.some((f) => f.fileName === './etc/rc.d/rc.local'));
});

test('no secret in any document: the registry password the run used, nor its base64 form', async () => {
  for (const file of await readdir(path.join(projectDir, 'out'))) {
    const text = await readFile(path.join(projectDir, 'out', file), 'utf8');
    assert.not.ok(text.includes(PASSWORD), file);
    assert.not.ok(text.includes(Buffer.from(`${USER}:${PASSWORD}`).toString('base64')), file);
  }
});

test('--sbom=false --provenance=false: nothing written, nothing named; --sbom=false alone leaves the provenance', async () => {
  await mkdir(path.join(projectDir, 'off'));
  await mkdir(path.join(projectDir, 'min'));
  const off = await run(['--metadata-file', 'off/images.json', '--sbom=false', '--provenance=false', 'px-oci-mon']);
  assert.is(off.code, 0, off.stderr + off.stdout);
  assert.equal(await readdir(path.join(projectDir, 'off')), ['images.json']);
  assert.not.ok(off.events.some((e) => e['type'] === 'documents'));
  const noFile = await run(['px-oci-mon']);
  assert.is(noFile.code, 0, noFile.stderr + noFile.stdout);
  assert.not.ok(
    noFile.events.some((e) => e['type'] === 'documents'),
    'without --metadata-file nothing is written',
  );
  const minOnly = await run(['--metadata-file', 'min/images.json', '--sbom=false', 'px-oci-mon']);
  assert.is(minOnly.code, 0, minOnly.stderr + minOnly.stdout);
  assert.equal(await readdir(path.join(projectDir, 'min')), ['images.json', 'px-oci-mon.provenance.json']);
});

test('an image decided before its go build ran (up to date: no binary, no GOPATH on the disk) lists the binary as Go built it, read from the image', async () => {
  await rm(path.join(pxSource, 'px-oci-mon/px-oci-mon'));
  // As in a new clone: no GOPATH of ours yet, which Go is asked in.
  await rm(path.join(projectDir, '.build-images', 'gopath'), { recursive: true, force: true });
  await mkdir(path.join(projectDir, 'later'));
  const later = await run(['--metadata-file', 'later/images.json', 'px-oci-mon']);
  assert.is(later.code, 0, later.stderr + later.stdout);
  assert.equal(
    later.events.filter((e) => e['type'] === 'command'),
    [],
    'no go build ran',
  );
  const named = (JSON.parse(await readFile(path.join(projectDir, 'later', 'images.json'), 'utf8')) as typeof metadata)['px-oci-mon']![
    'build-images.documents'
  ] as {
    files: string[];
  };
  const spdx = JSON.parse(
    await readFile(
      named.files.find((f) => f.endsWith('.spdx.json'))!,
      'utf8',
    ),
  ) as Spdx;
  assert.equal(spdxProblems(spdx), []);
  const earlier = (await documentsOf('px-oci-mon')).spdx;
  const binary = (doc: Spdx) => doc.files.find((f) => f.fileName === './px-oci-mon')!;
  assert.equal(binary(spdx).checksums, binary(earlier).checksums);
  const linked = (doc: Spdx) => {
    const made = doc.relationships.find((r) => r.spdxElementId === binary(doc).SPDXID && r.relationshipType === 'GENERATED_FROM')!;
    return doc.relationships
      .filter((r) => r.spdxElementId === made.relatedSpdxElement && r.relationshipType === 'DEPENDS_ON')
      .map((r) => doc.packages.find((p) => p.SPDXID === r.relatedSpdxElement)!.name);
  };
  const main = (doc: Spdx) => {
    const made = doc.relationships.find((r) => r.spdxElementId === binary(doc).SPDXID && r.relationshipType === 'GENERATED_FROM')!;
    const pkg = doc.packages.find((p) => p.SPDXID === made.relatedSpdxElement)!;
    return [pkg.name, pkg.versionInfo, pkg.comment];
  };
  assert.equal(main(spdx), main(earlier), 'the main package, its Go version and flags');
  assert.ok(linked(spdx).includes('github.com/sirupsen/logrus'), JSON.stringify(linked(spdx)));
  assert.equal(linked(spdx), linked(earlier));
});

test.run();
