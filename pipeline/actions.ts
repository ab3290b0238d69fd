// The Makefile's non-build targets, applied to the images a command line selects.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Engine, RegistryAuth } from './engine.ts';
import { splitReference } from './engine.ts';
import { Interrupted, RunError } from './errors.ts';
import type { RunEvent } from './events.ts';
import type { ImagePlan } from './plan.ts';

export interface ActionSettings {
  engine: Engine;
  signal: AbortSignal;
  emit(event: RunEvent): void;
  projectDir: string;
  auth(registry: string): RegistryAuth | undefined;
}

/** `rmi`: each tag, and `:latest` of each repository, removed; nothing to remove is not an error. */
export async function removeImages(images: readonly ImagePlan[], settings: ActionSettings): Promise<void> {
  for (const image of images) {
    const refs = new Set(image.tags.flatMap((tag) => [tag, `${splitReference(tag).repo}:latest`]));
    const removed: string[] = [];
    for (const ref of refs) if (await settings.engine.untag(ref)) removed.push(ref);
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
export async function cleanOutputs(images: readonly ImagePlan[], settings: ActionSettings): Promise<void> {
  for (const image of images) {
    const outputs = image.hostCommands.flatMap((c) => c.outputs);
    if (outputs.length === 0) continue;
    for (const output of outputs) await rm(output, { force: true, recursive: true });
    settings.emit({
      type: 'action',
      action: 'clean',
      image: image.name,
      ok: true,
      message: `removed ${outputs.map((o) => path.relative(settings.projectDir, o)).join(', ')}`,
    });
  }
}

export interface PushOutcome {
  pushed: string[];
  failed: string[];
}

/** Pushes every given tag; a failed tag is reported and the others still go. */
export async function pushTags(image: ImagePlan, tags: readonly string[], settings: ActionSettings): Promise<PushOutcome> {
  const outcome: PushOutcome = { pushed: [], failed: [] };
  for (const tag of tags) {
    if (settings.signal.aborted) throw new Interrupted();
    try {
      const { digest } = await settings.engine.push(
        tag,
        settings.auth(registryOf(tag)),
        (line) => settings.emit({ type: 'log', image: image.name, line }),
        settings.signal,
      );
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

/** `deploy_latest`: the image's first tag retagged `:latest` and pushed, unless it already is `latest`. */
export async function deployLatest(image: ImagePlan, id: string, settings: ActionSettings): Promise<PushOutcome> {
  const { repo, tag } = splitReference(image.tags[0]!);
  if (tag === 'latest') {
    settings.emit({ type: 'action', action: 'deploy_latest', image: image.name, ok: true, message: `${image.tags[0]} is already latest: nothing more to push` });
    return { pushed: [], failed: [] };
  }
  const latest = `${repo}:latest`;
  await settings.engine.tag(id, latest);
  return pushTags(image, [latest], settings);
}

/** The registry a reference names, as the docker CLI decides it: a first part with a dot, a colon or `localhost`. */
export function registryOf(ref: string): string {
  const first = ref.split('/')[0]!;
  return ref.includes('/') && (/[.:]/.test(first) || first === 'localhost') ? first : 'docker.io';
}
