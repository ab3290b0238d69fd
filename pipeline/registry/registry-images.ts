// What a registry holds of an image, read without pulling it: the manifest a tag names (a platform's one out
// of an index), its config blob's labels; and a manifest put under another tag, registry-side. This is the
// distribution API (OCI distribution-spec 1.1), spoken with the same challenge answering as registry-client.ts.
import { createHash } from 'node:crypto';
import { apiLocation, imageRef, tagOf } from '../model/image-ref.ts';
import type { Credentials } from '../model/credentials.ts';
import { authorizedFetch } from './registry-client.ts';

const MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const ACCEPT = [MANIFEST, LIST, OCI_MANIFEST, OCI_INDEX].join(', ');
/** A manifest or config larger than this is no image config we made: not read. */
const DOCUMENT_MAX = 4 * 1024 * 1024;

export interface RemoteImage {
  /** `registry/repository:tag` as asked. */
  ref: string;
  /** The digest of the manifest the platform resolves to (what the engine reports as pushed). */
  digest: string;
  /** The digest of what the tag names: that manifest, or the index it was chosen from. */
  target: string;
  mediaType: string;
  /** The manifest's bytes exactly, to be put under another tag unchanged. */
  manifest: Buffer;
  /** The config blob's digest: the image ID a graphdriver engine gives the pulled image. */
  configDigest: string;
  /** Every blob the manifest names (config and layers), for a mount into another repository. */
  blobs: string[];
  labels: Readonly<Record<string, string>>;
  /** When the tag names an index: its bytes and type, and the platforms of its images (`linux/arm64`). */
  index?: { manifest: Buffer; mediaType: string; platforms: readonly string[] };
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  platform?: { os?: string; architecture?: string; variant?: string };
}

/** The platform the engine builds for here, as registries name it. */
export function hostPlatform(): { os: string; architecture: string } {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', ia32: '386' };
  return { os: 'linux', architecture: arch[process.arch] ?? process.arch };
}

/**
 * The image a tag names for this platform, or undefined when the registry has no such tag. A registry that
 * cannot be asked (down, refusing, an unknown challenge) throws: the caller decides what doubt means.
 */
export async function remoteImage(ref: string, auth: Credentials | undefined, platform = hostPlatform()): Promise<RemoteImage | undefined> {
  const parsed = imageRef(ref);
  const { repository, base } = apiLocation(parsed);
  const fetchFrom = (path: string, accept: string) => authorizedFetch(`${base}/v2/${repository}/${path}`, { headers: { accept } }, auth);
  let document = await readDocument(await fetchFrom(`manifests/${parsed.digest ?? tagOf(parsed)}`, ACCEPT));
  if (!document) return undefined;
  const target = document.digest;
  const index = isIndex(document) ? indexOf(document) : undefined;
  if (isIndex(document)) {
    const chosen = choosePlatform(document.json as { manifests?: Descriptor[] }, platform);
    if (!chosen) return undefined;
    checkDigest(chosen.digest, ref);
    document = await readDocument(await fetchFrom(`manifests/${chosen.digest}`, chosen.mediaType ?? ACCEPT));
    if (!document || isIndex(document)) return undefined;
  }
  const manifest = document.json as { config?: Descriptor; layers?: Descriptor[] };
  if (!manifest.config?.digest) return undefined;
  // Digests from the registry go into request paths (and a mount's query): only a digest's form is taken.
  for (const descriptor of [manifest.config, ...(manifest.layers ?? [])]) checkDigest(descriptor.digest, ref);
  const config = await readDocument(await fetchFrom(`blobs/${manifest.config.digest}`, '*/*'));
  const labels = (config?.json as { config?: { Labels?: Record<string, string> | null } } | undefined)?.config?.Labels ?? {};
  return {
    ref,
    digest: document.digest,
    target,
    mediaType: document.mediaType,
    manifest: document.bytes,
    configDigest: manifest.config.digest,
    blobs: [manifest.config.digest, ...(manifest.layers ?? []).map((layer) => layer.digest)],
    labels,
    ...(index ? { index } : {}),
  };
}

/** An index's bytes and the platforms of its images (attestation manifests, `unknown/unknown`, are none). */
function indexOf(document: Document): NonNullable<RemoteImage['index']> {
  const platforms = ((document.json as { manifests?: Descriptor[] }).manifests ?? [])
    .map((m) => m.platform)
    .filter((p): p is NonNullable<Descriptor['platform']> => p?.os !== undefined && p.os !== 'unknown' && p.architecture !== undefined)
    .map((p) => [p.os, p.architecture, ...(p.variant ? [p.variant] : [])].join('/'));
  return { manifest: document.bytes, mediaType: document.mediaType, platforms };
}

/**
 * What a tag names, as a referrer's `subject` needs it: the manifest (or index) itself, not a platform's
 * manifest out of it, with its digest computed from the bytes the registry gave. undefined: no such tag.
 */
export async function remoteManifest(ref: string, auth: Credentials | undefined): Promise<{ digest: string; mediaType: string; size: number } | undefined> {
  const document = await remoteManifestJson(ref, auth);
  return document && { digest: document.digest, mediaType: document.mediaType, size: document.size };
}

/** What a tag names, with its JSON: an index is looked into (attestations: {storage: index}). undefined: no such tag. */
export async function remoteManifestJson(
  ref: string,
  auth: Credentials | undefined,
): Promise<{ digest: string; mediaType: string; size: number; bytes: Buffer; json: unknown; isIndex: boolean } | undefined> {
  const parsed = imageRef(ref);
  const { repository, base } = apiLocation(parsed);
  const document = await readDocument(
    await authorizedFetch(`${base}/v2/${repository}/manifests/${parsed.digest ?? tagOf(parsed)}`, { headers: { accept: ACCEPT } }, auth),
  );
  return (
    document && {
      digest: document.digest,
      mediaType: document.mediaType,
      size: document.bytes.length,
      bytes: document.bytes,
      json: document.json,
      isIndex: isIndex(document),
    }
  );
}

/**
 * Puts an image the registry has under another tag: the same manifest bytes, so the same digest. Into
 * another repository of the same registry, its blobs are mounted first (no upload: the registry links them).
 */
export async function putRemoteTag(image: RemoteImage, target: string, auth: Credentials | undefined): Promise<string> {
  const to = imageRef(target);
  const from = imageRef(image.ref);
  const { repository, base } = apiLocation(to);
  const source = apiLocation(from);
  if (source.host !== apiLocation(to).host) throw new Error(`${target} is in another registry than ${image.ref}: no registry-side tag`);
  if (source.repository !== repository) {
    for (const blob of image.blobs) {
      const url = `${base}/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(blob)}&from=${encodeURIComponent(source.repository)}`;
      const mounted = await authorizedFetch(url, { method: 'POST' }, auth, `repository:${repository}:pull,push repository:${source.repository}:pull`);
      await mounted.body?.cancel();
      // 201: mounted; 202: the registry started an upload instead (it would not mount): not a tag we can make.
      if (mounted.status !== 201) throw new Error(`the registry did not mount ${blob} from ${source.repository} (HTTP ${mounted.status})`);
    }
  }
  const put = await authorizedFetch(
    `${base}/v2/${repository}/manifests/${tagOf(to)}`,
    { method: 'PUT', headers: { 'content-type': image.mediaType }, body: new Uint8Array(image.manifest) },
    auth,
    `repository:${repository}:pull,push`,
  );
  await put.body?.cancel();
  if (put.status !== 201) throw new Error(`the registry refused the manifest for ${target} (HTTP ${put.status})`);
  return put.headers.get('docker-content-digest') ?? image.digest;
}

interface Document {
  bytes: Buffer;
  json: unknown;
  mediaType: string;
  digest: string;
}

async function readDocument(response: Response): Promise<Document | undefined> {
  if (response.status === 404) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`HTTP ${response.status} from ${new URL(response.url).host}`);
  }
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > DOCUMENT_MAX) {
    await response.body?.cancel();
    throw new Error(`a manifest or config of ${length} bytes`);
  }
  const bytes = Buffer.from(await response.arrayBuffer());
  if (bytes.length > DOCUMENT_MAX) throw new Error(`a manifest or config of ${bytes.length} bytes`);
  const json: unknown = JSON.parse(bytes.toString('utf8'));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const mediaType = (json as { mediaType?: string }).mediaType ?? response.headers.get('content-type')?.split(';')[0] ?? MANIFEST;
  return { bytes, json, mediaType, digest };
}

const isIndex = (document: Document) =>
  document.mediaType === LIST || document.mediaType === OCI_INDEX || Array.isArray((document.json as { manifests?: unknown }).manifests);

/** The index's manifest for the platform; attestation manifests (`unknown/unknown`) are never it. */
function choosePlatform(index: { manifests?: Descriptor[] }, platform: { os: string; architecture: string }): Descriptor | undefined {
  return (index.manifests ?? []).find((m) => m.platform?.os === platform.os && m.platform?.architecture === platform.architecture);
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

function checkDigest(digest: unknown, ref: string): void {
  if (typeof digest !== 'string' || !DIGEST.test(digest)) throw new Error(`the registry's manifest for ${ref} names a malformed digest`);
}
