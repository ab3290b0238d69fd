// Builds a selection of images: each starts once what it is built on is done, at most `concurrency` builds
// at a time (host commands take no slot), or, with builders configured, as many as each builder's capacity
// on the builder the pool places it on (builder-pool.ts). A failure fails the images that depend on it and, unless keepGoing, starts nothing new (builds
// already running finish, as make's do).
import { refuseUnbuildablePlatforms } from './platform-refusals.ts';
import { buildImage, decide, type BaseRun, type BuildOptions, type BuildServices, type Decision } from './build-image.ts';
import { createRecipes, type Recipes } from './command-recipe.ts';
import { readsOutputsWhole } from '../context/resolve-sources.ts';
import { isMissingInput, runCommands } from './host-command.ts';
import { formatPosition, Interrupted, RunError, UserError, type Problem } from '../model/errors.ts';
import type { ImageStatus, RunEvent } from './events.ts';
import type { RemoteImage } from '../registry/registry-images.ts';
import { imageRef, registryOf, repositoryDigests } from '../model/image-ref.ts';
import { remoteImageId } from './registry-cache.ts';
import type { Selection } from '../plan/phases.ts';
import type { ImagePlan, Plan } from '../plan/plan.ts';
import type { RunOptions, RunServices } from './services.ts';
import { builderPool, type BuilderPool, type Placed } from './builder-pool.ts';
import type { BuildMachine } from '../engine/engine.ts';

export type SchedulerOptions = BuildOptions & Pick<RunOptions, 'concurrency' | 'keepGoing'>;

export interface ImageRun {
  name: string;
  status: ImageStatus;
  id?: string;
  reason?: string;
  changed?: string[];
  error?: string;
  hint?: string;
  /** Up to date in a registry: where, and what it holds there (it is not on the engine). */
  registry?: { name: string; digest: string };
  remote?: RemoteImage;
  /** A config error found only as it was built (a base image without the file an edit names): exit 2. */
  problems?: Problem[];
  /** The configured builder whose engine holds it (none without `builders:`). */
  builder?: string;
}

export async function runBuilds(
  plan: Plan,
  selection: Selection,
  settings: BuildServices & Pick<RunServices, 'machines'>,
  options: SchedulerOptions,
  done: ReadonlyMap<string, ImageRun> = new Map(),
): Promise<Map<string, ImageRun>> {
  const commands = selection.commands.flatMap(({ image, name }) => plan.images.get(image)!.hostCommands.filter((c) => c.name === name));
  await runCommands(commands, settings, options.keepGoing);

  // Without builders, the one engine is a pool of one whose capacity is --concurrency: today's semaphore.
  const named = settings.machines !== undefined;
  const pool = builderPool(
    settings.machines ?? [{ name: 'engine', images: settings.images, builder: settings.builder, capacity: Math.max(1, options.concurrency) }],
  );
  const recipes = createRecipes(settings.digests, new Set([...plan.images.values()].flatMap((image) => image.hostCommands.flatMap((c) => c.outputs))));
  let stoppedBy: string | undefined;
  const jobs = new Map<string, Promise<ImageRun>>();
  /** Why nothing new may start now: Ctrl-C, or a failure without --keep-going. */
  const stopReason = (): { error: string; hint?: string } | undefined => {
    if (settings.signal.aborted) return { error: 'not built: interrupted' };
    if (stoppedBy) return { error: `not built: the run stopped after ${stoppedBy} failed`, hint: 'use --keep-going to build what does not depend on it' };
    return undefined;
  };

  const job = async (name: string): Promise<ImageRun> => {
    const previous = done.get(name);
    if (previous) return previous;
    const image = plan.images.get(name)!;
    const deps = await Promise.all(image.dependsOn.filter((d) => jobs.has(d) || done.has(d)).map((d) => jobs.get(d) ?? done.get(d)!));
    const notBuilt = (cause: 'dependency' | 'stopped', error: string, hint?: string): ImageRun => {
      settings.emit({ type: 'finish', image: name, status: 'failed', tags: image.tags, error, hint, notBuilt: cause, seconds: 0 });
      return { name, status: 'failed', error, hint };
    };
    const failedDep = deps.find((d) => d.status === 'failed');
    if (failedDep) return notBuilt('dependency', `not built: ${failedDep.name} failed`);

    const stopped = stopReason();
    if (stopped) return notBuilt('stopped', stopped.error, stopped.hint);
    let placed: Placed;
    try {
      placed = named ? await placeImage(pool, image, deps, settings) : pool.place({});
    } catch (err) {
      if (!(err instanceof RunError)) throw err;
      return notBuilt('stopped', err.message, err.hint);
    }
    const on = named ? { builder: placed.machine.name } : {};
    settings.emit({ type: 'start', image: name, ...on });
    const started = Date.now();
    const finish = (run: ImageRun, more: Pick<Extract<RunEvent, { type: 'finish' }>, 'notBuilt' | 'base'> = {}): ImageRun => {
      settings.emit({
        type: 'finish',
        image: name,
        status: run.status,
        id: run.id,
        tags: image.tags,
        reason: run.reason,
        changed: run.changed,
        error: run.error,
        hint: run.hint,
        registry: run.registry,
        ...(run.problems ? { problems: run.problems } : {}),
        ...on,
        ...more,
        seconds: (Date.now() - started) / 1000,
      });
      return { ...run, ...on };
    };
    const failed = (err: unknown): ImageRun => {
      if (err instanceof UserError) {
        // The config's mistake, placed at its step: the image fails as any other would, and the run says so
        // as it says every config error (exit 2).
        if (!options.keepGoing) stoppedBy ??= name;
        const [first] = err.problems;
        const error = err.problems.map((p) => (p.at ? `${formatPosition(p.at)}: ${p.message}` : p.message)).join('; ');
        return finish({ name, status: 'failed', error, hint: first?.hint, problems: err.problems });
      }
      if (!(err instanceof RunError) && !(err instanceof Interrupted)) throw err;
      if (!options.keepGoing && !isMissingInput(err)) stoppedBy ??= name;
      return finish({ name, status: 'failed', error: err.message, hint: err instanceof RunError ? err.hint : undefined });
    };
    const buildFailed = async (err: unknown): Promise<ImageRun> =>
      named && err instanceof RunError ? failed(await onBuilder(pool, placed.machine, err)) : failed(err);
    const bases = new Map(deps.filter((d) => d.id).map((d) => [d.name, { id: d.id!, remote: d.remote }]));
    // Everything about the image is asked of the engine that builds it: its tags, its base, the build.
    const there = named ? { ...settings, images: placed.machine.images, builder: placed.machine.builder } : settings;
    // An image whose commands are all reproducible knows its digest before they run: one up to date (in
    // its registry, on a fresh runner) is not compiled for.
    let decided: Decision | undefined;
    try {
      await refuseUnbuildablePlatforms(image, there);
      decided = await decideBeforeCommands(image, bases, there, options, recipes);
    } catch (err) {
      placed.done();
      return await buildFailed(err);
    }
    if (decided?.made) {
      placed.done();
      const base = await baseOf(image, bases, there);
      settings.inputs?.base(name, base);
      return finish({ name, ...decided.made }, { base });
    }
    try {
      // An image's host commands (its Go builds) take no build slot: they run while other images build, so
      // that its binaries are ready when a slot frees, as make -j overlaps them.
      await runCommands(image.hostCommands, settings);
    } catch (err) {
      placed.done();
      return failed(err);
    }
    try {
      await placed.slot();
      const stoppedMeanwhile = stopReason();
      if (stoppedMeanwhile) return finish({ name, status: 'failed', ...stoppedMeanwhile }, { notBuilt: 'stopped' });
      // The outputs of reproducible commands enter by their recipes also where they were not decided
      // before the commands ran (a copy of a directory that holds one): the digest does not depend on it.
      decided ??= await decide(image, bases, there, options, (await recipes.outputsOf(image)) ?? new Map());
      const result = await buildImage(image, bases, there, options, decided);
      const base = await baseOf(image, bases, there);
      settings.inputs?.base(name, base);
      return finish({ name, ...result }, { base });
    } catch (err) {
      return await buildFailed(err);
    } finally {
      placed.done();
    }
  };

  for (const name of selection.images) jobs.set(name, job(name));
  const results = new Map(done);
  for (const [name, run] of jobs) results.set(name, await run);
  return results;
}

/** The decision, made before the image's commands run, when every output they make is known by its recipe. */
async function decideBeforeCommands(
  image: ImagePlan,
  bases: ReadonlyMap<string, BaseRun>,
  settings: BuildServices,
  options: SchedulerOptions,
  recipes: Recipes,
): Promise<Decision | undefined> {
  if (image.hostCommands.length === 0) return undefined;
  const outputs = await recipes.outputsOf(image);
  if (
    !outputs ||
    !readsOutputsWhole(
      image.context.filter((source) => source.kind !== 'fetch'),
      outputs,
    )
  )
    return undefined;
  return decide(image, bases, settings, options, outputs);
}

/**
 * What the image was built on, for the run's reports (--metadata-file): a graph image's ID (and its digest
 * where it was up to date in a registry); a reference's ID and manifest digest, from the engine when it has
 * the base, else from what the registry said of it (asked once a run: both remember).
 */
async function baseOf(
  image: ImagePlan,
  bases: ReadonlyMap<string, { id: string; remote?: RemoteImage }>,
  settings: BuildServices,
): Promise<{ ref: string; id?: string; digest?: string }> {
  if (image.base.kind === 'image') {
    const base = bases.get(image.base.image);
    return { ref: image.from, ...(base ? { id: base.id } : {}), ...(base?.remote ? { digest: base.remote.digest } : {}) };
  }
  const { ref } = image.base;
  const parsed = imageRef(ref);
  const info = await settings.images.inspectImage(ref).catch(() => undefined);
  if (info) {
    const digest = repositoryDigests(info.repoDigests, parsed)[0] ?? parsed.digest;
    return { ref, id: info.id, ...(digest ? { digest } : {}) };
  }
  // Only told: a registry that cannot be asked now leaves the digest out, and fails nothing.
  const remote = await (async () => settings.registry.image(ref, await settings.credentials(registryOf(ref))))().catch(() => undefined);
  return remote ? { ref, id: await remoteImageId(remote, settings), digest: remote.digest } : { ref };
}

/**
 * Where an image of a run with builders goes: with its base when that is a graph image held on an engine,
 * else preferring a builder whose engine has its first tag (its earlier build), asked of each at once.
 */
async function placeImage(pool: BuilderPool, image: ImagePlan, deps: readonly ImageRun[], settings: BuildServices): Promise<Placed> {
  const baseName = image.base.kind === 'image' ? image.base.image : undefined;
  const base = deps.find((d) => d.name === baseName);
  if (base?.builder && !base.remote) return pool.place({ with: base.builder });
  const platforms = image.platforms ? { platforms: image.platforms } : {};
  const tag = image.tags[0]!;
  const candidates = pool.machines.filter((m) => !pool.isLost(m.name));
  const held = await Promise.all(
    candidates.map((m) =>
      m.images.inspectImage(tag).then(
        (info) => (info ? m.name : undefined),
        () => undefined,
      ),
    ),
  );
  if (settings.signal.aborted) throw new RunError('not built: interrupted');
  return pool.place({ prefer: new Set(held.filter((n): n is string => n !== undefined)), ...platforms });
}

/**
 * A build's failure, named with its builder; a builder that no longer answers is lost to the run: nothing
 * more is placed on it, and the images it holds cost only themselves (with --keep-going the rest go on).
 */
async function onBuilder(pool: BuilderPool, machine: BuildMachine, err: RunError): Promise<RunError> {
  const answers = await machine.images.ping().then(
    () => true,
    () => false,
  );
  if (!answers) pool.lose(machine.name);
  const message = err.message.includes(`builder ${machine.name}`) ? err.message : `on builder ${machine.name}: ${err.message}`;
  return answers
    ? new RunError(message, err.hint)
    : new RunError(`${message} (builder ${machine.name} is gone)`, `nothing more is built on ${machine.name}; with --keep-going the other builders go on`);
}
