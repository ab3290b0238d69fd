// The `attestations:` object of the config, at the top level and per image: which supply-chain documents an
// image gets. Kept in a module of its own so that what the registry side adds (storage, signing) sits beside
// these fields without touching the rest of the schema.
import { z } from 'zod';

export const provenanceMode = z.union([z.boolean(), z.enum(['min', 'max'])]);

export const attestationsSchema = z
  .strictObject({
    sbom: z.boolean().optional().describe('an SBOM (SPDX 2.3 and CycloneDX 1.6 JSON) of every file the image gets from the config (default: true)'),
    provenance: provenanceMode
      .optional()
      .describe(
        "SLSA provenance v1 in an in-toto Statement: min (the default, like BuildKit's mode=min), max (adds the Dockerfile and each host command's line), or false",
      ),
  })
  .describe('the supply-chain documents of the image (SBOMs, provenance): written next to --metadata-file');

export type AttestationsConfig = z.output<typeof attestationsSchema>;

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
export function documentChoice(flags: DocumentFlags, top: AttestationsConfig | undefined, image: AttestationsConfig | undefined): DocumentChoice {
  return {
    sbom: flags.sbom ?? image?.sbom ?? top?.sbom ?? true,
    provenance: flags.provenance ?? mode(image?.provenance) ?? mode(top?.provenance) ?? 'min',
  };
}
