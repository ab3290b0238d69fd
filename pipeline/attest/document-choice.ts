// Which supply-chain documents an image gets: the command line's flags over the image's config over the top
// level's. Apart from the config's zod schema (attestations-schema.ts): every run decides this, and a run that
// finds everything up to date must not load zod for it (its chunk is ~390 KB to compile).

export interface DocumentAttestations {
  sbom?: boolean | undefined;
  provenance?: boolean | 'min' | 'max' | undefined;
}

/** What one image gets, decided. */
export interface DocumentChoice {
  sbom: boolean;
  provenance: false | 'min' | 'max';
}

/** The command line's --sbom and --provenance, which beat the config. */
export interface DocumentFlags {
  sbom?: boolean;
  provenance?: false | 'min' | 'max';
}

const mode = (value: boolean | 'min' | 'max' | undefined): false | 'min' | 'max' | undefined =>
  value === undefined ? undefined : value === true ? 'min' : value;

/** The command line first (buildx's --sbom=false, --provenance=false), then the image's config, then the top level's. */
export function documentChoice(flags: DocumentFlags, top: DocumentAttestations | undefined, image: DocumentAttestations | undefined): DocumentChoice {
  return {
    sbom: flags.sbom ?? image?.sbom ?? top?.sbom ?? true,
    provenance: flags.provenance ?? mode(image?.provenance) ?? mode(top?.provenance) ?? 'min',
  };
}
