// The documents' part of the config's `attestations:` object, at the top level and per image: which
// supply-chain documents an image gets. The registry side's keys (signing) sit beside these in config/schema.ts.
import { z } from 'zod';

export const provenanceMode = z.union([z.boolean(), z.enum(['min', 'max'])]);

/** The documents' keys of the config's `attestations:` object (config/schema.ts puts them beside signing's). */
export const documentAttestationFields = {
  sbom: z.boolean().optional().describe('an SBOM (SPDX 2.3 and CycloneDX 1.6 JSON) of every file the image gets from the config (default: true)'),
  provenance: provenanceMode
    .optional()
    .describe(
      "SLSA provenance v1 in an in-toto Statement: min (the default, like BuildKit's mode=min), max (adds the Dockerfile and each host command's line), or false",
    ),
};
