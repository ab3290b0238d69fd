// What OCI 1.1 referrers are made of, as data: the manifest that hangs one document off a pushed image (its
// `subject`), and the referrers index that stands in for the Referrers API on a registry without one (the
// distribution-spec's "referrers tag schema": an OCI index at tag `sha256-<hex>` of the subject's digest).
import { createHash } from 'node:crypto';
import type { AttestationSubject } from '../attest/attestation.ts';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const EMPTY_TYPE = 'application/vnd.oci.empty.v1+json';
/** The empty JSON object `{}`: a referrer's config, as the image-spec's guidance for artifacts says. */
export const EMPTY_BLOB = Buffer.from('{}');

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** What one referrer carries: a single layer (the document) of a type. */
export interface ReferrerPayload {
  artifactType: string;
  mediaType: string;
  body: Uint8Array;
  annotations: Readonly<Record<string, string>>;
}

export interface ReferrerManifest {
  /** The manifest's bytes exactly as they are put (its digest is theirs). */
  bytes: Buffer;
  descriptor: Descriptor;
  /** The blobs it names, to be uploaded first. */
  blobs: { digest: string; bytes: Uint8Array }[];
}

export const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** An OCI manifest as it is put: its bytes, and the descriptor that names them (with what else it says of them). */
export function serializedManifest<A extends Partial<Descriptor> & object>(manifest: object, about: A): { bytes: Buffer; descriptor: Descriptor & A } {
  const bytes = Buffer.from(JSON.stringify(manifest));
  return { bytes, descriptor: { mediaType: OCI_MANIFEST, digest: sha256(bytes), size: bytes.length, ...about } };
}

/** The referrer manifest for one payload: the empty config, one layer, `subject` = the pushed manifest. */
export function referrerManifest(payload: ReferrerPayload, subject: AttestationSubject): ReferrerManifest {
  const layer = { mediaType: payload.mediaType, digest: sha256(payload.body), size: payload.body.length };
  const annotations = { ...payload.annotations };
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: payload.artifactType,
    config: { mediaType: EMPTY_TYPE, digest: sha256(EMPTY_BLOB), size: EMPTY_BLOB.length },
    layers: [layer],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
  return {
    ...serializedManifest(manifest, { artifactType: payload.artifactType, ...(manifest.annotations ? { annotations } : {}) }),
    blobs: [
      { digest: manifest.config.digest, bytes: EMPTY_BLOB },
      { digest: layer.digest, bytes: payload.body },
    ],
  };
}

/** The referrers tag of a subject: `sha256:abc…` → `sha256-abc…`. */
export function fallbackTag(digest: string): string {
  return digest.replace(':', '-');
}

/**
 * The referrers index with `added` in it: what the tag held (undefined: nothing yet) kept as it was, entries
 * already there not repeated. undefined when nothing is new (no write needed).
 */
export function mergedReferrersIndex(existing: { manifests?: unknown } | undefined, added: readonly Descriptor[]): Buffer | undefined {
  const held = Array.isArray(existing?.manifests) ? (existing.manifests as Descriptor[]) : [];
  const known = new Set(held.map((entry) => entry.digest));
  const fresh = added.filter((entry) => !known.has(entry.digest) && known.add(entry.digest));
  if (fresh.length === 0) return undefined;
  return Buffer.from(JSON.stringify({ ...(existing ?? {}), schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...held, ...fresh] }));
}
