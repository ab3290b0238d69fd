// The config's schema: the single source of its TypeScript types and of build-images.schema.json.
import { z } from 'zod';
import { stepKinds, stepKindNames, type StepKindName } from '../../steps/index.ts';
import { lineField } from '../../steps/fields.ts';
import { secretId } from '../../steps/fields.ts';
import { documentAttestationFields } from '../attest/attestations-schema.ts';
import { PLATFORM_PATTERN } from '../model/platform.ts';

const name = (what: string) => z.string().regex(/^[a-z0-9][a-z0-9._/-]*$/, `a ${what} name is lower case letters, digits, '.', '_', '-' and '/'`);

export const variableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name is letters, digits and _');

const variableSchema = z.union([
  z.string(),
  z.strictObject({
    default: z.string().default('').describe('may use other variables, ${USER} and ${TIMESTAMP}; ${NAME:-fallback} too'),
    description: z.string().optional(),
    warnIfDefault: z.boolean().default(false).describe('say so, once per run, when the default is used'),
    override: z
      .string()
      .optional()
      .describe("when this is not empty, it is the value, over the environment's (make's `ifdef PXTAG` / `DOCKER_HUB_TAG := $(PXTAG)`); --set still wins"),
    gitCommit: z
      .string()
      .optional()
      .describe(
        "a git checkout (project-relative): the value is its HEAD commit's first 7 characters (`git rev-parse HEAD | cut -c-7`), else the default; read from .git/, no git run",
      ),
  }),
]);

type StepValue<K extends StepKindName> = z.output<(typeof stepKinds)[K]['schema']>;
/** A step after validation: exactly one kind, tagged, so that a step with two kinds cannot be written down. */
export type Step = { [K in StepKindName]: { kind: K; value: StepValue<K> } }[StepKindName];

// In YAML a step is a map with one key, its kind: `- copy: {from: a, to: /a}`. An object with every kind
// optional gives precise errors (an unknown kind is an unrecognised key, with a did-you-mean), and the
// refinement and transform make it exactly one.
const stepSchema = z
  .strictObject(Object.fromEntries(stepKindNames.map((kind) => [kind, stepKinds[kind].schema.optional()])))
  .meta({ minProperties: 1, maxProperties: 1 })
  .superRefine((step, ctx) => {
    const kinds = Object.keys(step);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          kinds.length === 0
            ? `a step names its kind: one of ${stepKindNames.join(', ')}`
            : `a step has exactly one kind, this one has ${kinds.join(' and ')}: make them separate steps`,
      });
    }
  })
  .transform((step) => {
    const [kind, value] = Object.entries(step)[0]!;
    return { kind, value } as Step;
  });

const baseSchema = z.union([
  z.string().min(1).describe('an image reference, as in FROM: ubuntu:16.04'),
  z.strictObject({ image: z.string().describe('another image of this config, built first') }),
]);

const credentialSchema = z.strictObject({
  registry: z
    .string()
    .min(1)
    .describe(
      'a registry host (docker.io for Docker Hub, registry.example:5000), or a repository in it such as ${DOCKER_HUB_REPO}: its registry, Docker Hub when it names no host',
    ),
  usernameVariable: variableName.describe('the environment variable holding the user name: DOCKER_HUB_USER'),
  passwordVariable: variableName.describe('the environment variable holding the password or token: DOCKER_HUB_PASSWD'),
});

// ---- attestations: where the supply-chain documents go and how they are signed (issue 22; the registry
// side). The documents' own keys (sbom, provenance) are another part's and sit beside these in the object.
const signingKeySchema = z
  .union([
    z.strictObject({ file: z.string().min(1).describe('a PEM file, relative to the project') }),
    z.strictObject({ env: variableName.describe('an environment variable holding the PEM') }),
  ])
  .describe('an unencrypted ECDSA P-256 private key (PKCS#8 PEM): never printed, never in a label, layer, document or log');

export const attestationsSchema = z.strictObject({
  // Which documents an image gets (attest/attestations-schema.ts): the documents' part of the object.
  ...documentAttestationFields,
  sign: z
    .strictObject({
      key: signingKeySchema
        .optional()
        .describe(
          'sign every in-toto Statement (a DSSE envelope in a sigstore bundle, attached as a referrer): `cosign verify-attestation --key KEY.pub --insecure-ignore-tlog` accepts it',
        ),
      command: z
        .array(z.string().min(1))
        .min(1)
        .optional()
        .describe(
          'a command run after each push (argv, no shell), with BUILD_IMAGES_REF (the tag), BUILD_IMAGES_DIGEST and BUILD_IMAGES_SUBJECT (repository@digest) in its environment: cosign sign, notation sign',
        ),
    })
    .optional(),
  signFormat: z
    .enum(['referrers', 'legacy'])
    .optional()
    .describe(
      "referrers (the default): each signature a sigstore bundle referrer (cosign 3); legacy: the DSSE envelopes in cosign's `sha256-<hex>.att` tag instead, for podman, skopeo and cosign <= 2.5",
    ),
  storage: z
    .enum(['referrers', 'index'])
    .optional()
    .describe(
      "referrers (the default): each document an OCI 1.1 referrer of the pushed manifest, the tag unchanged; index: BuildKit's layout instead, for Docker Scout and `buildx imagetools`: every pushed tag moved onto an OCI index of the image's manifest and an `unknown/unknown` attestation manifest of in-toto Statements",
    ),
});

const platformSchema = z.string().regex(PLATFORM_PATTERN, 'a platform is os/arch or os/arch/variant: linux/amd64');
const cacheMode = z.enum(['min', 'max']).default('min').describe("min: the final image's layers; max: every stage's and step's too");

export const imageSchema = z.strictObject({
  description: z.string().optional(),
  base: baseSchema,
  tags: z.array(z.string().min(1)).min(1).describe('every tag the image gets; ${VARIABLES} allowed'),
  deployTags: z.array(z.string().min(1)).min(1).optional().describe("what deploy tags and pushes instead of `tags`, such as ONAP's ${TIMESTAMP} tags"),
  aliases: z.array(name('target')).default([]).describe('more target names for this image'),
  dependsOn: z.array(z.string()).default([]).describe('images that must build first'),
  version: lineField.optional().describe('org.opencontainers.image.version (default: the first tag)'),
  labels: z.record(lineField.regex(/\S/, 'a label key may not be empty'), lineField).default({}),
  args: z.record(variableName, z.string()).default({}).describe('build args (ARG in the Dockerfile)'),
  steps: z.array(stepSchema).default([]),
  platforms: z
    .array(platformSchema)
    .min(1)
    .refine((list) => new Set(list).size === list.length, 'a platform is named once')
    .optional()
    .describe(
      "the platforms it is built for (default: the builder's own); several make one image index (BuildKit on the containerd image store); --platform sets them for a run",
    ),
  cache: z
    .strictObject({
      from: z
        .array(
          z.union([
            z.string().min(1),
            z.strictObject({
              type: z.literal('local'),
              src: z.string().min(1).describe('a cache directory (an OCI image layout, as --cache-to type=local writes it), relative to this file'),
            }),
          ]),
        )
        .default([])
        .describe(
          'images (or exported caches) whose layers a build may reuse (as --cache-from), and {type: local, src: DIR}; the tags the line pushes always are',
        ),
      to: z
        .union([
          z.enum(['inline', 'none']),
          z.discriminatedUnion('type', [
            z.strictObject({
              type: z.literal('registry'),
              ref: z.string().min(1).describe("where the cache goes: REGISTRY/REPOSITORY:TAG, a tag of its own (not one of the image's)"),
              mode: cacheMode,
            }),
            z.strictObject({
              type: z.literal('local'),
              dest: z.string().min(1).describe('where the cache goes: a directory (an OCI image layout, as buildx writes it), relative to this file'),
              mode: cacheMode,
            }),
          ]),
        ])
        .default('inline')
        .describe(
          'inline: the image carries its cache metadata, so the next build on another machine can reuse its layers; {type: registry, ref, mode}: the cache goes to a registry tag of its own; {type: local, dest, mode}: to a directory (both BuildKit on the containerd image store only)',
        ),
    })
    .default({ from: [], to: 'inline' })
    .describe('layer cache from images in a registry or from directories, as buildx takes it'),
  attestations: attestationsSchema.optional().describe("this image's attestations: its keys replace the top level's"),
});

/** A machine that builds: an engine (local, tcp:// with TLS, ssh://) or a standalone buildkitd (unix://, tcp:// with TLS). */
export const builderSchema = z.strictObject({
  name: name('builder').describe('how the run names it: in its events, errors and --metadata-file'),
  endpoint: z
    .string()
    .regex(/^(unix|tcp|ssh):\/\/\S+$/, 'an endpoint is unix:///path, tcp://host:port or ssh://[user@]host[:port]')
    .describe(
      "unix:///var/run/docker.sock, tcp://host:2376 (with tls), ssh://user@host (the docker CLI's way: `docker system dial-stdio` there); a buildkitd: unix:///run/buildkit/buildkitd.sock, tcp://host:1234 (with tls); ${VARIABLES} allowed",
    ),
  kind: z
    .enum(['engine', 'buildkitd'])
    .default('engine')
    .describe("a Docker engine, or a standalone buildkitd (what it builds is loaded into DOCKER_HOST's engine)"),
  platforms: z
    .array(platformSchema)
    .min(1)
    .optional()
    .describe('what it builds for (default: anything); an image that names a platform goes only to a builder that lists it'),
  capacity: z.number().int().min(1).max(64).optional().describe('images it builds at once (default: --concurrency, 2)'),
  tls: z
    .strictObject({
      ca: z.string().min(1).describe('the CA that signed the server (project-relative or absolute path)'),
      cert: z.string().min(1).describe("this client's certificate"),
      key: z.string().min(1).describe("this client's key"),
    })
    .optional()
    .describe("mutual TLS for a tcp:// endpoint, as DOCKER_TLS_VERIFY with DOCKER_CERT_PATH, or buildx remote driver's cacert/cert/key"),
});

/** What one builder's fields cannot say alone: names are unique, TLS is for tcp:// only. */
function builderRules(builders: readonly z.output<typeof builderSchema>[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  builders.forEach((builder, i) => {
    if (seen.has(builder.name))
      ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `a second builder named ${builder.name}: each needs a name of its own` });
    seen.add(builder.name);
    if (builder.tls && !builder.endpoint.startsWith('tcp://')) {
      ctx.addIssue({ code: 'custom', path: [i, 'tls'], message: `tls is for a tcp:// endpoint; ${builder.endpoint.split(':')[0]}:// brings its own security` });
    }
    if (builder.kind === 'buildkitd' && builder.endpoint.startsWith('ssh://')) {
      ctx.addIssue({
        code: 'custom',
        path: [i, 'endpoint'],
        message: "a buildkitd is reached on unix:// or tcp:// (with tls), as buildx's remote driver reaches it; ssh:// is for an engine",
      });
    }
  });
}

export const buildersSchema = z.array(builderSchema).min(1).superRefine(builderRules);

export const configSchema = z.strictObject({
  source: lineField.optional().describe('org.opencontainers.image.source of every image'),
  variables: z.record(variableName, variableSchema).default({}),
  sources: z.record(name('source'), z.string()).default({}).describe('named directories that may lie outside the project, used in paths as NAME:path'),
  images: z.record(name('image'), imageSchema),
  groups: z.record(name('group'), z.array(z.string()).min(1)).default({}),
  actionTargets: z
    .array(z.string())
    .min(1)
    .optional()
    .describe('what deploy, deploy_latest, rmi, clean and distclean act on when the command line names no image (default: every image)'),
  credentials: z.array(credentialSchema).default([]).describe("environment variables that carry a registry's credentials; they go to that registry only"),
  secrets: z
    .record(secretId, z.union([z.strictObject({ env: variableName }), z.strictObject({ file: z.string().min(1) })]))
    .default({})
    .describe('secrets a run step may mount (BuildKit), read from an environment variable or a file at build time; never in the image'),
  attestations: attestationsSchema
    .optional()
    .describe('which documents every image gets (an image may say otherwise; --sbom and --provenance beat both), and how they are signed (issue 22)'),
  builders: buildersSchema
    .optional()
    .describe('the machines that build, spread by platform and free capacity (default: the one engine of DOCKER_HOST); BUILD_IMAGES_BUILDERS overrides'),
  registryCheck: z
    .boolean()
    .default(true)
    .describe(
      'before building an image the line pushes, ask its registry whether a pushed tag already carries the same inputs (then nothing is pulled, built or uploaded); --no-registry-check turns it off',
    ),
});

export type Config = z.output<typeof configSchema>;
export type BuilderConfig = z.output<typeof builderSchema>;
export type ImageConfig = z.output<typeof imageSchema>;
export type AttestationsConfig = z.output<typeof attestationsSchema>;

export function jsonSchema(): unknown {
  return {
    ...z.toJSONSchema(configSchema, { target: 'draft-2020-12', io: 'input' }),
    title: 'build-images configuration (build.config.yaml)',
  };
}
