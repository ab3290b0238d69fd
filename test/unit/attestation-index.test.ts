// BuildKit's attestation layout as data (registry/attestation-index.ts, attest/statements.ts): the index of
// several platforms' manifests (multi-platform images give it more than one), each followed by its
// attestation manifest, and what tells an index of this layout from another.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import type { AttestationDocument } from '../../pipeline/attest/attestation.ts';
import { statementsOf } from '../../pipeline/attest/statements.ts';
import { attestationIndex, describesManifest, runnableManifests } from '../../pipeline/registry/attestation-index.ts';
import { prepareText, problemsOf, yaml } from '../support/config.ts';

const test = suite('attestation index');
const sha = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const DOCKER = 'application/vnd.docker.distribution.manifest.v2+json';

const statement = (predicateType: string) => ({ predicateType, body: Buffer.from(JSON.stringify({ predicateType })) });

test('two platforms: both manifests first, in order, then one attestation manifest each, unknown/unknown and annotated with its manifest', () => {
  const built = attestationIndex([
    { manifest: { mediaType: DOCKER, digest: digest('a'), size: 10 }, platform: { os: 'linux', architecture: 'amd64' }, statements: [statement('p1')] },
    {
      manifest: { mediaType: DOCKER, digest: digest('b'), size: 11 },
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
      statements: [statement('p1'), statement('p2')],
    },
  ]);
  const index = JSON.parse(built.bytes.toString()) as { mediaType: string; manifests: Record<string, unknown>[] };
  assert.is(built.digest, sha(built.bytes));
  assert.is(index.mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.equal(
    index.manifests.map((m) => [m['digest'], m['platform']]),
    [
      [digest('a'), { os: 'linux', architecture: 'amd64' }],
      [digest('b'), { os: 'linux', architecture: 'arm64', variant: 'v8' }],
      [built.attestations[0]!.descriptor.digest, { architecture: 'unknown', os: 'unknown' }],
      [built.attestations[1]!.descriptor.digest, { architecture: 'unknown', os: 'unknown' }],
    ],
  );
  assert.equal(index.manifests[3]!['annotations'], { 'vnd.docker.reference.digest': digest('b'), 'vnd.docker.reference.type': 'attestation-manifest' });
  const second = built.attestations[1]!;
  const manifest = JSON.parse(second.bytes.toString()) as { config: { digest: string }; layers: { digest: string; annotations: Record<string, string> }[] };
  assert.is(second.descriptor.digest, sha(second.bytes));
  assert.equal(
    manifest.layers.map((l) => l.annotations['in-toto.io/predicate-type']),
    ['p1', 'p2'],
  );
  // Every blob it names is among those uploaded before it, by the digest of its bytes.
  assert.equal(
    second.blobs.map((b) => b.digest),
    [manifest.config.digest, ...manifest.layers.map((l) => l.digest)],
  );
  for (const b of second.blobs) assert.is(b.digest, sha(b.bytes));
  assert.ok(describesManifest(index, digest('a')) && describesManifest(index, digest('b')));
  assert.equal(
    runnableManifests(index).map((m) => m.digest),
    [digest('a'), digest('b')],
  );
});

test('an index that names the manifest without an attestation manifest for it, or only as one, is not this layout for it', () => {
  const plain = { manifests: [{ digest: digest('a'), platform: { os: 'linux', architecture: 'amd64' } }] };
  assert.not.ok(describesManifest(plain, digest('a')));
  const other = {
    manifests: [
      { digest: digest('a'), platform: { os: 'linux', architecture: 'amd64' } },
      {
        digest: digest('c'),
        platform: { os: 'unknown', architecture: 'unknown' },
        annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': digest('b') },
      },
    ],
  };
  assert.not.ok(describesManifest(other, digest('a')));
  assert.not.ok(describesManifest(other, digest('c')));
  assert.not.ok(describesManifest('not an index', digest('a')));
});

test('the documents as Statements: the provenance as it is, each SBOM the predicate of a Statement about the subject', () => {
  const doc = (kind: AttestationDocument['kind'], body: unknown, extra: Partial<AttestationDocument> = {}): AttestationDocument => ({
    kind,
    artifactType: 'x',
    mediaType: 'x',
    body: Buffer.from(JSON.stringify(body)),
    fileName: `i.${kind}.json`,
    annotations: {},
    ...extra,
  });
  const provenance = doc('provenance', { _type: 'https://in-toto.io/Statement/v1' }, { statement: { predicateType: 'https://slsa.dev/provenance/v1' } });
  const statements = statementsOf([doc('spdx', { spdxVersion: 'SPDX-2.3' }), doc('cyclonedx', { bomFormat: 'CycloneDX' }), provenance], {
    repository: 'reg:5000/px/one',
    digest: digest('a'),
  });
  assert.equal(
    statements.map((s) => s.predicateType),
    ['https://spdx.dev/Document', 'https://cyclonedx.org/bom', 'https://slsa.dev/provenance/v1'],
  );
  assert.is(statements[2]!.body, provenance.body);
  assert.equal(JSON.parse(Buffer.from(statements[0]!.body).toString()), {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'reg:5000/px/one', digest: { sha256: 'a'.repeat(64) } }],
    predicateType: 'https://spdx.dev/Document',
    predicate: { spdxVersion: 'SPDX-2.3' },
  });
});

test("attestations.storage: the image's over the top level's, referrers when neither says; anything else refused at its line", () => {
  const prepared = prepareText(yaml`
attestations: { storage: index }
images:
  a: { base: 'alpine:latest', tags: ['reg.test/a:1'] }
  b: { base: 'alpine:latest', tags: ['reg.test/b:1'], attestations: { storage: referrers } }
`);
  assert.is(prepared.plan.images.get('a')!.attestationStorage, 'index');
  assert.is(prepared.plan.images.get('b')!.attestationStorage, undefined);
  const own = prepareText(yaml`
images:
  a: { base: 'alpine:latest', tags: ['reg.test/a:1'], attestations: { storage: index } }
  b: { base: 'alpine:latest', tags: ['reg.test/b:1'] }
`);
  assert.is(own.plan.images.get('a')!.attestationStorage, 'index');
  assert.is(own.plan.images.get('b')!.attestationStorage, undefined);
  const problems = problemsOf(yaml`
images:
  a: { base: 'alpine:latest', tags: ['reg.test/a:1'], attestations: { storage: oci } }
`);
  assert.ok(problems.length > 0 && problems[0]!.startsWith('2:'), problems.join('\n'));
});

test.run();
