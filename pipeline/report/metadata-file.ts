// --metadata-file: what the run did, per image, in the shape of `docker buildx bake --metadata-file` (a key
// per target; `image.name` its names, comma-separated; `containerimage.digest` the manifest's digest in the
// registry), so that a script written for bake reads it; what bake has no word for is under our own
// `build-images.` keys, and the run as a whole under `build-images.run`. The README documents each field.
import { formatPosition } from '../model/errors.ts';
import { registryDigest, type ImageRecord, type RunResult } from './run-record.ts';
import { writeWhole, type RunSink } from './output-file.ts';

export const RUN_KEY = 'build-images.run';

export function metadataDocument(run: RunResult): Record<string, unknown> {
  const byName = new Map(run.images.map((image) => [image.name, image]));
  const document: Record<string, unknown> = {};
  for (const image of run.images) document[image.name] = imageMetadata(image, byName);
  document[RUN_KEY] = {
    status: run.status,
    started: iso(run.started),
    finished: iso(run.finished),
    seconds: seconds(run.finished - run.started),
    ...(run.problems.length
      ? { problems: run.problems.map((p) => ({ message: p.message, ...(p.at ? { at: formatPosition(p.at) } : {}), ...(p.hint ? { hint: p.hint } : {}) })) }
      : {}),
    ...(run.actionFailures.length ? { actionFailures: run.actionFailures } : {}),
    ...(run.error ? { error: run.error } : {}),
    commands: run.commands.map((c) => ({
      image: c.image,
      ...(c.name ? { name: c.name } : {}),
      status: c.status,
      ...(c.reason ? { reason: c.reason } : {}),
      seconds: c.seconds,
    })),
  };
  return document;
}

function imageMetadata(image: ImageRecord, byName: ReadonlyMap<string, ImageRecord>): Record<string, unknown> {
  const digest = registryDigest(image);
  const inRegistry = image.pushes.filter((p) => p.status !== 'failed').map((p) => p.tag);
  // bake's image.name lists what the target was pushed as; an image pushed nowhere is named by its tags.
  const names = inRegistry.length > 0 ? inRegistry : image.tags;
  return {
    ...(names.length ? { 'image.name': names.join(',') } : {}),
    ...(digest ? { 'containerimage.digest': digest } : {}),
    'build-images.status': image.status,
    ...(image.reason ? { 'build-images.reason': image.reason } : {}),
    ...(image.hint ? { 'build-images.hint': image.hint } : {}),
    ...(image.id ? { 'build-images.image-id': image.id } : {}),
    ...(image.builder ? { 'build-images.builder': image.builder } : {}),
    'build-images.tags': image.tags,
    'build-images.pushed': image.pushes,
    ...(image.registry ? { 'build-images.registry': image.registry } : {}),
    ...(image.base ? { 'build-images.base': baseOf(image.base, byName) } : {}),
    ...(image.started !== undefined ? { 'build-images.started': iso(image.started) } : {}),
    ...(image.finished !== undefined ? { 'build-images.finished': iso(image.finished) } : {}),
    ...(image.documents ? { 'build-images.documents': image.documents } : {}),
    'build-images.seconds': image.seconds,
  };
}

/** A graph image's base: its digest is the one that image got in its registry in this run, when it was pushed. */
function baseOf(base: NonNullable<ImageRecord['base']>, byName: ReadonlyMap<string, ImageRecord>) {
  if (base.digest) return base;
  const built = [...byName.values()].find((image) => image.tags[0] === base.ref);
  const digest = built ? registryDigest(built) : undefined;
  return digest ? { ...base, digest } : base;
}

const iso = (ms: number) => new Date(ms).toISOString();
const seconds = (ms: number) => Math.round(ms) / 1000;

export function metadataFile(file: string): RunSink {
  return (run) => writeWhole(file, `${JSON.stringify(metadataDocument(run), null, 2)}\n`);
}
