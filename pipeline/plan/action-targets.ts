// What each action touches, computed from the plan alone: the dry run prints it, the run carries it out,
// and both read it here, so that what `--dry-run deploy` shows is what `deploy` pushes.
import { formatRef, imageRef, registryOf, tagOf, withTag } from '../model/image-ref.ts';
import type { ImagePlan } from './plan.ts';
import type { Action } from '../model/actions.ts';

/** The same repository's `:latest`. */
export function latestOf(tag: string): string {
  return formatRef(withTag(imageRef(tag), 'latest'));
}

/** `deploy`: the push tags; `deploy_latest`: the first one's `:latest`, or nothing when it already is latest. */
export function tagsToPush(action: 'deploy' | 'deploy_latest', image: ImagePlan): string[] {
  if (action === 'deploy') return [...image.pushTags];
  const first = image.pushTags[0]!;
  return tagOf(imageRef(first)) === 'latest' ? [] : [latestOf(first)];
}

/** `rmi`: each tag, and `:latest` of each repository. */
export function tagsToRemove(image: ImagePlan): string[] {
  return [...new Set([...image.tags, ...image.pushTags].flatMap((tag) => [tag, latestOf(tag)]))];
}

/** `clean`: the outputs of the image's host commands, and their records. */
export function pathsToClean(image: ImagePlan): { outputs: string[]; stamps: string[] } {
  return { outputs: image.hostCommands.flatMap((c) => c.outputs), stamps: image.hostCommands.map((c) => c.stamp) };
}

export function pushTarget(image: ImagePlan, tag: string): { image: string; tag: string; registry: string } {
  return { image: image.name, tag, registry: registryOf(tag) };
}

/** Per image, the tags a line's deploy and deploy_latest will push, in that order: what the registry is asked for. */
export function pushRefs(actions: readonly Action[], images: readonly ImagePlan[]): Map<string, string[]> {
  const pushing = (['deploy', 'deploy_latest'] as const).filter((action) => actions.includes(action));
  return new Map(images.map((image) => [image.name, [...new Set(pushing.flatMap((action) => tagsToPush(action, image)))]]));
}
