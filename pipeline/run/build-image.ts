// One image, from its base and context to its tags (its host commands ran before: run-builds.ts). The
// digest of its inputs (the context's entries and contents, the base image ID, the build args) goes into a
// label, so that the next run can tell, from the engine alone, that the image for every tag is already what
// these inputs make.
import { createHash } from 'node:crypto';
import { imageRef, registryOf, repositoryOf } from '../model/image-ref.ts';
import { Interrupted, RunError } from '../model/errors.ts';
import { sortedEntries, type PackEntry } from '../model/context-entries.ts';
import { digestContext, fileChunksInPlace, listEntries, packEntries } from '../context/pack-context.ts';
import { DIGEST_LABEL, IMAGE_LABEL, labelArgs } from '../plan/labels.ts';
import type { ImagePlan } from '../plan/plan.ts';
import { DOCKERFILE_KEY, rebuildReason, recordLabels, type RebuildReason, type RecordLabels } from '../plan/rebuild-reason.ts';
import type { ImageInfo } from '../engine/engine.ts';
import { resolveSources } from '../context/resolve-sources.ts';
import type { RunOptions, RunServices } from './services.ts';
import type { RunEvent } from './events.ts';

/** What building one image uses of a run's services and options. */
export type BuildServices = Pick<RunServices, 'images' | 'builder' | 'emit' | 'signal' | 'fetcher' | 'credentials' | 'digests' | 'secret' | 'edit'>;
export type BuildOptions = Pick<RunOptions, 'noCache' | 'pull' | 'stamp' | 'extraLabels' | 'projectDir'> & {
  /** Told as a build is posted. */
  onBuilding?: () => void;
};

export type BuildResult = { status: 'built'; id: string; reason: string; changed?: string[] } | { status: 'skipped'; id: string; reason: string };

/** The context (its Dockerfile holds the steps and the labels), the base, the build args. */
export function inputsDigest(inputs: { context: string; baseId: string; args: Readonly<Record<string, string>> }): string {
  const canonical = JSON.stringify([inputs.context, inputs.baseId, sortedEntries(inputs.args)]);
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

/** The ID of a base given by reference: the local image, pulled only when absent (or when asked to). */
async function resolveBase(image: ImagePlan, ref: string, settings: BuildServices, pull: boolean): Promise<string> {
  const local = pull ? undefined : await settings.images.inspectImage(ref);
  if (local) return local.id;
  settings.emit({ type: 'pull', image: image.name, ref });
  const auth = await settings.credentials(registryOf(ref));
  await settings.images.pull(ref, auth, (line) => settings.emit({ type: 'log', image: image.name, line }), settings.signal);
  const pulled = await settings.images.inspectImage(ref);
  if (!pulled) throw new RunError(`pulled ${ref}, but the engine does not have it`);
  return pulled.id;
}

export async function buildImage(
  image: ImagePlan,
  builtBases: ReadonlyMap<string, string>,
  settings: BuildServices,
  options: BuildOptions,
): Promise<BuildResult> {
  const baseId = image.base.kind === 'ref' ? await resolveBase(image, image.base.ref, settings, options.pull) : builtBases.get(image.base.image)!;

  // The tags' images are asked for while the context is resolved, listed and digested: the answer does not
  // depend on them, and the engine's round trip then costs no time of its own.
  const inspecting = Promise.all(image.tags.map((tag) => settings.images.inspectImage(tag)));
  inspecting.catch(() => {});
  const resolved = await resolveSources(image.context, {
    fetcher: settings.fetcher,
    readBaseFile: (file) => settings.images.readFile(baseId, file, options.extraLabels),
    edit: settings.edit,
  });
  const args = { ...image.args, ...resolved.args };
  const entries = await listEntries(resolved.sources);
  const context = await digestContext(entries, settings.digests);
  // Written while the build is decided and run; a failure to write still fails the image, after it.
  const saving = settings.digests?.save();
  saving?.catch(() => {});
  const digest = inputsDigest({ context: context.sha256, baseId, args });

  const current = await inspecting;
  const match = options.noCache ? undefined : current.find((info) => info?.labels[DIGEST_LABEL] === digest);
  if (match) {
    await saving;
    return skip(image, settings, current, match);
  }
  const record = { baseId, args, manifest: { ...context.manifest, [DOCKERFILE_KEY]: context.dockerfile } };
  // Made once, for the reason and for the build: a large context's manifest is measured and folded to make them.
  const labels = recordLabels(record);
  const tagged = current.find((info) => info);
  const why = options.noCache
    ? async () => ({ reason: '--no-cache' })
    : async () => rebuildReason((tagged ?? (await earlierImage(image, settings)))?.labels, record, labels);
  const inputs = { entries, args, labels, digest, why };
  const known = options.noCache ? undefined : await settings.images.knownImage(DIGEST_LABEL, digest);
  const result = known
    ? await skip(image, settings, current, known)
    : options.noCache
      ? await buildAndTag(image, settings, options, inputs)
      : await buildUnlessMade(image, settings, options, inputs, current);
  await saving;
  return result;
}

/**
 * An image these inputs made earlier may be there under no tag of ours (a change undone), and finding it
 * means listing the engine's images by label: 40-200 ms of the engine's, growing with its images. The build
 * starts meanwhile, its progress held back; if the image turns up, the build is called off and the image
 * tagged instead.
 */
async function buildUnlessMade(
  image: ImagePlan,
  settings: BuildServices,
  options: BuildOptions,
  inputs: BuildInputs,
  current: readonly (ImageInfo | undefined)[],
): Promise<BuildResult> {
  const searching = settings.images.findImage(DIGEST_LABEL, inputs.digest);
  const callOff = new AbortController();
  const stop = () => callOff.abort();
  settings.signal.addEventListener('abort', stop, { once: true });
  const held: RunEvent[] = [];
  let decided = false;
  const emit = (event: RunEvent) => (decided ? settings.emit(event) : held.push(event));
  const building = buildAndTag(image, { ...settings, signal: callOff.signal, emit }, options, inputs);
  building.catch(() => {});
  try {
    const made = await searching.catch(async (err: unknown) => {
      callOff.abort();
      await building.catch(() => {});
      throw err;
    });
    if (made) {
      callOff.abort();
      await building.catch(() => {});
      if (settings.signal.aborted) throw new Interrupted();
      return await skip(image, settings, current, made);
    }
    decided = true;
    for (const event of held.splice(0)) settings.emit(event);
    return await building;
  } finally {
    settings.signal.removeEventListener('abort', stop);
  }
}

/** When no tag names an image yet: the newest built earlier for this config image, under tags it has now. */
function earlierImage(image: ImagePlan, settings: BuildServices): Promise<ImageInfo | undefined> {
  const repositories = [...new Set(image.tags.map((tag) => repositoryOf(imageRef(tag))))];
  return settings.images.newestImage(IMAGE_LABEL, image.name, repositories);
}

/** The image these inputs already made: a tag that is new (ONAP's timestamped one) goes on it. */
async function skip(image: ImagePlan, settings: BuildServices, current: readonly (ImageInfo | undefined)[], made: ImageInfo): Promise<BuildResult> {
  for (const [i, tag] of image.tags.entries()) if (current[i]?.id !== made.id) await settings.images.tag(made.id, tag);
  return { status: 'skipped', id: made.id, reason: 'up to date' };
}

interface BuildInputs {
  entries: PackEntry[];
  args: Record<string, string>;
  labels: RecordLabels;
  digest: string;
  /** Asked only when a build starts, and told while it runs: it may list the engine's images. */
  why: () => Promise<RebuildReason>;
}

async function buildAndTag(
  image: ImagePlan,
  settings: BuildServices,
  options: BuildOptions,
  { entries, args, labels, digest, why }: BuildInputs,
): Promise<BuildResult> {
  if (settings.signal.aborted) throw new Interrupted();
  // Read as the build starts, so that an unset variable or an unreadable file is our error naming it, not
  // the daemon's about a session; a secret is small.
  const secrets = new Map(await Promise.all(image.secrets.map(async (id) => [id, await settings.secret(id)()] as const)));
  options.onBuilding?.();
  const reasoning = why();
  reasoning.catch(() => {});
  const id = await settings.builder.build({
    context: { entries, tar: () => packEntries(entries), read: fileChunksInPlace, key: `${options.projectDir}\0${image.name}` },
    buildargs: {
      ...args,
      ...labelArgs({
        ...labels,
        [DIGEST_LABEL]: digest,
        'org.opencontainers.image.created': options.stamp.created,
        'org.opencontainers.image.revision': options.stamp.revision,
      }),
    },
    labels: options.extraLabels,
    noCache: options.noCache,
    signal: settings.signal,
    onProgress: (event) =>
      settings.emit(event.kind === 'step' ? { type: 'step', image: image.name, step: event.step } : { type: 'log', image: image.name, line: event.line }),
    credentials: settings.credentials,
    secrets: new Map([...secrets].map(([id, value]) => [id, async () => value])),
  });

  // Past this point the tags go on together: an interrupt waits for them rather than leave half of them.
  for (const tag of image.tags) await settings.images.tag(id, tag);
  return { status: 'built', id, ...(await reasoning) };
}
