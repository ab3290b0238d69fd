// A build's cache exported somewhere of its own, as buildx's `--cache-to`: to a registry tag
// (`type=registry,ref=REF,mode=MODE`) or to a directory holding an OCI image layout (`type=local,dest=DIR`);
// what the config's `cache.to` and the command line ask, and what the BuildKit backend sends.

export type CacheMode = 'min' | 'max';

export interface RegistryCacheExport {
  ref: string;
  /** min: the final image's layers; max: every stage's and step's too. */
  mode: CacheMode;
}

export interface LocalCacheExport {
  /** An absolute path: the directory's blobs, index.json and oci-layout, as buildx writes them. */
  dest: string;
  mode: CacheMode;
}
