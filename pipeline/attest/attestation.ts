// The seam between what the supply-chain documents say (SBOMs, provenance: attest/) and where they go (the
// registry as OCI 1.1 referrers, signed, and files next to the metadata file). Documents are made after an
// image is pushed, because the provenance's subject is the digest the registry gave it.

/** Where a document hangs: the pushed image's manifest, by digest (a tag moves; the digest does not). */
export interface AttestationSubject {
  /** The repository, without tag or digest: `registry:5000/px/px-oci-mon`. */
  repository: string;
  /** The pushed manifest's digest, `sha256:…`. */
  digest: string;
  /** The pushed manifest's media type (Docker v2 schema 2, OCI manifest or index). */
  mediaType: string;
  /** Its size in bytes, as a referrer's `subject` descriptor needs it. */
  size: number;
}

export type DocumentKind = 'spdx' | 'cyclonedx' | 'provenance';

/** One document, as it is attached: a referrer manifest whose single layer is `body`. */
export interface AttestationDocument {
  kind: DocumentKind;
  /** The referrer manifest's `artifactType`: `application/spdx+json`, `application/vnd.cyclonedx+json`, `application/vnd.in-toto+json`. */
  artifactType: string;
  /** The layer's media type (for provenance, the in-toto Statement's). */
  mediaType: string;
  /** The document's bytes, JSON. Never holds a secret's value. */
  body: Uint8Array;
  /** Its file name next to the metadata file: `<image>.<kind>.json`. */
  fileName: string;
  /** Copied onto the referrer manifest and into the fallback index's entry. */
  annotations: Readonly<Record<string, string>>;
  /** An in-toto Statement (provenance, or an SBOM wrapped as a predicate) that signing may put in a DSSE envelope. */
  statement?: { predicateType: string };
}

/** The documents of one image config entry, for the subject it was pushed as; [] when documents are off for it. */
export type DocumentsFor = (image: string, subject: AttestationSubject) => Promise<readonly AttestationDocument[]>;
