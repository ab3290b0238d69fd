// Where a build's cache goes beyond inline metadata, and which cache directories it reads: --cache-to and
// --cache-from over the config's `cache:`, refused before the build where the engine cannot. dockerd exports
// a registry cache, and serves a cache directory, only from the containerd image store (its graphdriver
// worker has no content store to assemble a cache manifest in or to take one's layers into), and the
// classic builder does neither.
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
  const asked: { given: string; at?: SourcePosition; does: string; hint: string }[] = [
    ...(registry
      ? [
          {
            given: options.registryCache ? `--cache-to type=registry,ref=${registry.ref}` : 'cache.to: {type: registry}',
            at: options.registryCache ? undefined : image.cache.registry?.at,
            does: 'exports a registry cache',
            hint: `use cache.to: inline (--cache-to inline) here, or ${STORE_HINT}`,
          },
        ]
      : []),
    ...(local
      ? [
          {
            given: options.localCache ? `--cache-to type=local,dest=${local.dest}` : 'cache.to: {type: local}',
            at: options.localCache ? undefined : image.cache.local?.at,
            does: 'exports a cache to a directory',
            hint: `use cache.to: inline (--cache-to inline) here, or ${STORE_HINT}`,
          },
        ]
      : []),
    ...dirs.map(({ src, at }) => ({
      given: at ? `cache.from: {type: local, src: ${src}}` : `--cache-from type=local,src=${src}`,
      at,
      does: 'imports a cache directory',
      hint: `take the cache from a registry (cache.from: [REF]) or from inline cache here, or ${STORE_HINT}`,
    })),
  ];
  const first = asked[0];
  if (!first) return { fromDirs: [] };
  const refuse = (use: (typeof asked)[number], why: string, hint: string): never => {
    throw new UserError({ message: `${image.name}: ${use.given}: ${why}`, hint, ...(use.at ? { at: use.at } : {}) });
  };
  if (settings.builder.name !== 'buildkit')
    refuse(first, 'the classic builder exports no cache and reads no cache directory', 'build with BuildKit (--builder buildkit)');
  if ((await settings.images.imageIds()) !== 'manifest') {
    refuse(first, `this engine keeps its images in a graphdriver, and ${first.does} only from the containerd image store`, first.hint);
  }
  return {
    ...(registry ? { registry: { ref: registry.ref, mode: registry.mode } } : {}),
    ...(local ? { local: { dest: local.dest, mode: local.mode } } : {}),
    fromDirs: [...new Set(dirs.map((d) => d.src))],
  };
}
