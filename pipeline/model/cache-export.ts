// A build's cache exported to a registry tag of its own, as buildx's `--cache-to type=registry,ref=REF,mode=MODE`:
// what the config's `cache.to` and the command line ask, and what the BuildKit backend sends.

export interface RegistryCacheExport {
  ref: string;
  /** min: the final image's layers; max: every stage's and step's too. */
  mode: 'min' | 'max';
}
