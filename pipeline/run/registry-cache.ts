// The registry as the cache of record: on a fresh CI runner nothing local survives, but the registry holds
// what the last job pushed. An image whose push tags already name an image labelled with this run's inputs
// digest is up to date there: its base is not pulled, nothing is built, nothing uploaded.
import { registryOf } from '../model/image-ref.ts';
import { DIGEST_LABEL } from '../plan/labels.ts';
import type { ImagePlan } from '../plan/plan.ts';
import type { BuildOptions, BuildResult, BuildServices } from './build-image.ts';
import type { RemoteImage } from '../registry/registry-images.ts';
import type { RunServices } from './services.ts';
import { Interrupted } from '../model/errors.ts';

/** Whether this image is checked in the registry first: the line pushes it, and nothing forces a build. */
export function checksRegistry(image: ImagePlan, options: Pick<BuildOptions, 'pushRefs' | 'noCache' | 'registryCheck'>): boolean {
  return options.registryCheck !== false && !options.noCache && (options.pushRefs?.get(image.name)?.length ?? 0) > 0;
}

/**
 * The ID a pull of this image would give the engine, as the registry tells it, or undefined in doubt: the
 * config's digest on a graphdriver engine, the digest of what the tag names on the containerd store. The
 * two are never compared: an inputs digest made on one kind of engine matches only another of its kind.
 */
export async function remoteImageId(remote: RemoteImage, settings: Pick<BuildServices, 'images'>): Promise<string> {
  return (await settings.images.imageIds()) === 'config' ? remote.configDigest : remote.target;
}

export async function remoteBaseId(ref: string, settings: Pick<BuildServices, 'registry' | 'credentials' | 'images'>): Promise<string | undefined> {
  try {
    const remote = await settings.registry.image(ref, await settings.credentials(registryOf(ref)));
    return remote && (await remoteImageId(remote, settings));
  } catch {
    return undefined;
  }
}

/**
 * The first push tag whose image carries this digest. A registry that cannot be asked only costs the
 * check (said in the image's log): the image is then built, as it would be without one. `held` learns
 * what the registry has under each tag asked, so that the build's cache sources are not asked for again
 * and a rebuild's reason is told against the last image pushed.
 */
export async function upToDateInRegistry(
  image: ImagePlan,
  digest: string,
  refs: readonly string[],
  settings: Pick<BuildServices, 'registry' | 'credentials' | 'emit' | 'images'>,
  held: Map<string, RemoteImage | undefined>,
): Promise<Extract<BuildResult, { remote: unknown }> | undefined> {
  for (const ref of refs) {
    const registry = registryOf(ref);
    try {
      const remote = await settings.registry.image(ref, await settings.credentials(registry));
      held.set(ref, remote);
      if (remote?.labels[DIGEST_LABEL] !== digest) continue;
      // One platform's label says nothing of the others: an image of several is up to date only as an index
      // that holds every one of them, and is then that index (tags put from it, the digest reported).
      const several = image.platforms && image.platforms.length > 1 ? image.platforms : undefined;
      if (several && !several.every((platform) => remote.index?.platforms.includes(platform))) continue;
      const found = several ? asIndex(remote) : remote;
      return {
        status: 'skipped',
        id: await remoteImageId(found, settings),
        reason: `up to date in ${registry}: ${ref} carries the same inputs digest`,
        registry: { name: registry, digest: found.digest },
        remote: found,
      };
    } catch (err) {
      settings.emit({ type: 'log', image: image.name, line: `could not ask ${registry} for ${ref} (${(err as Error).message}): building` });
      return undefined;
    }
  }
  return undefined;
}

/**
 * deploy of an image up to date in the registry: each tag it lacks gets the same manifest there (deploy_latest's
 * `latest`, ONAP's new timestamped tag), none is uploaded. A tag that cannot be made so is reported failed:
 * the image is not on the engine to push.
 */
export async function tagInRegistry(
  image: ImagePlan,
  tags: readonly string[],
  remote: RemoteImage,
  settings: Pick<RunServices, 'registry' | 'credentials' | 'remoteDigest' | 'emit' | 'signal'>,
): Promise<{ pushed: string[]; failed: string[]; present: string[] }> {
  const outcome = { pushed: [] as string[], failed: [] as string[], present: [] as string[] };
  for (const tag of tags) {
    if (settings.signal.aborted) throw new Interrupted();
    const auth = await settings.credentials(registryOf(tag));
    const names = await settings.remoteDigest(tag, auth);
    // The same manifest, or the same index of it (attestations: {storage: index}): nothing to put.
    if (names !== undefined && (names === remote.digest || names === remote.target)) {
      outcome.present.push(tag);
      settings.emit({ type: 'push', image: image.name, tag, status: 'present', digest: remote.digest });
      continue;
    }
    try {
      const digest = await settings.registry.putTag(remote, tag, auth);
      outcome.pushed.push(tag);
      settings.emit({ type: 'push', image: image.name, tag, status: 'tagged', digest });
    } catch (err) {
      outcome.failed.push(tag);
      settings.emit({
        type: 'push',
        image: image.name,
        tag,
        status: 'failed',
        error: `tagging ${tag} from ${remote.ref} in the registry: ${(err as Error).message}`,
      });
    }
  }
  return outcome;
}

/**
 * The images a build may take layers from: the config's and the command line's, and the tags the line
 * pushes (the previous image), those only that the registry has: BuildKit 0.8 fails a build whose cache
 * source is not there ("importing cache manifest … not found"), as a first job's would be.
 */
export async function cacheSources(
  image: ImagePlan,
  options: Pick<BuildOptions, 'cacheFrom' | 'pushRefs'>,
  settings: Pick<BuildServices, 'remoteDigest' | 'credentials'>,
  held: ReadonlyMap<string, RemoteImage | undefined>,
): Promise<string[]> {
  const candidates = [...new Set([...image.cache.from, ...(options.cacheFrom ?? []), ...(options.pushRefs?.get(image.name) ?? [])])];
  // What each tag names; tags naming the same image are one source (cm-container's three tags are one push).
  const named = await Promise.all(
    candidates.map(async (ref) => (held.has(ref) ? held.get(ref)?.target : await settings.remoteDigest(ref, await settings.credentials(registryOf(ref))))),
  );
  return candidates.filter((_, i) => named[i] !== undefined && named.indexOf(named[i]) === i);
}

/** The image the registry held under the first of the push tags that it has: the previous job's push. */
export function previousInRegistry(held: ReadonlyMap<string, RemoteImage | undefined>): RemoteImage | undefined {
  return [...held.values()].find((remote) => remote !== undefined);
}

/**
 * A multi-platform image as the tag names it: the index (its digest, bytes and type) in place of the one
 * platform's manifest, so that a tag put from it is the whole index again. Its platforms' manifests are in
 * that repository only: put into another one, the registry refuses it (no blob to mount for an index).
 */
function asIndex(image: RemoteImage): RemoteImage {
  if (!image.index) return image;
  return { ...image, digest: image.target, manifest: image.index.manifest, mediaType: image.index.mediaType, blobs: [] };
}
