// `attestations: {storage: index}`: BuildKit's own layout of attestations (moby/buildkit
// docs/attestations/attestation-storage.md), made registry-side after a push. The tag is moved onto an OCI
// index that holds each platform's image manifest and, after them, one attestation manifest per platform:
// platform `unknown/unknown` (so that no runtime pulls or runs it), annotated with the image manifest it
// describes, its layers in-toto Statements annotated with their predicate type, its config an image config
// of platform unknown/unknown whose diff_ids are those layers (as BuildKit's exporter writes it). This is
// what `docker buildx imagetools inspect` and Docker Scout read; it changes what the tag names (an index,
// not the manifest), which is why it is asked for, never the default.
import type { Credentials } from '../model/credentials.ts';
import { apiLocation, imageRef } from '../model/image-ref.ts';
import { authorizedFetch } from './registry-client.ts';
import { OCI_INDEX, OCI_MANIFEST, serializedManifest, sha256, type Descriptor } from './referrer-manifests.ts';
import { uploadBlob } from './referrers.ts';

export const IN_TOTO = 'application/vnd.in-toto+json';
export const PREDICATE_TYPE = 'in-toto.io/predicate-type';
export const REFERENCE_TYPE = 'vnd.docker.reference.type';
export const REFERENCE_DIGEST = 'vnd.docker.reference.digest';
export const ATTESTATION_MANIFEST = 'attestation-manifest';
const IMAGE_CONFIG = 'application/vnd.oci.image.config.v1+json';
const UNKNOWN = { architecture: 'unknown', os: 'unknown' } as const;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** One in-toto Statement as it goes into a layer: its bytes, and its predicate type for the layer's annotation. */
export interface StatementLayer {
  predicateType: string;
  body: Uint8Array;
}

/** A platform's image manifest as the index names it, and the Statements about it. */
export interface PlatformImage {
  manifest: { mediaType: string; digest: string; size: number };
  platform: Platform;
  statements: readonly StatementLayer[];
}

export interface PlatformDescriptor extends Descriptor {
  platform: Platform;
}

export interface BuiltAttestation {
  bytes: Buffer;
  descriptor: PlatformDescriptor;
  /** Its config and layers, uploaded before it is put. */
  blobs: { digest: string; bytes: Uint8Array }[];
}

export interface BuiltIndex {
  bytes: Buffer;
  digest: string;
  /** The attestation manifests it names, each put by digest before the index. */
  attestations: BuiltAttestation[];
}

/** The attestation manifest of the image manifest `target`: one in-toto layer per Statement. */
export function attestationManifest(target: string, statements: readonly StatementLayer[]): BuiltAttestation {
  const layers = statements.map((s) => ({
    mediaType: IN_TOTO,
    digest: sha256(s.body),
    size: s.body.length,
    annotations: { [PREDICATE_TYPE]: s.predicateType },
  }));
  // Uncompressed JSON: a layer's diff_id is its own digest.
  const config = Buffer.from(JSON.stringify({ ...UNKNOWN, config: {}, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }));
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: IMAGE_CONFIG, digest: sha256(config), size: config.length },
    layers,
  };
  return {
    ...serializedManifest(manifest, { annotations: { [REFERENCE_DIGEST]: target, [REFERENCE_TYPE]: ATTESTATION_MANIFEST }, platform: { ...UNKNOWN } }),
    blobs: [{ digest: manifest.config.digest, bytes: config }, ...statements.map((s, i) => ({ digest: layers[i]!.digest, bytes: s.body }))],
  };
}

/** The index: every platform's manifest first, in the order given, then the attestation manifest of each that has Statements. */
export function attestationIndex(images: readonly PlatformImage[]): BuiltIndex {
  const attestations = images.filter((image) => image.statements.length > 0).map((image) => attestationManifest(image.manifest.digest, image.statements));
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      ...images.map((image) => ({ mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.size, platform: image.platform })),
      ...attestations.map((a) => a.descriptor),
    ],
  };
  const bytes = Buffer.from(JSON.stringify(index));
  return { bytes, digest: sha256(bytes), attestations };
}

interface IndexEntry {
  digest?: unknown;
  platform?: { os?: unknown; architecture?: unknown };
  annotations?: Record<string, unknown>;
}

/**
 * Whether an index (its JSON) already holds `digest` as a platform's manifest together with an attestation
 * manifest that describes it: then it is this layout for that manifest, and is put under other tags as it is.
 */
export function describesManifest(index: unknown, digest: string): boolean {
  const entries = (index as { manifests?: IndexEntry[] } | undefined)?.manifests;
  if (!Array.isArray(entries)) return false;
  const runnable = entries.some((e) => e.digest === digest && e.platform?.os !== 'unknown');
  return runnable && entries.some((e) => e.annotations?.[REFERENCE_TYPE] === ATTESTATION_MANIFEST && e.annotations[REFERENCE_DIGEST] === digest);
}

/** The platform manifests of an index (its attestation manifests left out), as a choice of platform would see them. */
export function runnableManifests(index: unknown): { mediaType: string; digest: string; size: number; platform?: Platform }[] {
  const entries = (index as { manifests?: (IndexEntry & { mediaType?: string; size?: number })[] } | undefined)?.manifests ?? [];
  return entries
    .filter((e) => typeof e.digest === 'string' && e.platform?.os !== 'unknown' && e.annotations?.[REFERENCE_TYPE] !== ATTESTATION_MANIFEST)
    .map((e) => ({
      mediaType: e.mediaType ?? OCI_MANIFEST,
      digest: e.digest as string,
      size: e.size ?? 0,
      ...(e.platform ? { platform: e.platform as Platform } : {}),
    }));
}

/**
 * Puts a built index at `tag` of `repository` (`registry/path`): each attestation manifest's blobs and the
 * manifest by digest first (a registry checks that what an index names is there), then the index. Returns
 * the index's digest as the registry gave it.
 */
export async function putIndex(
  repository: string,
  tag: string,
  built: Pick<BuiltIndex, 'bytes' | 'digest' | 'attestations'>,
  auth: Credentials | undefined,
): Promise<string> {
  const { repository: path, base } = apiLocation(imageRef(repository));
  const scope = `repository:${path}:pull,push`;
  const url = (rest: string) => `${base}/v2/${path}/${rest}`;
  for (const attestation of built.attestations) {
    for (const blob of attestation.blobs) await uploadBlob(url, blob, auth, scope);
    await putManifest(
      url(`manifests/${attestation.descriptor.digest}`),
      OCI_MANIFEST,
      attestation.bytes,
      auth,
      scope,
      `the attestation manifest of ${repository}`,
    );
  }
  return putManifest(url(`manifests/${tag}`), OCI_INDEX, built.bytes, auth, scope, `the index for ${repository}:${tag}`, built.digest);
}

async function putManifest(
  url: string,
  mediaType: string,
  bytes: Buffer,
  auth: Credentials | undefined,
  scope: string,
  what: string,
  digest = sha256(bytes),
): Promise<string> {
  const put = await authorizedFetch(url, { method: 'PUT', headers: { 'content-type': mediaType }, body: new Uint8Array(bytes) }, auth, scope);
  await put.body?.cancel();
  if (put.status !== 201) throw new Error(`the registry refused ${what} (HTTP ${put.status})`);
  return put.headers.get('docker-content-digest') ?? digest;
}

/** The platform an image manifest is for, from its config (`os`, `architecture`, `variant`), as the registry has it. */
export async function manifestPlatform(repository: string, digest: string, auth: Credentials | undefined): Promise<Platform> {
  const { repository: path, base } = apiLocation(imageRef(repository));
  const get = async (rest: string, accept: string) => {
    const response = await authorizedFetch(`${base}/v2/${path}/${rest}`, { headers: { accept } }, auth);
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`the registry did not give ${repository}/${rest} (HTTP ${response.status})`);
    }
    const text = await response.text();
    if (text.length > 4 * 1024 * 1024) throw new Error(`a manifest or config of ${text.length} bytes`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const manifest = (await get(`manifests/${digest}`, `${OCI_MANIFEST}, application/vnd.docker.distribution.manifest.v2+json`)) as {
    config?: { digest?: unknown };
  };
  const config = manifest.config?.digest;
  if (typeof config !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(config)) throw new Error(`the manifest ${repository}@${digest} names no config`);
  const { os, architecture, variant } = (await get(`blobs/${config}`, '*/*')) as { os?: unknown; architecture?: unknown; variant?: unknown };
  if (typeof os !== 'string' || typeof architecture !== 'string') throw new Error(`the config of ${repository}@${digest} names no platform`);
  return { os, architecture, ...(typeof variant === 'string' && variant ? { variant } : {}) };
}
