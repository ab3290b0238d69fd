// The labels every image gets, in one place: the OCI ones, and build-images' own records of its inputs.
// Those known when planning are written in the Dockerfile; those known only at build time (the inputs'
// digest and records, which the Dockerfile, being an input, cannot hold; the time; the revision) reach
// the same LABEL instruction through build args.
import { instruction, quoted } from './dockerfile.ts';
import { UserError } from '../model/errors.ts';

export const DIGEST_LABEL = 'build-images.digest';
export const BASE_LABEL = 'build-images.base';
export const ARGS_LABEL = 'build-images.args';
export const INPUTS_LABEL = 'build-images.inputs';
/** The config's name of the image, which stays when its tags change: the next build's reason is told against it. */
export const IMAGE_LABEL = 'build-images.image';
const OCI = 'org.opencontainers.image';

export const LABEL_ARGS = {
  [DIGEST_LABEL]: 'BI_DIGEST',
  [BASE_LABEL]: 'BI_BASE',
  [ARGS_LABEL]: 'BI_ARGS',
  [INPUTS_LABEL]: 'BI_INPUTS',
  [`${OCI}.created`]: 'BI_CREATED',
  [`${OCI}.revision`]: 'BI_REVISION',
  // What scanners and policies read of the base: its reference as FROM names it, and its manifest's digest
  // where the engine or registry knows it (empty for a base known only by its local ID).
  [`${OCI}.base.name`]: 'BI_BASE_NAME',
  [`${OCI}.base.digest`]: 'BI_BASE_DIGEST',
} as const;

export type BuildTimeLabels = Readonly<Record<keyof typeof LABEL_ARGS, string>>;

/** The OCI labels known when planning; a user's labels of the same name win over them. */
export function ociLabels(title: string, version: string, source: string | undefined): Record<string, string> {
  return { [`${OCI}.title`]: title, [`${OCI}.version`]: version, ...(source ? { [`${OCI}.source`]: source } : {}) };
}

/** The build args that carry the build-time labels. */
export function labelArgs(labels: BuildTimeLabels): Record<string, string> {
  return Object.fromEntries(Object.entries(LABEL_ARGS).map(([label, arg]) => [arg, labels[label as keyof BuildTimeLabels]]));
}

/**
 * All labels in one LABEL instruction, last: the classic builder commits a layer per label when they come
 * through the API's `labels` parameter (a second for eight labels, measured), and a build arg declared
 * before a RUN enters its cache key, so these must come after every RUN. A value is written as it is: a
 * `$` stays a `$`, a tab a tab (JSON's escapes, used here before, came out as `\t` in the label).
 */
export function labelInstructions(labels: Readonly<Record<string, string>>): string[] {
  return [
    instruction('ARG', Object.values(LABEL_ARGS)),
    instruction(
      'LABEL',
      Object.entries(labels).map(([key, value]) => `${quoted(key)}=${quoted(value)}`),
      Object.entries(LABEL_ARGS).map(([key, arg]) => `${quoted(key)}="\${${arg}}"`),
    ),
  ];
}

/**
 * org.opencontainers.image.created: now, or SOURCE_DATE_EPOCH's time (reproducible-builds.org), which buildx
 * honours too; a value that is not whole seconds since the epoch is the user's mistake, named.
 */
export function createdStamp(env: Readonly<Record<string, string | undefined>>, now: Date = new Date()): string {
  const epoch = env['SOURCE_DATE_EPOCH'];
  if (epoch === undefined || epoch === '') return now.toISOString();
  if (!/^\d{1,12}$/.test(epoch))
    throw new UserError({
      message: `SOURCE_DATE_EPOCH=${epoch}: expected whole seconds since 1970-01-01 UTC`,
      hint: 'e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)',
    });
  return new Date(Number(epoch) * 1000).toISOString();
}
