// attestations: {storage: index} (issue 22, item 3's opt-in): after the push, every tag of the image moved
// onto an OCI index of its manifest and BuildKit's attestation manifest (platform unknown/unknown, annotated
// with the manifest's digest, in-toto Statements for layers), read back from Debian's docker-registry as a
// consumer would: the index and its entries, each Statement's subject, `docker buildx imagetools inspect`'s
// .SBOM and .Provenance (Debian sid's docker-buildx), `cosign verify-attestation` of the manifest's signed
// Statement, a pull and run of the tag on the engine, the metadata file, and a second run that finds the
// index there (up to date in the registry) and puts it under a new tag as it is. The default layout (the tag
// a plain manifest) is referrers.test.ts's.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { cli, project, type CliResult } from '../support/cli.ts';
import { cleanup, docker, ensureStandIns, importImage, requireEngine, rootfs, runIn, RUN_ID, RUN_LABEL } from '../support/engine.ts';
import { ociTools } from '../support/oci-tools.ts';
import { PASSWORD, startRegistry, USER, type Registry } from '../support/registry.ts';
import { PROVENANCE, verifiedSubject, verifyAttestationArgs } from '../support/documents.ts';

const test = suite('attestation index');
const exec = promisify(execFile);
const BASE = `bi-test-${RUN_ID}/idxbase:1`;
const INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const ACCEPT = [INDEX, OCI_MANIFEST, 'application/vnd.docker.distribution.manifest.v2+json'].join(', ');
const SPDX = 'https://spdx.dev/Document';
const CYCLONEDX = 'https://cyclonedx.org/bom';
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const KEY_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

let registry: Registry;
let tools: Awaited<ReturnType<typeof ociTools>>;
let dir = '';
const repository = `bi-${RUN_ID}/indexed`;
const ref = (tag: string) => `${registry.address}/${repository}:${tag}`;

const config = `
variables:
  REG: registry
  STAMP: a
credentials:
  - { registry: '\${REG}', usernameVariable: BI_TEST_USER, passwordVariable: BI_TEST_PASSWORD }
images:
  indexed:
    base: ${BASE}
    tags: ['bi-${RUN_ID}/indexed:1']
    deployTags: ['\${REG}/${repository}:1', '\${REG}/${repository}:\${STAMP}']
    steps:
      - run: echo indexed > /indexed
    attestations:
      storage: index
      sign:
        key: { env: BI_TEST_SIGNING_KEY }
        command: ['/bin/sh', '-c', 'echo "$BUILD_IMAGES_REF $BUILD_IMAGES_SUBJECT" >> signed.txt']
  bare:
    base: ${BASE}
    tags: ['\${REG}/bi-${RUN_ID}/bare:1']
    steps:
      - run: echo bare > /bare
    attestations:
      storage: index
      sign: { command: ['/bin/sh', '-c', 'echo "$BUILD_IMAGES_SUBJECT" >> bare-signed.txt'] }
`;

test.before(async () => {
  await requireEngine();
  await ensureStandIns();
  tools = await ociTools((line) => process.stderr.write(`${line}\n`));
  await importImage(BASE, await rootfs(), { [RUN_LABEL]: RUN_ID });
  registry = await startRegistry();
  dir = await project({ 'build.config.yaml': config });
  // What the consumers' tools log in with, as a user's docker login would leave it.
  await mkdir(path.join(dir, 'docker'));
  const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
  await writeFile(path.join(dir, 'docker/config.json'), JSON.stringify({ auths: { [registry.address]: { auth } } }));
  await writeFile(path.join(dir, 'cosign.pub'), publicKey.export({ type: 'spki', format: 'pem' }).toString());
});
test.after(async () => {
  await registry?.stop();
  await cleanup();
});

function run(args: string[]): Promise<CliResult> {
  return cli(['--json', '--metadata-file', 'out/images.json', '--set', `REG=${registry.address}`, ...args], {
    cwd: dir,
    env: {
      BI_TEST_USER: USER,
      BI_TEST_PASSWORD: PASSWORD,
      BI_TEST_SIGNING_KEY: KEY_PEM,
      DOCKER_CONFIG: path.join(dir, 'none'),
      BUILD_IMAGES_CACHE: path.join(dir, 'cache'),
    },
  });
}

async function getJson(reference: string, accept = ACCEPT): Promise<Record<string, unknown>> {
  const pathname = `/v2/${repository}/manifests/${reference}`;
  const response = await fetch(`http://${registry.address}${pathname}`, { headers: { accept, authorization: registry.authorization(pathname) } });
  assert.is(response.status, 200, `${pathname}: HTTP ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

async function blob(digest: string): Promise<string> {
  const { status, body } = await registry.api(`/v2/${repository}/blobs/${digest}`);
  assert.is(status, 200, `blob ${digest}`);
  return body;
}

/** A consumer's tool, logged in through DOCKER_CONFIG. */
async function tool(file: string, args: string[]): Promise<string> {
  const { stdout } = await exec(file, args, { env: { ...process.env, DOCKER_CONFIG: path.join(dir, 'docker') }, cwd: dir, maxBuffer: 16 << 20 });
  return stdout;
}

interface Entry {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string };
  annotations?: Record<string, string>;
}

const events = (result: CliResult, type: string) => result.events.filter((e) => e['type'] === type);
let index = '';
let manifest = '';

test('deploy deploy_latest: every tag names an index of the manifest and its attestation manifest, as BuildKit lays it out', async () => {
  const result = await run(['indexed', 'deploy', 'deploy_latest']);
  assert.is(result.code, 0, result.stderr + result.stdout);
  const pushed = events(result, 'push').find((e) => e['tag'] === ref('1'))!;
  manifest = pushed['digest'] as string;
  assert.match(manifest, /^sha256:[a-f0-9]{64}$/);
  index = await registry.digest(repository, '1');
  assert.is.not(index, manifest, 'the tag names something else than the manifest pushed: the index');
  for (const tag of ['a', 'latest']) assert.is(await registry.digest(repository, tag), index, `${tag} names the same index`);

  const top = await getJson('1');
  assert.is(top['mediaType'], INDEX);
  const [image, attestation, ...more] = top['manifests'] as Entry[];
  assert.equal(more, []);
  assert.is(image!.digest, manifest);
  assert.equal(image!.platform, { os: 'linux', architecture: 'amd64' });
  assert.equal(attestation!.platform, { architecture: 'unknown', os: 'unknown' });
  assert.equal(attestation!.annotations, { 'vnd.docker.reference.digest': manifest, 'vnd.docker.reference.type': 'attestation-manifest' });
  assert.is(attestation!.mediaType, OCI_MANIFEST);

  const att = await getJson(attestation!.digest, OCI_MANIFEST);
  const layers = att['layers'] as Entry[];
  assert.equal(
    layers.map((l) => [l.mediaType, l.annotations?.['in-toto.io/predicate-type']]),
    [
      ['application/vnd.in-toto+json', SPDX],
      ['application/vnd.in-toto+json', CYCLONEDX],
      ['application/vnd.in-toto+json', PROVENANCE],
    ],
  );
  const configDescriptor = att['config'] as Entry;
  assert.is(configDescriptor.mediaType, 'application/vnd.oci.image.config.v1+json');
  assert.equal(JSON.parse(await blob(configDescriptor.digest)), {
    architecture: 'unknown',
    os: 'unknown',
    config: {},
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
  });
  for (const layer of layers) {
    const statement = JSON.parse(await blob(layer.digest)) as { _type: string; subject: { name: string; digest: { sha256: string } }[]; predicateType: string };
    assert.is(statement._type, 'https://in-toto.io/Statement/v1');
    assert.is(statement.predicateType, layer.annotations!['in-toto.io/predicate-type']);
    assert.equal(
      statement.subject.map((s) => `sha256:${s.digest.sha256}`),
      [manifest],
      "each Statement is about the image's manifest",
    );
  }

  // The events and the metadata file: the index is what the tags name, the manifest what was pushed.
  const indexed = events(result, 'index');
  assert.equal(
    indexed.map((e) => [e['tag'], e['digest'], e['manifest']]),
    [ref('1'), ref('a'), ref('latest')].map((tag) => [tag, index, manifest]),
  );
  assert.is(indexed[0]!['attestation'], attestation!.digest, 'made once, then put under the other tags as it is');
  assert.not.ok(indexed[1]!['attestation']);
  const metadata = JSON.parse(await readFile(path.join(dir, 'out/images.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  assert.is(metadata['indexed']!['containerimage.digest'], index);
  const records = metadata['indexed']!['build-images.pushed'] as { tag: string; digest: string; index: string }[];
  assert.equal(
    records.map((r) => [r.tag, r.digest, r.index]),
    [ref('1'), ref('a'), ref('latest')].map((tag) => [tag, manifest, index]),
  );
  // The signing command, per tag pushed: with what the tag names now, the index.
  assert.equal(
    (await readFile(path.join(dir, 'signed.txt'), 'utf8')).trim().split('\n'),
    [ref('1'), ref('a'), ref('latest')].map((tag) => `${tag} ${registry.address}/${repository}@${index}`),
  );
  // No document referrer: they are in the index. The signatures hang off the manifest.
  const referrers = events(result, 'referrers');
  assert.equal(
    referrers.map((e) => e['subject']),
    [`${registry.address}/${repository}@${manifest}`],
  );
  assert.equal(
    (referrers[0]!['referrers'] as { artifactType: string }[]).map((r) => r.artifactType),
    Array(3).fill('application/vnd.dev.sigstore.bundle.v0.3+json'),
  );
});

test('a re-run that asks the engine, not the registry: each tag is present (its index holds the manifest pushed), not pushed over', async () => {
  assert.ok(index, 'the deploy test ran first');
  const result = await run(['--no-registry-check', 'indexed', 'deploy']);
  assert.is(result.code, 0, result.stderr + result.stdout);
  assert.equal(
    events(result, 'push').map((e) => [e['tag'], e['status'], e['digest']]),
    [ref('1'), ref('a')].map((tag) => [tag, 'present', manifest]),
  );
  for (const tag of ['1', 'a']) assert.is(await registry.digest(repository, tag), index);
});

test('docker buildx imagetools inspect reads the SBOM and the provenance from the index', async () => {
  assert.ok(index, 'the deploy test ran first');
  const sbom = JSON.parse(await tool(tools['docker-buildx'], ['imagetools', 'inspect', ref('1'), '--format', '{{json .SBOM}}'])) as {
    SPDX: { spdxVersion: string; name: string };
  };
  assert.is(sbom.SPDX.spdxVersion, 'SPDX-2.3');
  const provenance = JSON.parse(await tool(tools['docker-buildx'], ['imagetools', 'inspect', ref('latest'), '--format', '{{json .Provenance}}'])) as {
    SLSA: { buildDefinition: { buildType: string; externalParameters: { image: string } } };
  };
  assert.is(provenance.SLSA.buildDefinition.buildType, 'https://github.com/build-images/build-images/blob/main/README.md#provenance-build-type-v1');
  assert.is(provenance.SLSA.buildDefinition.externalParameters.image, 'indexed');
});

test("cosign verify-attestation: the Statements' signatures still hang off the manifest", async () => {
  assert.ok(manifest, 'the deploy test ran first');
  for (const type of [PROVENANCE, 'spdxjson']) {
    const verified = await tool(tools.cosign, verifyAttestationArgs(`${registry.address}/${repository}@${manifest}`, type));
    assert.is(verifiedSubject(verified), manifest);
  }
  // Of the tag, cosign finds nothing (README says so): it resolves the tag to the index, which no Statement names.
  const ofTag = await tool(tools.cosign, verifyAttestationArgs(ref('1'))).then(
    () => 'verified',
    (err: { stderr?: string }) => `refused: ${err.stderr ?? ''}`,
  );
  assert.match(ofTag, /^refused: .*no matching attestations/is);
});

test('the tag pulls and runs: the engine picks the image out of the index, never the attestation manifest', async () => {
  assert.ok(index, 'the deploy test ran first');
  // Gone from the engine, so that the pull fetches it.
  await docker.getImage(`bi-${RUN_ID}/indexed:1`).remove({ force: true });
  const pulling = await docker.pull(ref('1'), { authconfig: { username: USER, password: PASSWORD, serveraddress: registry.address } });
  await new Promise((resolve, reject) => docker.modem.followProgress(pulling, (err: Error | null) => (err ? reject(err) : resolve(undefined))));
  const pulled = await docker.getImage(ref('1')).inspect();
  assert.equal(pulled.Architecture, 'amd64');
  const { code, output } = await runIn(ref('1'), ['cat', '/indexed']);
  assert.is(code, 0);
  assert.is(output.trim(), 'indexed');
});

test('a second run: up to date in the registry through the index; a new tag gets the same index, nothing made or signed again', async () => {
  assert.ok(index, 'the deploy test ran first');
  const result = await run(['--set', 'STAMP=b', 'indexed', 'deploy']);
  assert.is(result.code, 0, result.stderr + result.stdout);
  const finish = events(result, 'finish')[0]!;
  assert.equal(finish['registry'], { name: registry.address, digest: manifest }, 'the platform manifest out of the index carries the inputs digest');
  assert.equal(
    events(result, 'push').map((e) => [e['tag'], e['status']]),
    [
      [ref('1'), 'present'],
      [ref('b'), 'tagged'],
    ],
  );
  assert.is(await registry.digest(repository, '1'), index);
  assert.is(await registry.digest(repository, 'b'), index, 'the new tag names the same index');
  assert.ok(
    events(result, 'index').every((e) => e['digest'] === index && !e['attestation']),
    JSON.stringify(events(result, 'index')),
  );
  assert.equal(events(result, 'referrers'), [], 'nothing signed again');
  const commands = (await readFile(path.join(dir, 'signed.txt'), 'utf8')).trim().split('\n');
  assert.is(commands.at(-1), `${ref('b')} ${registry.address}/${repository}@${index}`, 'the signing command ran for the new tag only');
  assert.is(commands.length, 4);
  const metadata = JSON.parse(await readFile(path.join(dir, 'out/images.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  assert.is(metadata['indexed']!['containerimage.digest'], index);
});

test('no documents (--sbom=false --provenance=false): no index, the tag stays the manifest pushed, which the signing command signs', async () => {
  const result = await run(['--sbom=false', '--provenance=false', 'bare', 'deploy']);
  assert.is(result.code, 0, result.stderr + result.stdout);
  const pushed = events(result, 'push')[0]!;
  assert.is(await registry.digest(`bi-${RUN_ID}/bare`, '1'), pushed['digest']);
  assert.equal(events(result, 'index'), []);
  assert.is((await readFile(path.join(dir, 'bare-signed.txt'), 'utf8')).trim(), `${registry.address}/bi-${RUN_ID}/bare@${pushed['digest'] as string}`);
});

test.run();
