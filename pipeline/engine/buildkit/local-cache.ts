// A build's local cache directories as BuildKit's client prepares them: each is a content store of the
// session (`local:` + its path, the id the daemon asks for); an import names the cache manifest its
// index.json tags `latest` (the daemon reads no index itself), and a directory with none is skipped, as on a
// first run; an export's index.json is written after the solve.
import { mkdir } from 'node:fs/promises';
import { RunError } from '../../model/errors.ts';
import type { LocalCacheExport } from '../../model/cache-export.ts';
import { LOCAL_STORE_PREFIX } from './content-proto.ts';
import type { ContentDir } from './content-store.ts';
import { readCacheManifest, writeCacheIndex, type Descriptor } from './oci-layout.ts';

export interface LocalCacheImport {
  src: string;
  digest: string;
}

export interface LocalCaches {
  stores: Map<string, ContentDir>;
  imports: LocalCacheImport[];
  /** Why a source was left out, a line each. */
  skipped: string[];
}

export async function prepareLocalCaches(exported: LocalCacheExport | undefined, sources: readonly string[]): Promise<LocalCaches> {
  const caches: LocalCaches = { stores: new Map(), imports: [], skipped: [] };
  for (const src of new Set(sources)) {
    const manifest = await readCacheManifest(src);
    if (typeof manifest === 'string') {
      caches.skipped.push(`cache from ${src}: ${manifest}; nothing imported from it`);
      continue;
    }
    caches.stores.set(LOCAL_STORE_PREFIX + src, { dir: src, writable: false });
    caches.imports.push({ src, digest: manifest.digest });
  }
  if (exported) {
    await mkdir(exported.dest, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      throw new RunError(`the cache directory ${exported.dest} could not be made (${err.code})`);
    });
    // The same directory imported and exported (one cache carried from run to run) is one store, written to.
    caches.stores.set(LOCAL_STORE_PREFIX + exported.dest, { dir: exported.dest, writable: true });
  }
  return caches;
}

/** After the solve: the exported cache manifest (`cache.manifest` of the solve's answer) tagged in the index. */
export async function recordLocalExport(exported: LocalCacheExport, exporterResponse: Readonly<Record<string, string>>): Promise<void> {
  const json = exporterResponse['cache.manifest'];
  let manifest: Descriptor | undefined;
  try {
    manifest = json ? (JSON.parse(json) as Descriptor) : undefined;
  } catch {
    manifest = undefined;
  }
  if (!manifest || typeof manifest.digest !== 'string' || typeof manifest.size !== 'number') {
    throw new RunError(`the engine finished the build without naming the cache it exported to ${exported.dest}`);
  }
  await writeCacheIndex(exported.dest, manifest).catch((err: NodeJS.ErrnoException) => {
    throw new RunError(`the cache in ${exported.dest} is exported, but its index.json could not be written (${err.code ?? err.message})`);
  });
}
