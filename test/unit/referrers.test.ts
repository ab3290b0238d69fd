// The referrers' shapes (OCI image-spec 1.1 artifact guidance, distribution-spec's referrers tag schema), the
// merge of the referrers index, the signing key's refusals (which never show the key), and the plan's
// `sign` from the config's two levels.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync, verify } from 'node:crypto';
import { fallbackTag, mergedReferrersIndex, referrerManifest, sha256 } from '../../pipeline/registry/referrer-manifests.ts';
import { BUNDLE_TYPE, publicKeyPem, signingKey, signStatement } from '../../pipeline/attest/sign-statement.ts';
import { RunError } from '../../pipeline/model/errors.ts';
import { prepareText, problemsOf, yaml } from '../support/config.ts';
import { attachDocuments } from '../../pipeline/run/attach-documents.ts';
import type { RunEvent } from '../../pipeline/run/events.ts';
import { attachReferrers } from '../../pipeline/registry/referrers.ts';
import { loopback } from '../support/loopback.ts';

const SUBJECT = {
  repository: 'reg.test/px/px-oci-mon',
  digest: `sha256:${'a'.repeat(64)}`,
  mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
  size: 1234,
};

test('a referrer: the empty config, the document as its one layer, the subject as pushed, artifactType and annotations', () => {
  const body = Buffer.from('{"spdxVersion":"SPDX-2.3"}');
  const made = referrerManifest({ artifactType: 'application/spdx+json', mediaType: 'application/spdx+json', body, annotations: { a: 'b' } }, SUBJECT);
  const manifest = JSON.parse(made.bytes.toString()) as Record<string, unknown>;
  assert.equal(manifest, {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/spdx+json',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 },
    layers: [{ mediaType: 'application/spdx+json', digest: sha256(body), size: body.length }],
    subject: { mediaType: SUBJECT.mediaType, digest: SUBJECT.digest, size: 1234 },
    annotations: { a: 'b' },
  });
  assert.equal(made.descriptor, {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: sha256(made.bytes),
    size: made.bytes.length,
    artifactType: 'application/spdx+json',
    annotations: { a: 'b' },
  });
  assert.equal(
    made.blobs.map((b) => Buffer.from(b.bytes).toString()),
    ['{}', body.toString()],
  );
});

test("the referrers tag is the subject's digest with '-' for ':'", () => {
  assert.is(fallbackTag(SUBJECT.digest), `sha256-${'a'.repeat(64)}`);
});

test('the referrers index: what another tool put there kept first, ours added once, nothing to write when nothing is new', () => {
  const theirs = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'b'.repeat(64)}`, size: 10, artifactType: 'x' };
  const ours = {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${'c'.repeat(64)}`,
    size: 11,
    artifactType: 'y',
    annotations: { k: 'v' },
  };
  const fresh = JSON.parse(mergedReferrersIndex(undefined, [ours])!.toString()) as { manifests: unknown[] };
  assert.equal(fresh, { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [ours] });
  const existing = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [theirs] };
  const merged = JSON.parse(mergedReferrersIndex(existing, [ours, ours])!.toString()) as { manifests: unknown[] };
  assert.equal(merged.manifests, [theirs, ours]);
  assert.is(mergedReferrersIndex({ ...existing, manifests: [theirs, ours] }, [ours]), undefined);
});

test('a signing key that is not an unencrypted P-256 PEM is refused, naming where it came from and never showing it', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cosignKey = '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnsibmFtZSI6InNjcnlwdCJ9fQ==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n';
  const garbage = 'S3cret-pa55-do-not-print';
  for (const [pem, said] of [
    [rsa, /is not an ECDSA P-256 key \(rsa\)/],
    [p384, /is not an ECDSA P-256 key \(ec\)/],
    [cosignKey, /cosign's encrypted key format/],
    [garbage, /is not a private key in PEM/],
  ] as const) {
    try {
      signingKey(pem, '$SIGNING_KEY');
      assert.unreachable('accepted');
    } catch (err) {
      assert.instance(err, RunError);
      const { message, hint } = err as RunError;
      assert.match(message, said);
      assert.match(message, /\$SIGNING_KEY/);
      const text = `${message} ${hint ?? ''}`;
      for (const line of pem.split('\n').filter((l) => l.length > 8 && !l.startsWith('-----'))) assert.not.ok(text.includes(line), 'the key is not shown');
      assert.not.ok(text.includes(garbage));
    }
  }
});

test("a Statement signed: a sigstore v0.3 bundle whose DSSE signature the public key verifies over the envelope's PAE", async () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const key = signingKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'test');
  const statement = Buffer.from('{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"p","predicate":{}}');
  const bundle = JSON.parse((await signStatement(statement, key)).toString()) as {
    mediaType: string;
    dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string; keyid: string }[] };
  };
  assert.is(bundle.mediaType, BUNDLE_TYPE);
  assert.is(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString(), statement.toString());
  assert.is(bundle.dsseEnvelope.payloadType, 'application/vnd.in-toto+json');
  const type = bundle.dsseEnvelope.payloadType;
  const pae = Buffer.from(`DSSEv1 ${type.length} ${type} ${statement.length} ${statement.toString()}`);
  assert.ok(verify('sha256', pae, publicKeyPem(key), Buffer.from(bundle.dsseEnvelope.signatures[0]!.sig, 'base64')));
  assert.not.ok(bundle.dsseEnvelope.signatures[0]!.keyid, 'no keyid: cosign 3 then matches no signature to --key');
});

test("attestations.sign: an image's keys over the top level's, a key file made absolute; an unknown key refused", () => {
  const prepared = prepareText(yaml`
attestations:
  sign: { key: { file: keys/signing.pem }, command: [cosign, sign] }
images:
  a: { base: 'alpine:latest', tags: ['reg.test/a:1'] }
  b: { base: 'alpine:latest', tags: ['reg.test/b:1'], attestations: { sign: { key: { env: B_KEY } }, signFormat: legacy } }
  c: { base: 'alpine:latest', tags: ['reg.test/c:1'] }
`);
  assert.equal(prepared.plan.images.get('a')!.sign, { format: 'referrers', key: { file: '/project/keys/signing.pem' }, command: ['cosign', 'sign'] });
  assert.equal(prepared.plan.images.get('b')!.sign, { format: 'legacy', key: { env: 'B_KEY' }, command: ['cosign', 'sign'] });
  assert.equal(
    prepareText(yaml`
images:
  a: { base: 'alpine:latest', tags: ['reg.test/a:1'] }
`).plan.images.get('a')!.sign,
    { format: 'referrers' },
  );
  const problems = problemsOf(yaml`
attestations:
  sign: { key: { path: x } }
images:
  a: { base: 'alpine:latest', tags: ['reg.test/a:1'] }
`);
  assert.ok(problems.length > 0 && problems[0]!.startsWith('2:'), problems.join('\n'));
});

test('the signing command: run once per pushed tag with the tag and digest in its environment; a failure fails the tag', async () => {
  const prepared = prepareText(yaml`
images:
  a: { base: 'alpine:latest', tags: ['reg.test/a:1', 'reg.test/a:2'], attestations: { sign: { command: ['/bin/sh', '-c', 'test "$BUILD_IMAGES_REF" = reg.test/a:1 && test "$BUILD_IMAGES_SUBJECT" = reg.test/a@$BUILD_IMAGES_DIGEST'] } } }
`);
  const events: RunEvent[] = [];
  const digest = `sha256:${'d'.repeat(64)}`;
  const failed = await attachDocuments(prepared.plan.images.get('a')!, ['reg.test/a:1', 'reg.test/a:2'], {
    emit: (event) => events.push(event),
    signal: new AbortController().signal,
    credentials: async () => undefined,
    referrers: {
      subject: async () => ({ digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1 }),
      attach: async () => assert.unreachable('no documents') as never,
      attestationTag: async () => assert.unreachable('no documents') as never,
    },
  });
  assert.equal(failed, ['reg.test/a:2'], 'the command failed for the second tag only');
  assert.match(JSON.stringify(events), /the signing command \/bin\/sh failed for reg.test\/a@sha256:d+ \(exit 1\)/);
});

test('a hostile registry: an upload sent to another host gets nothing (no credentials, no bytes); a referrers tag holding something else is not overwritten', async () => {
  const elsewhere = await loopback((_req, res) => res.writeHead(201).end());
  const subject = (address: string) => ({
    repository: `${address}/app`,
    digest: `sha256:${'e'.repeat(64)}`,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    size: 5,
  });
  const payload = { artifactType: 'application/spdx+json', mediaType: 'application/spdx+json', body: Buffer.from('{}'), annotations: {} };
  const credentials = { registry: '', username: 'u', password: 'S3cret-pa55-do-not-print' };
  const redirecting = await loopback((req, res) => {
    if (req.method === 'HEAD') return void res.writeHead(404).end();
    if (req.method === 'POST') return void res.writeHead(202, { location: `${elsewhere.url}/v2/app/blobs/uploads/x` }).end();
    res.writeHead(500).end();
  });
  // A registry that took every referrer, answered no OCI-Subject, and holds a manifest (not an index) at the tag.
  const squatted = await loopback((req, res) => {
    if (req.method === 'HEAD') return void res.writeHead(200).end();
    if (req.method === 'PUT') return void res.writeHead(201).end();
    res
      .writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' })
      .end('{"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}');
  });
  try {
    const refusal = (promise: Promise<unknown>) =>
      promise.then(
        () => 'accepted',
        (err: Error) => err.message,
      );
    assert.match(await refusal(attachReferrers(subject(redirecting.address), [payload], credentials)), /sent the upload to another host/);
    assert.is(elsewhere.requests(), 0);
    assert.match(
      await refusal(attachReferrers(subject(squatted.address), [payload], credentials)),
      /holds something other than a referrers index: not overwritten/,
    );
  } finally {
    await elsewhere.close();
    await redirecting.close();
    await squatted.close();
  }
});

test.run();
