// What deploy hangs off a pushed image (issue 22): each document as an OCI 1.1 referrer, each Statement's
// signature as a sigstore bundle, the referrers index at tag sha256-<hex> on Debian's docker-registry (2.8:
// no Referrers API) written in one PUT; read back the way a consumer would, with `oras discover` and
// `cosign verify-attestation` (Debian sid's packages, test/support/oci-tools.ts), against basic and bearer
// realms. The run is in-process (the documents come from the test: the SBOM and provenance themselves are
// attest/'s), with the real services against a private engine and the real registry.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type { AttestationDocument, DocumentsFor } from '../../pipeline/attest/attestation.ts';
import { prepare } from '../../pipeline/config/prepare.ts';
import { givenValues } from '../../pipeline/model/given-values.ts';
import { planPhases } from '../../pipeline/plan/phases.ts';
import { attachReferrers } from '../../pipeline/registry/referrers.ts';
import { remoteManifest } from '../../pipeline/registry/registry-images.ts';
import { createServices } from '../../pipeline/run/create-services.ts';
import type { RunEvent } from '../../pipeline/run/events.ts';
import { runPhases } from '../../pipeline/run/run-phases.ts';
import { cli, project } from '../support/cli.ts';
import { cleanup, ensureStandIns, importImage, requireEngine, rootfs, RUN_ID, RUN_LABEL } from '../support/engine.ts';
import { runOptions } from '../support/fake-engine.ts';
import { ociTools } from '../support/oci-tools.ts';
import { flakyProxy, PASSWORD, startRegistry, USER, type RecordingProxy, type Registry } from '../support/registry.ts';
import { PROVENANCE, verifiedSubject, verifyAttestationArgs } from '../support/documents.ts';

const test = suite('referrers');
const exec = promisify(execFile);
const BASE = `bi-test-${RUN_ID}/refbase:1`;
// The suite's secret vectors (registry.ts's password, secrets.test.ts's token) and the signing key.
const TOKEN = 'tok-3f9a1c7e-not-for-layers';
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const KEY_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PUB_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const KEY_BODY = KEY_PEM.split('\n')[1]!;
const INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

let basic: Registry;
let token: Registry;
let proxy: RecordingProxy;
let tools: { cosign: string; oras: string };
let dir = '';

const config = `
variables:
  REG: registry
  TOKEN_REG: registry
  TAG: '1'
credentials:
  - { registry: '\${REG}', usernameVariable: BI_TEST_USER, passwordVariable: BI_TEST_PASSWORD }
  - { registry: '\${TOKEN_REG}', usernameVariable: BI_TEST_USER, passwordVariable: BI_TEST_PASSWORD }
attestations:
  sign:
    key: { env: BI_TEST_SIGNING_KEY }
images:
  one:
    base: ${BASE}
    tags: ['\${REG}/bi-${RUN_ID}/one:\${TAG}']
    steps:
      - run: echo one > /one
  two:
    base: ${BASE}
    tags: ['\${TOKEN_REG}/bi-${RUN_ID}/two:1']
    steps:
      - run: echo two > /two
    attestations:
      sign:
        command: ['/bin/sh', '-c', 'echo "$BUILD_IMAGES_REF $BUILD_IMAGES_DIGEST $BUILD_IMAGES_SUBJECT" >> signed.txt']
  three:
    base: ${BASE}
    tags: ['\${REG}/bi-${RUN_ID}/three:1']
    steps:
      - run: echo three > /three
    attestations: { signFormat: legacy }
  four:
    base: ${BASE}
    tags: ['\${REG}/bi-${RUN_ID}/four:1']
    steps:
      - run: echo four > /four
    attestations:
      sign:
        command: ['/bin/sh', '-c', 'echo "$BUILD_IMAGES_SUBJECT" >> four-signed.txt; echo "careless: $BI_TEST_SIGNING_KEY"']
`;

test.before(async () => {
  await requireEngine();
  await ensureStandIns();
  tools = await ociTools((line) => process.stderr.write(`${line}\n`));
  await importImage(BASE, await rootfs(), { [RUN_LABEL]: RUN_ID });
  basic = await startRegistry();
  token = await startRegistry({ token: true });
  // Every request to the basic registry recorded: how often the referrers tag was written.
  proxy = await flakyProxy(basic.address, { failOnce: false });
  dir = await project({ 'build.config.yaml': config });
  // What cosign and oras log in with, as a user's docker login would leave it.
  const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
  await mkdir(path.join(dir, 'docker'));
  await writeFile(path.join(dir, 'docker/config.json'), JSON.stringify({ auths: { [proxy.address]: { auth }, [token.address]: { auth } } }));
  await writeFile(path.join(dir, 'cosign.pub'), PUB_PEM);
});
test.after(async () => {
  await proxy?.stop();
  await basic?.stop();
  await token?.stop();
  await cleanup();
});

/** The test's documents: an SPDX-shaped SBOM and an in-toto Statement v1 whose subject is the pushed digest. */
const documents: DocumentsFor = async (image, subject) => {
  const hex = subject.digest.slice('sha256:'.length);
  const spdx = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: image,
    documentNamespace: `https://build-images.test/spdx/${image}/${hex}`,
    creationInfo: { created: '2026-01-01T00:00:00Z', creators: ['Tool: build-images'] },
    packages: [{ name: image, SPDXID: 'SPDXRef-image', downloadLocation: 'NOASSERTION', externalRefs: [] }],
  };
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: subject.repository, digest: { sha256: hex } }],
    predicateType: PROVENANCE,
    predicate: { buildDefinition: { buildType: 'https://build-images.test/v1', externalParameters: {} }, runDetails: { builder: { id: 'build-images' } } },
  };
  const doc = (kind: AttestationDocument['kind'], type: string, body: unknown, extra: Partial<AttestationDocument> = {}): AttestationDocument => ({
    kind,
    artifactType: type,
    mediaType: type,
    body: Buffer.from(JSON.stringify(body)),
    fileName: `${image}.${kind}.json`,
    annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
    ...extra,
  });
  return [
    doc('spdx', 'application/spdx+json', spdx),
    doc('provenance', 'application/vnd.in-toto+json', statement, { statement: { predicateType: PROVENANCE } }),
  ];
};

async function run(targets: string[], { key = KEY_PEM, tag = '1' } = {}): Promise<{ events: RunEvent[]; ok: boolean }> {
  const events: RunEvent[] = [];
  const env = { BI_TEST_USER: USER, BI_TEST_PASSWORD: PASSWORD, BI_TEST_SIGNING_KEY: key, BI_TEST_TOKEN: TOKEN };
  Object.assign(process.env, env, { DOCKER_CONFIG: path.join(dir, 'none') });
  const prepared = await prepare({ file: path.join(dir, 'build.config.yaml'), sets: { REG: proxy.address, TOKEN_REG: token.address, TAG: tag } });
  const { phases, selected } = planPhases(prepared.graph, targets);
  const services = await createServices({
    projectDir: dir,
    offline: false,
    updateLock: false,
    signal: new AbortController().signal,
    secrets: prepared.config.secrets,
    credentials: prepared.credentials,
    given: givenValues(prepared.variables, process.env),
    engine: { builder: (process.env['BUILD_IMAGES_BUILDER'] || undefined) as 'classic' | 'buildkit' | undefined },
    emit: (event) => events.push(event),
  });
  const cwd = process.cwd();
  // The signing command runs where the tool was started: the project, as a user's would.
  process.chdir(dir);
  try {
    const outcome = await runPhases(
      prepared.plan,
      phases,
      selected,
      { ...services, documents },
      runOptions({ projectDir: dir, extraLabels: { [RUN_LABEL]: RUN_ID } }),
    );
    return { events, ok: outcome.ok };
  } finally {
    process.chdir(cwd);
  }
}

const referrerEvents = (events: RunEvent[]) => events.filter((e): e is Extract<RunEvent, { type: 'referrers' }> => e.type === 'referrers');

async function getJson(registry: Registry, address: string, repository: string, reference: string, accept: string) {
  const pathname = `/v2/${repository}/manifests/${reference}`;
  const response = await fetch(`http://${address}${pathname}`, { headers: { accept, authorization: registry.authorization(pathname) } });
  return { status: response.status, json: (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined };
}

async function tool(file: string, args: string[]): Promise<string> {
  const { stdout } = await exec(file, args, {
    env: { ...process.env, DOCKER_CONFIG: path.join(dir, 'docker'), COSIGN_PASSWORD: '' },
    cwd: dir,
    maxBuffer: 16 << 20,
  });
  return stdout;
}

let subjectOne = '';

test('deploy: every document and its signature a referrer of the pushed manifest; the referrers tag written once; oras and cosign read them', async () => {
  const { events, ok } = await run(['one', 'two', 'deploy']);
  assert.ok(ok);
  const failures = events.filter((e) => (e.type === 'referrers' && e.error) || (e.type === 'push' && e.status === 'failed') || (e.type === 'action' && !e.ok));
  assert.equal(failures, [], JSON.stringify(failures));
  const attached = referrerEvents(events);
  assert.is(attached.length, 2, JSON.stringify(attached));

  const repository = `bi-${RUN_ID}/one`;
  const pushed = events.find((e): e is Extract<RunEvent, { type: 'push' }> => e.type === 'push' && e.image === 'one')!;
  const digest = await basic.digest(repository, '1');
  subjectOne = digest;
  assert.is(pushed.digest, digest, "the image's digest is the one the engine pushed: attaching did not change it");
  const one = attached.find((e) => e.image === 'one')!;
  assert.is(one.subject, `${proxy.address}/${repository}@${digest}`);
  assert.equal(
    one.referrers.map((r) => r.artifactType),
    ['application/spdx+json', 'application/vnd.in-toto+json', 'application/vnd.dev.sigstore.bundle.v0.3+json'],
  );
  const tag = digest.replace(':', '-');
  assert.is(one.fallbackTag, tag);

  // The image's manifest is as the engine pushed it: a single-platform manifest, no index.
  const image = await getJson(basic, basic.address, repository, '1', [INDEX, MANIFEST, 'application/vnd.docker.distribution.manifest.v2+json'].join(', '));
  assert.ok(!('manifests' in image.json!), 'the tag still names a manifest, not an index');

  // The referrers index, read as a consumer would; one PUT of it.
  const index = await getJson(basic, basic.address, repository, tag, INDEX);
  assert.is(index.status, 200);
  const entries = index.json!['manifests'] as { digest: string; artifactType: string; annotations?: Record<string, string> }[];
  assert.equal(
    entries.map((e) => e.digest),
    one.referrers.map((r) => r.digest),
  );
  assert.is(entries[2]!.annotations!['dev.sigstore.bundle.predicateType'], PROVENANCE, "each entry carries its referrer's annotations");
  const tagPuts = proxy.requests().filter((r) => r.startsWith(`PUT /v2/${repository}/manifests/${tag}`));
  assert.is(tagPuts.length, 1, tagPuts.join('\n'));

  // Each referrer: the empty config, one layer, the subject.
  for (const entry of entries) {
    const manifest = (await getJson(basic, basic.address, repository, entry.digest, MANIFEST)).json!;
    assert.equal(manifest['config'], {
      mediaType: 'application/vnd.oci.empty.v1+json',
      digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
      size: 2,
    });
    assert.is((manifest['subject'] as { digest: string }).digest, digest);
    assert.is((manifest['layers'] as unknown[]).length, 1);
  }

  // oras discover finds them through the referrers tag.
  const discovered = JSON.parse(await tool(tools.oras, ['discover', '--plain-http', '--format', 'json', `${proxy.address}/${repository}@${digest}`])) as {
    referrers: { artifactType: string }[];
  };
  assert.equal(discovered.referrers.map((r) => r.artifactType).sort(), one.referrers.map((r) => r.artifactType).sort());

  // cosign 3 verifies the signed Statement offline with the public key, and prints the Statement.
  const verified = await tool(tools.cosign, verifyAttestationArgs(`${proxy.address}/${repository}@${digest}`));
  assert.is(verifiedSubject(verified), digest, "the verified Statement's subject is the pushed digest");

  // The bearer-token registry: the same, and the signing command ran once with the tag and the digest.
  const twoRepository = `bi-${RUN_ID}/two`;
  const twoDigest = await token.digest(twoRepository, '1');
  const two = attached.find((e) => e.image === 'two')!;
  assert.is(two.fallbackTag, twoDigest.replace(':', '-'));
  const twoIndex = await getJson(token, token.address, twoRepository, twoDigest.replace(':', '-'), INDEX);
  assert.is((twoIndex.json!['manifests'] as unknown[]).length, 3);
  await tool(tools.cosign, verifyAttestationArgs(`${token.address}/${twoRepository}@${twoDigest}`));
  const signed = (await readFile(path.join(dir, 'signed.txt'), 'utf8')).trim().split('\n');
  assert.equal(signed, [`${token.address}/${twoRepository}:1 ${twoDigest} ${token.address}/${twoRepository}@${twoDigest}`]);

  // No secret anywhere: not in an event, not in a document or signature the registry holds.
  const seen = [JSON.stringify(events)];
  for (const [registry, address, repo, list] of [
    [basic, basic.address, repository, entries],
    [token, token.address, twoRepository, twoIndex.json!['manifests'] as { digest: string }[]],
  ] as const) {
    for (const entry of list) {
      const manifest = (await getJson(registry, address, repo, entry.digest, MANIFEST)).json!;
      seen.push(JSON.stringify(manifest));
      for (const layer of manifest['layers'] as { digest: string }[]) seen.push((await registry.api(`/v2/${repo}/blobs/${layer.digest}`)).body);
    }
  }
  for (const secret of [PASSWORD, TOKEN, KEY_BODY, Buffer.from(`${USER}:${PASSWORD}`).toString('base64')]) {
    assert.ok(!seen.some((text) => text.includes(secret)), `a secret (${secret.slice(0, 4)}…) is in an event or a referrer`);
  }
});

test('deploy_latest: latest names the same digest, so its referrers are found from it', async () => {
  assert.ok(subjectOne, 'the deploy test ran first');
  const { events } = await run(['one', 'deploy_latest']);
  const repository = `bi-${RUN_ID}/one`;
  assert.is(await basic.digest(repository, 'latest'), subjectOne);
  assert.equal(referrerEvents(events), [], 'nothing attached again: the referrers hang off the digest');
  const discovered = JSON.parse(await tool(tools.oras, ['discover', '--plain-http', '--format', 'json', `${proxy.address}/${repository}:latest`])) as {
    referrers: unknown[];
  };
  assert.is(discovered.referrers.length, 3);
});

test("a second attach merges into the referrers tag: another tool's referrer (oras attach) is kept, one more PUT", async () => {
  assert.ok(subjectOne, 'the deploy test ran first');
  const repository = `bi-${RUN_ID}/one`;
  const ref = `${proxy.address}/${repository}@${subjectOne}`;
  await writeFile(path.join(dir, 'note.txt'), 'reviewed\n');
  await tool(tools.oras, ['attach', '--plain-http', '--artifact-type', 'application/vnd.test.note', ref, 'note.txt']);
  const before = (await getJson(basic, basic.address, repository, subjectOne.replace(':', '-'), INDEX)).json!['manifests'] as { digest: string }[];
  assert.is(before.length, 4, "oras added its referrer to the tag's index");
  const credentials = { registry: proxy.address, username: USER, password: PASSWORD };
  const subject = (await remoteManifest(`${proxy.address}/${repository}:1`, credentials))!;
  assert.is(subject.digest, subjectOne);
  const outcome = await attachReferrers(
    { repository: `${proxy.address}/${repository}`, ...subject },
    [{ artifactType: 'application/vnd.test.extra', mediaType: 'application/json', body: Buffer.from('{"extra":true}'), annotations: {} }],
    credentials,
  );
  const after = (await getJson(basic, basic.address, repository, subjectOne.replace(':', '-'), INDEX)).json!['manifests'] as { digest: string }[];
  assert.equal(
    after.map((e) => e.digest),
    [...before.map((e) => e.digest), outcome.referrers[0]!.digest],
  );
});

test("signFormat: legacy: the signed Statement in cosign's .att tag (cosign 3 reads it with --new-bundle-format=false), the documents still referrers", async () => {
  const { events, ok } = await run(['three', 'deploy']);
  assert.ok(ok, JSON.stringify(referrerEvents(events)));
  const repository = `bi-${RUN_ID}/three`;
  const digest = await basic.digest(repository, '1');
  const [three] = referrerEvents(events);
  assert.equal(
    three!.referrers.map((r) => r.artifactType),
    ['application/spdx+json', 'application/vnd.in-toto+json'],
    'no bundle referrer',
  );
  const att = `${digest.replace(':', '-')}.att`;
  assert.is(three!.attestationTag, att);
  assert.ok((await basic.allTags(repository)).includes(att));
  const manifest = (await getJson(basic, basic.address, repository, att, MANIFEST)).json!;
  const layers = manifest['layers'] as { mediaType: string; annotations: Record<string, string> }[];
  assert.equal(
    layers.map((l) => [l.mediaType, l.annotations['predicateType']]),
    [['application/vnd.dsse.envelope.v1+json', PROVENANCE]],
  );
  const verified = await tool(tools.cosign, verifyAttestationArgs(`${proxy.address}/${repository}@${digest}`, PROVENANCE, ['--new-bundle-format=false']));
  assert.is(verifiedSubject(verified), digest);
});

test('the built command: deploy runs the signing command with the pushed digest (no documents yet from the command line)', async () => {
  const result = await cli(['--json', '--verbose', '--set', `REG=${proxy.address}`, '--set', `TOKEN_REG=${token.address}`, 'four', 'deploy'], {
    cwd: dir,
    env: { BI_TEST_USER: USER, BI_TEST_PASSWORD: PASSWORD, BI_TEST_SIGNING_KEY: KEY_PEM, DOCKER_CONFIG: path.join(dir, 'none') },
  });
  assert.is(result.code, 0, result.stderr + result.stdout);
  const repository = `bi-${RUN_ID}/four`;
  const digest = await basic.digest(repository, '1');
  assert.equal((await readFile(path.join(dir, 'four-signed.txt'), 'utf8')).trim().split('\n'), [`${proxy.address}/${repository}@${digest}`]);
  assert.ok(result.stdout.includes('careless: '), "the command's output is in the log");
  for (const line of KEY_PEM.split('\n').filter((l) => l && !l.startsWith('-----'))) {
    assert.not.ok(result.stdout.includes(line) || result.stderr.includes(line), 'the key, printed by a careless command, is masked');
  }
});

test('a signing key that is no key fails the deploy, saying where it came from; the key is in no event', async () => {
  const hostile = `-----BEGIN PRIVATE KEY-----\n${TOKEN}\n-----END PRIVATE KEY-----\n`;
  const { events, ok } = await run(['one', 'deploy'], { key: hostile, tag: '2' });
  assert.not.ok(ok, 'the run failed');
  const failed = referrerEvents(events).find((e) => e.error);
  assert.ok(failed, JSON.stringify(referrerEvents(events)));
  assert.match(failed.error!, /the signing key in \$BI_TEST_SIGNING_KEY is not a private key in PEM/);
  assert.not.ok(JSON.stringify(events).includes(TOKEN), 'the key is in no event');
});

test('a registry with the Referrers API (it answers OCI-Subject): no referrers tag is written', async () => {
  assert.ok(subjectOne, 'the deploy test ran first');
  // In front of 2.8, the header that distribution-spec 1.1 registries send on a manifest put with a subject.
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const [host, port] = basic.address.split(':');
      const upstream = http.request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (answer) => {
        const headers = { ...answer.headers };
        const subject =
          req.method === 'PUT' && req.url?.includes('/manifests/')
            ? (JSON.parse(body.toString() || '{}') as { subject?: { digest: string } }).subject
            : undefined;
        if (subject) headers['oci-subject'] = subject.digest;
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.writeHead(502).end());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const repository = `bi-${RUN_ID}/one`;
    const credentials = { registry: address, username: USER, password: PASSWORD };
    const tag = subjectOne.replace(':', '-');
    const before = (await getJson(basic, basic.address, repository, tag, INDEX)).json!['manifests'] as unknown[];
    const subject = (await remoteManifest(`${address}/${repository}:1`, credentials))!;
    const outcome = await attachReferrers(
      { repository: `${address}/${repository}`, ...subject },
      [{ artifactType: 'application/vnd.test.api', mediaType: 'application/json', body: Buffer.from('{"api":true}'), annotations: {} }],
      credentials,
    );
    assert.is(outcome.fallbackTag, undefined);
    assert.is(outcome.referrers.length, 1);
    const after = (await getJson(basic, basic.address, repository, tag, INDEX)).json!['manifests'] as unknown[];
    assert.is(after.length, before.length, 'the referrers tag was left as it was');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test.run();
