// A cache directory's OCI image layout (image-spec image-layout.md): `oci-layout`, `index.json` and
// blobs/sha256/. The blobs come from the daemon through the session's content store; the index is the
// client's to write, after a solve whose export succeeded, as BuildKit's client does: the cache manifest
// under the tag `latest` (annotation org.opencontainers.image.ref.name), an older `latest` replaced, other
// entries kept. buildx reads and writes the same directory.
import { randomUUID } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const REF_NAME = 'org.opencontainers.image.ref.name';
/** containerd's full image name, which BuildKit's client looks at before the OCI tag. */
const IMAGE_NAME = 'io.containerd.image.name';
export const CACHE_TAG = 'latest';
const INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface OciIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  [key: string]: unknown;
}

function isDescriptor(value: unknown): value is Descriptor {
  const d = value as Partial<Descriptor> | null;
  return typeof d === 'object' && d !== null && typeof d.digest === 'string' && typeof d.size === 'number';
}

/** An index.json's text as an index, or why it is not one. */
export function parseIndex(text: string): OciIndex | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'its index.json is not JSON';
  }
  const index = value as Partial<OciIndex> | null;
  if (typeof index !== 'object' || index === null || !Array.isArray(index.manifests) || !index.manifests.every(isDescriptor)) {
    return 'its index.json is not an OCI image index';
  }
  return { ...index, schemaVersion: index.schemaVersion ?? 2, manifests: index.manifests };
}

/** The manifest under `tag`: by containerd's image name first, then by OCI tag, as BuildKit's client looks. */
export function taggedManifest(index: OciIndex, tag = CACHE_TAG): Descriptor | undefined {
  return index.manifests.find((m) => m.annotations?.[IMAGE_NAME] === tag) ?? index.manifests.find((m) => m.annotations?.[REF_NAME] === tag);
}

/** The index with `manifest` as `tag`; entries of that tag before are dropped, every other entry kept. */
export function withTagged(index: OciIndex | undefined, manifest: Descriptor, tag = CACHE_TAG): OciIndex {
  const base: OciIndex = index ?? { schemaVersion: 2, manifests: [] };
  const kept = base.manifests.filter((m) => m.annotations?.[REF_NAME] !== tag || (m.annotations?.[IMAGE_NAME] ?? '') !== '');
  return {
    ...base,
    schemaVersion: base.schemaVersion || 2,
    mediaType: base.mediaType ?? INDEX_MEDIA_TYPE,
    manifests: [...kept, { ...manifest, annotations: { ...manifest.annotations, [REF_NAME]: tag } }],
  };
}

/** The directory's cache manifest, or why there is none to import (a first run has none yet). */
export async function readCacheManifest(dir: string): Promise<Descriptor | string> {
  let text: string;
  try {
    text = await readFile(path.join(dir, 'index.json'), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'no cache there yet (no index.json)' : `its index.json could not be read (${code})`;
  }
  const index = parseIndex(text);
  if (typeof index === 'string') return index;
  return taggedManifest(index) ?? `its index.json has no manifest tagged ${CACHE_TAG}`;
}

/**
 * Puts the exported cache manifest in the directory's index. Both files are written under a name of their
 * own and renamed over the old: a run that stops half-way leaves the previous index whole.
 */
export async function writeCacheIndex(dir: string, manifest: Descriptor): Promise<void> {
  const indexFile = path.join(dir, 'index.json');
  const before = await readFile(indexFile, 'utf8').then(parseIndex, () => undefined);
  // A damaged index is replaced: its entries cannot be kept, and the blobs it named stay.
  const index = withTagged(typeof before === 'object' ? before : undefined, manifest);
  await replaceFile(path.join(dir, 'oci-layout'), `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`);
  await replaceFile(indexFile, `${JSON.stringify(index)}\n`);
}

async function replaceFile(file: string, text: string): Promise<void> {
  const temporary = `${file}.${randomUUID()}.tmp`;
  try {
    await writeFile(temporary, text, { mode: 0o644, flush: true });
    await rename(temporary, file);
  } finally {
    await rm(temporary, { force: true });
  }
}
