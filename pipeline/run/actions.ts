// The Makefile's non-build targets, applied to the images a command line selects.
import { lstat, rm } from 'node:fs/promises';
import path from 'node:path';
import { imageRef, registryOf, repositoryDigests, repositoryOf } from '../model/image-ref.ts';
import { pathsToClean, tagsToPush, tagsToRemove } from '../plan/action-targets.ts';
import { Interrupted, RunError } from '../model/errors.ts';
import type { ImagePlan } from '../plan/plan.ts';
import type { RemoteImage } from '../registry/registry-images.ts';
import { tagInRegistry } from './registry-cache.ts';
import { attachDocuments } from './attach-documents.ts';
import { indexAttestations } from './index-attestations.ts';
import type { RunOptions, RunServices } from './services.ts';

type Services<K extends keyof RunServices> = Pick<RunServices, K | 'emit' | 'signal'>;
type PushServices = Services<'images' | 'credentials' | 'remoteDigest' | 'sleep' | 'registry' | 'now'> &
  Partial<Pick<RunServices, 'documents' | 'referrers' | 'warmDocuments'>> &
  Pick<RunServices, 'machines'>;

const PUSH_ATTEMPTS = 4;
// The registry's or the network's passing trouble, worth another try; a refusal (401, 403, 404) is not.
const TRANSIENT = /\b5\d\d\b|internal server error|bad gateway|service unavailable|gateway timeout|ECONNRESET|connection reset|broken pipe|EOF|i\/o timeout/i;

/** `rmi`: each tag, and `:latest` of each repository, removed; nothing to remove is not an error. */
export async function removeImages(images: readonly ImagePlan[], settings: Services<'images'> & Pick<RunServices, 'machines'>): Promise<void> {
  // With builders, an image's tags may be on any of them (each run places it anew): each is asked.
  const stores = settings.machines?.map((m) => ({ store: m.images, on: ` on ${m.name}` })) ?? [{ store: settings.images, on: '' }];
  for (const image of images) {
    const refs = tagsToRemove(image);
    const removed: string[] = [];
    for (const { store, on } of stores) for (const ref of refs) if (await store.untag(ref)) removed.push(`${ref}${on}`);
    settings.emit({
      type: 'action',
      action: 'rmi',
      image: image.name,
      ok: true,
      message: removed.length ? `removed ${removed.join(', ')}` : 'no local tags to remove',
    });
  }
}

/** `clean`: the outputs of the images' host commands. */
export async function cleanOutputs(images: readonly ImagePlan[], settings: Services<never>, projectDir: string): Promise<void> {
  for (const image of images) {
    const { outputs, stamps } = pathsToClean(image);
    if (outputs.length === 0) continue;
    for (const output of outputs) {
      await refuseLinkedParent(output, projectDir);
      await rm(output, { force: true, recursive: true });
    }
    for (const stamp of stamps) await rm(stamp, { force: true });
    settings.emit({
      type: 'action',
      action: 'clean',
      image: image.name,
      ok: true,
      message: `removed ${outputs.map((o) => path.relative(projectDir, o)).join(', ')}`,
    });
  }
}

/**
 * An output in the project whose folder is reached through a symbolic link in it (`escape -> /etc`, output
 * `escape/x`) would be removed where the link points: refused. The output itself may be a link (rm removes
 * the link, not its target), and links above the project (a home on another disk) are the user's business.
 */
async function refuseLinkedParent(output: string, projectDir: string): Promise<void> {
  const relative = path.relative(projectDir, path.dirname(output));
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return;
  let folder = projectDir;
  for (const part of relative.split(path.sep)) {
    folder = path.join(folder, part);
    const stat = await lstat(folder).catch(() => undefined);
    if (!stat) return;
    if (stat.isSymbolicLink()) {
      throw new RunError(`clean: ${output} is reached through the symbolic link ${folder}; not removed`, 'declare outputs by their real paths in the project');
    }
  }
}

export interface PushOutcome {
  pushed: string[];
  failed: string[];
  /** Tags the registry already had, with this very image: not pushed again. */
  present: string[];
}

/** Pushes every given tag; a failed tag is reported and the others still go. */
export async function pushTags(image: ImagePlan, tags: readonly string[], settings: PushServices): Promise<PushOutcome> {
  const outcome: PushOutcome = { pushed: [], failed: [], present: [] };
  // The first tag pushed from the engine; the image's other tags in that registry are its manifest put again.
  let first: { tag: string; digest: string } | undefined;
  for (const tag of tags) {
    if (settings.signal.aborted) throw new Interrupted();
    try {
      const present = await alreadyInRegistry(image, tag, settings);
      if (present) {
        outcome.present.push(tag);
        settings.emit({ type: 'push', image: image.name, tag, status: 'present', digest: present });
        continue;
      }
      const tagged = first && (await tagLikeFirst(first, tag, settings));
      if (tagged) {
        outcome.pushed.push(tag);
        settings.emit({ type: 'push', image: image.name, tag, status: 'tagged', digest: tagged });
        continue;
      }
      // Documents follow a push: what makes them loads while the engine pushes.
      settings.warmDocuments?.();
      const { digest } = await pushWithRetries(image, tag, settings);
      if (digest && !first) first = { tag, digest };
      outcome.pushed.push(tag);
      settings.emit({ type: 'push', image: image.name, tag, status: 'pushed', digest });
    } catch (err) {
      if (!(err instanceof RunError)) throw err;
      outcome.failed.push(tag);
      settings.emit({ type: 'push', image: image.name, tag, status: 'failed', error: err.message });
    }
  }
  return outcome;
}

/**
 * The tag made in the registry from the manifest just pushed under another one (a cross-repository mount
 * where the repository differs): one manifest read and one put, where the engine's push of a second tag asks
 * for every layer again (cm-container's three tags: 18 HEADs each). Undefined when it cannot be (another
 * registry, an index, any refusal): the engine pushes that tag then.
 */
async function tagLikeFirst(first: { tag: string; digest: string }, tag: string, settings: PushServices): Promise<string | undefined> {
  if (registryOf(first.tag) !== registryOf(tag)) return undefined;
  try {
    const auth = await settings.credentials(registryOf(tag));
    const pushed = await settings.registry.image(`${repositoryOf(imageRef(first.tag))}@${first.digest}`, auth);
    if (!pushed || pushed.digest !== first.digest || pushed.target !== first.digest) return undefined;
    return await settings.registry.putTag(pushed, tag, auth);
  } catch {
    return undefined;
  }
}

/**
 * The registry's digest for the tag when its manifest is the one this image was last pushed as; with
 * attestations: {storage: index}, also when the tag names an index of that manifest (a push would put the
 * bare manifest back over it).
 */
async function alreadyInRegistry(image: ImagePlan, tag: string, settings: PushServices): Promise<string | undefined> {
  const local = await settings.images.inspectImage(tag);
  const ref = imageRef(tag);
  const known = new Set(repositoryDigests(local?.repoDigests ?? [], ref));
  if (known.size === 0) return undefined;
  const auth = await settings.credentials(registryOf(tag));
  const remote = await settings.remoteDigest(tag, auth);
  if (remote === undefined || known.has(remote)) return remote;
  if (image.attestationStorage !== 'index') return undefined;
  const held = await settings.registry.image(tag, auth).catch(() => undefined);
  return held && held.target !== held.digest && known.has(held.digest) ? held.digest : undefined;
}

// Who retries what differs by image store: the graphdriver's pusher retries a layer upload five times over
// ~50 s and not the manifest; the containerd store's retries the manifest quietly and fails a layer at once.
// Neither says so in a form to rely on (only the graphdriver prints "Retrying in N seconds"), so ours are
// bounded by time instead: no new attempt once PUSH_BUDGET has passed since the first one began. A push the
// engine already spent its own retries on is past it; a quick failure gets up to PUSH_ATTEMPTS. A registry
// that answers 500 to everything fails a tag within PUSH_BUDGET plus one attempt on either store (ours and
// the engine's together took 200 s per tag once).
const PUSH_BUDGET_MS = 20_000;

async function pushWithRetries(image: ImagePlan, tag: string, settings: PushServices): Promise<{ digest?: string }> {
  const auth = await settings.credentials(registryOf(tag));
  const onLine = (line: string) => settings.emit({ type: 'log', image: image.name, line });
  const started = settings.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await settings.images.push(tag, auth, onLine, settings.signal);
    } catch (err) {
      const wait = 500 * 2 ** (attempt - 1);
      const late = settings.now() - started + wait > PUSH_BUDGET_MS;
      if (!(err instanceof RunError) || late || attempt >= PUSH_ATTEMPTS || !TRANSIENT.test(err.message)) throw err;
      settings.emit({ type: 'log', image: image.name, line: `push of ${tag} failed (${err.message}); retrying in ${wait / 1000}s` });
      await settings.sleep(wait);
    }
  }
}

/**
 * `deploy` or `deploy_latest` of the images a run selected, once they are built. All or nothing: when one
 * did not build, nothing is pushed (with pushPartial, the others are). `failed` lists what was not pushed.
 */
export async function deployImages(
  action: 'deploy' | 'deploy_latest',
  images: readonly ImagePlan[],
  results: ReadonlyMap<string, { status: string; id?: string; remote?: RemoteImage; builder?: string }>,
  settings: PushServices,
  options: Pick<RunOptions, 'pushPartial'>,
): Promise<Omit<PushOutcome, 'present'>> {
  const tagsOf = (image: ImagePlan) => tagsToPush(action, image);
  const built = images.filter((image) => results.get(image.name)?.status !== 'failed');
  const unbuilt = images.filter((image) => !built.includes(image));
  const outcome = { pushed: [] as string[], failed: unbuilt.flatMap(tagsOf) };
  if (unbuilt.length > 0 && !options.pushPartial) {
    const names = unbuilt.map((image) => image.name).join(', ');
    settings.emit({ type: 'action', action, ok: false, message: `nothing pushed: ${names} did not build (--push-partial pushes what did)` });
    return { pushed: [], failed: images.flatMap(tagsOf) };
  }
  for (const image of built) {
    const { id, remote, builder } = results.get(image.name)!;
    // Pushed from the engine that holds it.
    const holder = settings.machines?.find((m) => m.name === builder);
    const on = holder ? { ...settings, images: holder.images } : settings;
    const pushedNow = remote
      ? await tagInRegistry(image, tagsToPush(action, image), remote, on)
      : action === 'deploy'
        ? await deploy(image, id!, on)
        : await deployLatest(image, id!, on);
    outcome.pushed.push(...pushedNow.pushed);
    outcome.failed.push(...pushedNow.failed);
    // Every tag it is in the registry under, pushed now or found there, onto its index.
    if (image.attestationStorage === 'index') outcome.failed.push(...(await indexAttestations(image, pushedNow, on)));
  }
  return outcome;
}

/**
 * `deploy`: the image's push tags (tagging them first when they are not its build tags), pushed; then its
 * documents attached to what was pushed. What `deploy_latest` and registry-side tags push is a manifest
 * already pushed: its referrers hang off its digest, so they are there already.
 */
export async function deploy(image: ImagePlan, id: string, settings: PushServices): Promise<PushOutcome> {
  for (const tag of image.pushTags) if (!image.tags.includes(tag)) await settings.images.tag(id, tag);
  const outcome = await pushTags(image, image.pushTags, settings);
  // With storage: index, deployImages moves the tags onto the index instead.
  if (outcome.pushed.length > 0 && image.attestationStorage !== 'index') outcome.failed.push(...(await attachDocuments(image, outcome.pushed, settings)));
  return outcome;
}

/** `deploy_latest`: the image's first tag retagged `:latest` and pushed, unless it already is `latest`. */
export async function deployLatest(image: ImagePlan, id: string, settings: PushServices): Promise<PushOutcome> {
  const tags = tagsToPush('deploy_latest', image);
  if (tags.length === 0) {
    settings.emit({
      type: 'action',
      action: 'deploy_latest',
      image: image.name,
      ok: true,
      message: `${image.pushTags[0]} is already latest: nothing more to push`,
    });
    return { pushed: [], failed: [], present: [] };
  }
  for (const tag of tags) await settings.images.tag(id, tag);
  return pushTags(image, tags, settings);
}
