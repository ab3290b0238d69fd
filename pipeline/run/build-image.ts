// One image, from its base and context to its tags (its host commands ran before: run-builds.ts). The
// digest of its inputs (the context's entries and contents, the base image ID, the build args) goes into a
// label, so that the next run can tell, from the engine alone, that the image for every tag is already what
// these inputs make.
import { createHash } from 'node:crypto';
import { imageRef, registryOf, repositoryDigests, repositoryOf } from '../model/image-ref.ts';
import { Interrupted, RunError } from '../model/errors.ts';
import { sortedEntries, type PackEntry, type PlainSource } from '../model/context-entries.ts';
import { digestContext, fileChunksInPlace, listEntries, packEntries, type ContextDigest } from '../context/pack-context.ts';
import { DIGEST_LABEL, IMAGE_LABEL, labelArgs } from '../plan/labels.ts';
import type { ImagePlan } from '../plan/plan.ts';
import { DOCKERFILE_KEY, rebuildReason, recordLabels, type RebuildReason, type RecordLabels } from '../plan/rebuild-reason.ts';
import type { ImageInfo } from '../engine/engine.ts';
import { editStandIns, outputStandIns, resolveEdits, resolveFetches, type FetchedSource } from '../context/resolve-sources.ts';
import type { RemoteImage } from '../registry/registry-images.ts';
import { cacheUse } from './cache-exports.ts';
import { cacheSources, checksRegistry, previousInRegistry, remoteBaseId, upToDateInRegistry } from './registry-cache.ts';
import type { RunOptions, RunServices } from './services.ts';
import type { RunEvent } from './events.ts';
import type { FetchRecord } from '../attest/inventory.ts';

/** What building one image uses of a run's services and options. */
export type BuildServices = Pick<
  RunServices,
  'images' | 'builder' | 'emit' | 'signal' | 'fetcher' | 'credentials' | 'digests' | 'secret' | 'edit' | 'registry' | 'remoteDigest' | 'inputs'
>;
export type BuildOptions = Pick<
  RunOptions,
  | 'noCache'
  | 'pull'
  | 'stamp'
  | 'extraLabels'
  | 'projectDir'
  | 'pushRefs'
  | 'cacheFrom'
  | 'cacheFromDirs'
  | 'inlineCache'
  | 'registryCache'
  | 'localCache'
  | 'registryCheck'
> & {
  /** Told as a build is posted. */
  onBuilding?: () => void;
};

export type BuildResult =
  | { status: 'built'; id: string; reason: string; changed?: string[] }
  | { status: 'skipped'; id: string; reason: string }
  /** Up to date in the registry: nothing pulled, built or pushed; `id` is what a pull would give it (registry-cache.ts). */
  | { status: 'skipped'; id: string; reason: string; registry: { name: string; digest: string }; remote: RemoteImage };

/** The context (its Dockerfile holds the steps and the labels), the base, the build args, the platforms named. */
export function inputsDigest(inputs: { context: string; baseId: string; args: Readonly<Record<string, string>>; platforms?: readonly string[] }): string {
  // An image that names no platform keeps the digest it always had.
  const platforms = inputs.platforms ? [inputs.platforms] : [];
  const canonical = JSON.stringify([inputs.context, inputs.baseId, sortedEntries(inputs.args), ...platforms]);
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

/** A base's identity for the digest, and how it is put on the engine when a build needs it there. */
interface BaseImage {
  id: string;
  /** Absent when the engine has it already; else pulls it, and gives what to read its files by. */
  fetch?: () => Promise<string>;
}

/** Pulls a base with its registry's credentials; the ID the engine then gives it. */
async function pullBase(image: ImagePlan, ref: string, settings: BuildServices): Promise<string> {
  settings.emit({ type: 'pull', image: image.name, ref });
  const auth = await settings.credentials(registryOf(ref));
  await settings.images.pull(ref, auth, (line) => settings.emit({ type: 'log', image: image.name, line }), settings.signal);
  const pulled = await settings.images.inspectImage(ref);
  if (!pulled) throw new RunError(`pulled ${ref}, but the engine does not have it`);
  return pulled.id;
}

/**
 * The base: on the engine already, or (when the image may be up to date in a registry) known by the ID a
 * pull would give it, from the registry, pulled only if the image must be built after all; else pulled now.
 */
async function resolveBase(image: ImagePlan, builtBases: ReadonlyMap<string, BaseRun>, settings: BuildServices, options: BuildOptions): Promise<BaseImage> {
  if (image.base.kind === 'image') {
    const base = builtBases.get(image.base.image)!;
    const from = image.from;
    return base.remote ? { id: base.id, fetch: () => pullRemote(image, base.remote!, from, settings) } : { id: base.id };
  }
  const ref = image.base.ref;
  const local = options.pull ? undefined : await settings.images.inspectImage(ref);
  if (local) return { id: local.id };
  const remote = checksRegistry(image, options) ? await remoteBaseId(ref, settings) : undefined;
  if (remote) return { id: remote, fetch: () => pullBase(image, ref, settings) };
  return { id: await pullBase(image, ref, settings) };
}

/** A graph base that was up to date in its registry, pulled by digest and tagged as FROM names it. */
async function pullRemote(image: ImagePlan, remote: RemoteImage, from: string, settings: BuildServices): Promise<string> {
  const ref = imageRef(remote.ref);
  const byDigest = `${repositoryOf(ref)}@${remote.digest}`;
  await pullBase(image, byDigest, settings);
  await settings.images.tag(byDigest, from);
  return from;
}

/** What a build is given of an image it is built on: its ID, and where it is when only a registry has it. */
export interface BaseRun {
  id: string;
  remote?: RemoteImage;
}

/** What an image's digest is made of, and the digest: decided before its build, and for its commands. */
interface ImageInputs {
  base: BaseImage;
  fetched: FetchedSource[];
  /** The entries the digest was made of: edits and reproducible outputs by their stand-ins. */
  entries: PackEntry[];
  /** Whether an output stood in: the build then lists its entries again, from the disk. */
  outputsStoodIn: boolean;
  context: ContextDigest;
  digest: string;
  current: readonly (ImageInfo | undefined)[];
  /** The digest cache being written; a failure to write still fails the image, after it. */
  saving?: Promise<void>;
  /** Tells the run's record of inputs (for the SBOM) what the image is made of, and gives the result back. */
  record<R extends BuildResult>(result: R, packed?: readonly PackEntry[]): R;
}

/** Whether the image must be built, decided from its inputs; `made` when it need not be. */
export interface Decision {
  inputs: ImageInputs;
  /** What the registry has under each push tag asked. */
  held: Map<string, RemoteImage | undefined>;
  made?: BuildResult;
}

/**
 * Whether the image is up to date (on the engine, or in its registry), told by its inputs alone. `outputs`
 * stand in for its reproducible commands' outputs: with them it is decided before the commands run.
 */
export async function decide(
  image: ImagePlan,
  builtBases: ReadonlyMap<string, BaseRun>,
  settings: BuildServices,
  options: BuildOptions,
  outputs: ReadonlyMap<string, string> = new Map(),
): Promise<Decision> {
  const inputs = await imageInputs(image, builtBases, settings, options, outputs);
  const { digest, current, saving } = inputs;
  const held = new Map<string, RemoteImage | undefined>();
  const made = async (result: BuildResult | undefined): Promise<Decision> => {
    if (result) await saving;
    return { inputs, held, ...(result ? { made: inputs.record(result) } : {}) };
  };
  if (options.noCache) return made(undefined);
  const match = current.find((info) => info?.labels[DIGEST_LABEL] === digest);
  if (match) return made(await skip(image, settings, current, match));
  const known = await settings.images.knownImage(DIGEST_LABEL, digest);
  if (known) return made(await skip(image, settings, current, known));
  return made(checksRegistry(image, options) ? await upToDateInRegistry(image, digest, options.pushRefs!.get(image.name)!, settings, held) : undefined);
}

async function imageInputs(
  image: ImagePlan,
  builtBases: ReadonlyMap<string, BaseRun>,
  settings: BuildServices,
  options: BuildOptions,
  outputs: ReadonlyMap<string, string>,
): Promise<ImageInputs> {
  const base = await resolveBase(image, builtBases, settings, options);
  // The tags' images are asked for while the context is resolved, listed and digested: the answer does not
  // depend on them, and the engine's round trip then costs no time of its own.
  const inspecting = Promise.all(image.tags.map((tag) => settings.images.inspectImage(tag)));
  inspecting.catch(() => {});
  const fetches: FetchRecord[] = [];
  const fetched = await resolveFetches(image.context, settings.fetcher, fetches, true);
  // Edits of the base's files enter the digest by what they do (editStandIns), not by their bytes; the
  // outputs of reproducible commands by what makes them (outputStandIns).
  const standIns = outputStandIns(editStandIns(fetched), outputs);
  const entries = await listEntries(standIns);
  // What the image is made of, for its SBOM: the entries as packed, or (not built now) with the stand-ins named.
  const standInNames = fetched.filter((source, i) => source.kind === 'image-file' || standIns[i] !== source).map((source) => source.name);
  const record = <R extends BuildResult>(result: R, packed: readonly PackEntry[] = entries): R => {
    settings.inputs?.record(image.name, { imageId: result.id, entries: packed, standIns: packed === entries ? standInNames : [], fetches });
    return result;
  };
  const context = await digestContext(entries, settings.digests);
  const saving = settings.digests?.save();
  saving?.catch(() => {});
  const digest = inputsDigest({ context: context.sha256, baseId: base.id, args: image.args, ...(image.platforms ? { platforms: image.platforms } : {}) });
  const outputsStoodIn = standIns.some((source, i) => source !== fetched[i] && fetched[i]!.kind === 'path');
  return { base, fetched, entries, outputsStoodIn, context, digest, current: await inspecting, saving, record };
}

export async function buildImage(
  image: ImagePlan,
  builtBases: ReadonlyMap<string, BaseRun>,
  settings: BuildServices,
  options: BuildOptions,
  decided?: Decision,
): Promise<BuildResult> {
  const { inputs, held, made } = decided ?? (await decide(image, builtBases, settings, options));
  if (made) return made;
  const { base, context, digest, current, saving } = inputs;
  // Pinned files stood in by their pins while deciding: the build needs their bodies.
  const deferred = inputs.fetched.some((source) => source.kind === 'pinned');
  const fetched = deferred ? await resolveFetches(image.context, settings.fetcher) : inputs.fetched;
  const record = { baseId: base.id, args: image.args, manifest: { ...context.manifest, [DOCKERFILE_KEY]: context.dockerfile } };
  // Made once, for the reason and for the build: a large context's manifest is measured and folded to make them.
  const labels = recordLabels(record);
  const tagged = current.find((info) => info);
  const why = options.noCache
    ? async () => ({ reason: '--no-cache' })
    : async () => rebuildReason((tagged ?? previousInRegistry(held) ?? (await earlierImage(image, settings)))?.labels, record, labels);
  const readFrom = base.fetch ? await base.fetch() : base.id;
  const edited = await resolveEdits(fetched, {
    readBaseFile: (file) => settings.images.readFile(readFrom, file, options.extraLabels),
    edit: settings.edit,
  });
  const cacheFrom = await cacheSources(image, options, settings, held);
  if (cacheFrom.length > 0 && settings.builder.name === 'classic') {
    settings.emit({
      type: 'notice',
      message: `${image.name}: the classic builder reuses layers only of cache images already on the engine (it pulls none of ${cacheFrom.join(', ')}) and exports no inline cache; BuildKit does both`,
    });
  }
  // The outputs are on the disk now: the build sends them, not their stand-ins.
  const listed = inputs.outputsStoodIn || deferred ? await listEntries(editStandIns(fetched)) : inputs.entries;
  const entries = await withEdits(listed, fetched, edited.sources);
  const baseDigest = await baseDigestOf(image, builtBases, settings);
  const buildInputs = { entries, args: { ...image.args, ...edited.args }, labels, digest, why, cacheFrom, baseDigest };
  const result = options.noCache
    ? await buildAndTag(image, settings, options, buildInputs)
    : await buildUnlessMade(image, settings, options, buildInputs, current);
  await saving;
  // Called off because the image was there already: what it holds is the stand-ins' image, not these bytes.
  return result.status === 'built' ? inputs.record(result, entries) : inputs.record(result);
}

/**
 * The base's manifest digest: pinned in the reference, or the engine's record of it in that repository, or
 * (a graph base up to date in its registry) the registry's; '' when none is known (a base built in this run
 * is pushed only after).
 */
async function baseDigestOf(image: ImagePlan, builtBases: ReadonlyMap<string, BaseRun>, settings: BuildServices): Promise<string> {
  if (image.base.kind === 'image') return builtBases.get(image.base.image)?.remote?.digest ?? '';
  const ref = imageRef(image.base.ref);
  if (ref.digest) return ref.digest;
  const info = await settings.images.inspectImage(image.base.ref).catch(() => undefined);
  return (info && repositoryDigests(info.repoDigests, ref)[0]) ?? '';
}

/** The listed entries with each edit's stand-in replaced by the edited file. */
async function withEdits(entries: readonly PackEntry[], fetched: readonly FetchedSource[], sources: readonly PlainSource[]): Promise<PackEntry[]> {
  const names = new Set(fetched.filter((source) => source.kind === 'image-file').map((source) => source.name));
  if (names.size === 0) return [...entries];
  const edits = sources.filter((source) => names.has(source.name));
  const made = new Map((await listEntries(edits)).map((entry) => [entry.name, entry]));
  return entries.map((entry) => made.get(entry.name) ?? entry);
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
  /** The images the registry has that the build may take layers from. */
  cacheFrom: string[];
  /** The base's manifest digest, for its label; '' when unknown. */
  baseDigest: string;
}

async function buildAndTag(
  image: ImagePlan,
  settings: BuildServices,
  options: BuildOptions,
  { entries, args, labels, digest, why, cacheFrom, baseDigest }: BuildInputs,
): Promise<BuildResult> {
  if (settings.signal.aborted) throw new Interrupted();
  const { fromDirs, ...exports } = await cacheUse(image, settings, options);
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
        'org.opencontainers.image.base.name': image.from,
        'org.opencontainers.image.base.digest': baseDigest,
      }),
    },
    labels: options.extraLabels,
    noCache: options.noCache,
    base: { ref: image.from, digest: baseDigest },
    ...(image.platforms ? { platforms: image.platforms } : {}),
    signal: settings.signal,
    onProgress: (event) =>
      settings.emit(event.kind === 'step' ? { type: 'step', image: image.name, step: event.step } : { type: 'log', image: image.name, line: event.line }),
    credentials: settings.credentials,
    secrets: new Map([...secrets].map(([id, value]) => [id, async () => value])),
    // The tags this line pushes hold the previous image: on a fresh runner its layers are the only cache.
    cache: {
      from: cacheFrom,
      ...(fromDirs.length ? { fromDirs } : {}),
      inline: options.inlineCache ?? image.cache.inline,
      ...exports,
    },
  });

  // Past this point the tags go on together: an interrupt waits for them rather than leave half of them.
  for (const tag of image.tags) await settings.images.tag(id, tag);
  return { status: 'built', id, ...(await reasoning) };
}
