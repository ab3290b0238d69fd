// cosign's own layout before OCI 1.1 referrers, for tools that read only it (podman, skopeo, cosign <= 2.5;
// cosign 3 with --new-bundle-format=false): the attestations of a manifest as the layers of one image
// manifest at tag `sha256-<hex>.att`, each layer a DSSE envelope annotated `dev.cosignproject.cosign/signature`
// and `predicateType`, under a config whose diff_ids list them (as cosign 3.1.1 writes it, read back here).
// cosign appends to that manifest: what is there is kept, and the new layers go in with one PUT.
import type { AttestationSubject } from '../attest/attestation.ts';
import type { Credentials } from '../model/credentials.ts';
import { apiLocation, imageRef } from '../model/image-ref.ts';
import { authorizedFetch } from './registry-client.ts';
import { fallbackTag, OCI_MANIFEST, sha256, type Descriptor } from './referrer-manifests.ts';
import { uploadBlob } from './referrers.ts';

export const DSSE_ENVELOPE = 'application/vnd.dsse.envelope.v1+json';
const CONFIG_TYPE = 'application/vnd.oci.image.config.v1+json';
const MANIFEST_MAX = 4 * 1024 * 1024;

export interface LegacyAttestation {
  /** The DSSE envelope's JSON: `{payload, payloadType, signatures}`. */
  envelope: Uint8Array;
  predicateType: string;
}

/** cosign's `.att` tag of a digest. */
export const attestationTag = (digest: string) => `${fallbackTag(digest)}.att`;

/** The `.att` manifest with `added` after the layers it had; undefined when every one is there already. */
export function attestationManifest(existingLayers: readonly Descriptor[], added: readonly LegacyAttestation[]) {
  const known = new Set(existingLayers.map((layer) => layer.digest));
  const blobs: { digest: string; bytes: Uint8Array }[] = [];
  const layers = [...existingLayers];
  for (const { envelope, predicateType } of added) {
    const digest = sha256(envelope);
    if (known.has(digest)) continue;
    known.add(digest);
    blobs.push({ digest, bytes: envelope });
    layers.push({ mediaType: DSSE_ENVELOPE, digest, size: envelope.length, annotations: { 'dev.cosignproject.cosign/signature': '', predicateType } });
  }
  if (blobs.length === 0) return undefined;
  const epoch = '0001-01-01T00:00:00Z';
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      created: epoch,
      history: layers.map(() => ({ created: epoch })),
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) },
      config: {},
    }),
  );
  blobs.unshift({ digest: sha256(config), bytes: config });
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: CONFIG_TYPE, size: config.length, digest: sha256(config) }, layers }),
  );
  return { manifest, blobs };
}

/** Writes the attestations to the subject's `.att` tag; returns the tag, or undefined when nothing was new. */
export async function putAttestationTag(
  subject: AttestationSubject,
  added: readonly LegacyAttestation[],
  auth: Credentials | undefined,
): Promise<string | undefined> {
  const { repository, base } = apiLocation(imageRef(subject.repository));
  const scope = `repository:${repository}:pull,push`;
  const url = (path: string) => `${base}/v2/${repository}/${path}`;
  const tag = attestationTag(subject.digest);
  const existing = await authorizedFetch(url(`manifests/${tag}`), { headers: { accept: OCI_MANIFEST } }, auth, scope);
  let layers: Descriptor[] = [];
  if (existing.status === 404) await existing.body?.cancel();
  else if (!existing.ok) {
    await existing.body?.cancel();
    throw new Error(`the registry did not give ${tag} (HTTP ${existing.status})`);
  } else {
    const text = await existing.text();
    if (text.length > MANIFEST_MAX) throw new Error(`a manifest of ${text.length} bytes at ${tag}`);
    const held = JSON.parse(text) as { layers?: Descriptor[] };
    if (!Array.isArray(held.layers)) throw new Error(`${tag} holds something other than cosign's attestations: not overwritten`);
    layers = held.layers;
  }
  const made = attestationManifest(layers, added);
  if (!made) return undefined;
  for (const blob of made.blobs) await uploadBlob(url, blob, auth, scope);
  const put = await authorizedFetch(
    url(`manifests/${tag}`),
    { method: 'PUT', headers: { 'content-type': OCI_MANIFEST }, body: new Uint8Array(made.manifest) },
    auth,
    scope,
  );
  await put.body?.cancel();
  if (put.status !== 201) throw new Error(`the registry refused ${subject.repository}:${tag} (HTTP ${put.status})`);
  return tag;
}
