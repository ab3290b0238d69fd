// Where a build's cache goes beyond inline metadata, and which cache directories it reads: --cache-to and
// --cache-from over the config's `cache:`, refused before the build where the engine cannot. A buildkitd
// exports either kind from its own content store. dockerd exports
// a cache (to a registry or a directory) only from the containerd image store: its graphdriver worker has
// no content store to assemble a cache manifest in (20.10 and 26.1 on overlay2 answer `unknown cache
// exporter: "local"`). A directory is read on either store, as buildx's docker driver reads one (20.10's
// BuildKit 0.8 takes nothing from a cache written as an image manifest, newer BuildKit's default, but does
// from the older index form; 26.1 from both). The classic builder does neither.
import { UserError, type SourcePosition } from '../model/errors.ts';
import type { LocalCacheExport, RegistryCacheExport } from '../engine/engine.ts';
import type { ImagePlan } from '../plan/plan.ts';
import type { BuildOptions, BuildServices } from './build-image.ts';

export interface CacheUse {
  registry?: RegistryCacheExport;
  local?: LocalCacheExport;
  fromDirs: string[];
}

const STORE_HINT = 'turn on the containerd image store (daemon.json features."containerd-snapshotter": true)';

interface Asked {
  given: string;
  at?: SourcePosition;
}

export async function cacheUse(
  image: ImagePlan,
  settings: Pick<BuildServices, 'builder' | 'images'>,
  options: Pick<BuildOptions, 'registryCache' | 'localCache' | 'inlineCache' | 'cacheFromDirs'>,
): Promise<CacheUse> {
  // --cache-to on the command line (inline and none too) replaces the config's export.
  const fromConfig = options.inlineCache === undefined;
  const registry = options.registryCache ?? (fromConfig ? image.cache.registry : undefined);
  const local = options.localCache ?? (fromConfig ? image.cache.local : undefined);
  const dirs = [...image.cache.fromDirs, ...(options.cacheFromDirs ?? []).map((src) => ({ src, at: undefined }))];
  const exports: (Asked & { does: string })[] = [];
  if (registry) {
    exports.push(
      options.registryCache
        ? { given: `--cache-to type=registry,ref=${registry.ref}`, does: 'exports a registry cache' }
        : { given: 'cache.to: {type: registry}', at: image.cache.registry?.at, does: 'exports a registry cache' },
    );
  }
  if (local) {
    exports.push(
      options.localCache
        ? { given: `--cache-to type=local,dest=${local.dest}`, does: 'exports a cache to a directory' }
        : { given: 'cache.to: {type: local}', at: image.cache.local?.at, does: 'exports a cache to a directory' },
    );
  }
  const reads: Asked[] = dirs.map(({ src, at }) =>
    at ? { given: `cache.from: {type: local, src: ${src}}`, at } : { given: `--cache-from type=local,src=${src}` },
  );
  const refuse = (use: Asked, why: string, hint: string): never => {
    throw new UserError({ message: `${image.name}: ${use.given}: ${why}`, hint, ...(use.at ? { at: use.at } : {}) });
  };
  const first = exports[0] ?? reads[0];
  if (first && settings.builder.name !== 'buildkit') {
    refuse(first, 'the classic builder exports no cache and reads no cache directory', 'build with BuildKit (--builder buildkit)');
  }
  if (exports[0] && !settings.builder.contentStore && (await settings.images.imageIds()) !== 'manifest') {
    refuse(
      exports[0],
      `this engine keeps its images in a graphdriver, and ${exports[0].does} only from the containerd image store`,
      `use cache.to: inline (--cache-to inline) here, or ${STORE_HINT}`,
    );
  }
  return {
    ...(registry ? { registry: { ref: registry.ref, mode: registry.mode } } : {}),
    ...(local ? { local: { dest: local.dest, mode: local.mode } } : {}),
    fromDirs: [...new Set(dirs.map((d) => d.src))],
  };
}
