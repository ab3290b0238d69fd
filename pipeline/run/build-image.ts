// One image, from its host commands to its tags. The digest of its inputs (the context's entries and
// contents, the base image ID, the build args) goes into a label, so that the next run can tell, from the
// engine alone, that the image for every tag is already what these inputs make.
import { createHash } from 'node:crypto';
import type { Engine } from '../engine/engine.ts';
import type { CredentialLookup } from '../model/credentials.ts';
import { registryOf } from '../model/image-ref.ts';
import { Interrupted, RunError } from '../model/errors.ts';
import type { RunEvent } from '../model/events.ts';
import { runCommands } from './host-command.ts';
import { sortedEntries } from '../model/context-entries.ts';
import type { DigestCache } from '../context/digest-cache.ts';
import type { Fetcher } from '../context/fetcher.ts';
import { digestContext, listEntries, packEntries } from '../context/pack-context.ts';
import { DIGEST_LABEL, labelArgs } from '../plan/labels.ts';
import type { ImagePlan } from '../plan/plan.ts';
import { DOCKERFILE_KEY, rebuildReason, recordLabels } from '../plan/rebuild-reason.ts';
import { resolveSources } from '../context/resolve-sources.ts';

export interface BuildSettings {
  engine: Engine;
  noCache: boolean;
  pull: boolean;
  signal: AbortSignal;
  emit(event: RunEvent): void;
  fetcher: Fetcher;
  /** Credentials for a registry, to pull a base from it. */
  auth: CredentialLookup;
  /** Content digests of unchanged files, kept between runs. */
  digests?: DigestCache;
  /** What varies per run, kept out of the digest: the time and revision, and --label's extra labels. */
  stamp: { created: string; revision: string };
  extraLabels: Readonly<Record<string, string>>;
}

export type BuildResult =
  | { status: 'built'; id: string; reason: string; changed?: string[] }
  | { status: 'skipped'; id: string; reason: string };

/** The context (its Dockerfile holds the steps and the labels), the base, the build args. */
export function inputsDigest(inputs: { context: string; baseId: string; args: Readonly<Record<string, string>> }): string {
  const canonical = JSON.stringify([inputs.context, inputs.baseId, sortedEntries(inputs.args)]);
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

/** The ID of a base given by reference: the local image, pulled only when absent (or when asked to). */
async function resolveBase(image: ImagePlan, ref: string, settings: BuildSettings): Promise<string> {
  const local = settings.pull ? undefined : await settings.engine.inspectImage(ref);
  if (local) return local.id;
  settings.emit({ type: 'pull', image: image.name, ref });
  const auth = await settings.auth(registryOf(ref));
  await settings.engine.pull(ref, auth, (line) => settings.emit({ type: 'log', image: image.name, line }), settings.signal);
  const pulled = await settings.engine.inspectImage(ref);
  if (!pulled) throw new RunError(`pulled ${ref}, but the engine does not have it`);
  return pulled.id;
}

export async function buildImage(
  image: ImagePlan,
  builtBases: ReadonlyMap<string, string>,
  settings: BuildSettings,
): Promise<BuildResult> {
  await runCommands(image.hostCommands, settings);
  const baseId = image.base.kind === 'ref' ? await resolveBase(image, image.base.ref, settings) : builtBases.get(image.base.image)!;

  const resolved = await resolveSources(image.context, {
    fetcher: settings.fetcher,
    readBaseFile: (file) => settings.engine.readFile(baseId, file, settings.extraLabels),
  });
  const args = { ...image.args, ...resolved.args };
  const entries = await listEntries(resolved.sources);
  const context = await digestContext(entries, settings.digests);
  await settings.digests?.save();
  const digest = inputsDigest({ context: context.sha256, baseId, args });

  const current = await Promise.all(image.tags.map((tag) => settings.engine.inspectImage(tag)));
  const upToDate = current.every((info) => info?.labels[DIGEST_LABEL] === digest);
  if (upToDate && !settings.noCache) {
    return { status: 'skipped', id: current[0]!.id, reason: 'up to date' };
  }
  const record = { baseId, args, manifest: { ...context.manifest, [DOCKERFILE_KEY]: context.dockerfile } };
  const previous = current.find((info) => info)?.labels;
  const why = settings.noCache ? { reason: '--no-cache' } : rebuildReason(previous, record);

  if (settings.signal.aborted) throw new Interrupted();
  const id = await settings.engine.build({
    context: packEntries(entries),
    buildargs: {
      ...args,
      ...labelArgs({
        ...recordLabels(record),
        [DIGEST_LABEL]: digest,
        'org.opencontainers.image.created': settings.stamp.created,
        'org.opencontainers.image.revision': settings.stamp.revision,
      }),
    },
    labels: settings.extraLabels,
    noCache: settings.noCache,
    signal: settings.signal,
    onLine: (line) => settings.emit({ type: 'log', image: image.name, line }),
  });
  // Past this point the tags go on together: an interrupt waits for them rather than leave half of them.
  for (const tag of image.tags) await settings.engine.tag(id, tag);
  return { status: 'built', id, ...why };
}
