// Provenance: an in-toto Statement v1 whose predicate is SLSA Provenance v1. The build type is this project's
// (README, "Supply-chain documents", says what each parameter means). mode min says what was asked for and
// what was used, each by digest; max adds, as BuildKit's max does in spirit, how: the generated Dockerfile and
// each host command's line.
import { downloadLocation } from './sbom-model.ts';

export const BUILD_TYPE = 'https://github.com/build-images/build-images/blob/main/README.md#provenance-build-type-v1';
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE = 'https://slsa.dev/provenance/v1';

export interface ProvenanceFacts {
  subject: { name: string; digest: string };
  image: string;
  config: { path: string; sha256: string };
  targets: readonly string[];
  /** --set variables: a value only where it is not secret. */
  variables: readonly { name: string; value?: string }[];
  /** The config's secrets the image's build mounted: names only. */
  secrets: readonly string[];
  builder: string;
  imageStore?: string;
  engineVersion?: string;
  base?: { ref: string; digest?: string };
  fetches: readonly { url: string; sha256: string }[];
  /** The project's checkout and each named source that is a git checkout (PX_SRC's). */
  commits: readonly { name: string; uri: string; commit: string }[];
  invocationId: string;
  startedOn: string;
  finishedOn: string;
  tool: { name: string; version: string };
  max?: { dockerfile: string; commands: readonly { name: string; line: string }[] };
}

const hex = (digest: string) => digest.replace(/^sha256:/, '');

export function provenanceStatement(facts: ProvenanceFacts): Record<string, unknown> {
  const variables = Object.fromEntries(facts.variables.filter((v) => v.value !== undefined).map((v) => [v.name, v.value!]));
  const secretVariables = facts.variables.filter((v) => v.value === undefined).map((v) => v.name);
  const resolvedDependencies = [
    ...(facts.base?.digest ? [{ uri: `docker-image://${facts.base.ref}`, name: 'base', digest: { sha256: hex(facts.base.digest) } }] : []),
    ...facts.fetches.map((f) => ({ uri: downloadLocation(f.url), digest: { sha256: f.sha256 } })),
    ...facts.commits.map((c) => ({ uri: c.uri, name: c.name, digest: { gitCommit: c.commit } })),
  ];
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: facts.subject.name, digest: { sha256: hex(facts.subject.digest) } }],
    predicateType: SLSA_PROVENANCE,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          config: { path: facts.config.path, digest: { sha256: facts.config.sha256 } },
          image: facts.image,
          targets: facts.targets,
          variables,
          ...(secretVariables.length ? { secretVariables } : {}),
          ...(facts.secrets.length ? { secrets: facts.secrets } : {}),
        },
        internalParameters: {
          builder: facts.builder,
          ...(facts.imageStore ? { imageStore: facts.imageStore } : {}),
          ...(facts.engineVersion ? { engineVersion: facts.engineVersion } : {}),
          ...(facts.max ? { dockerfile: facts.max.dockerfile, hostCommands: facts.max.commands } : {}),
        },
        resolvedDependencies,
      },
      runDetails: {
        builder: { id: `https://github.com/build-images/build-images@${facts.tool.version}` },
        metadata: { invocationId: facts.invocationId, startedOn: facts.startedOn, finishedOn: facts.finishedOn },
      },
    },
  };
}
