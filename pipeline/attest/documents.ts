// DocumentsFor: an image's SBOMs and provenance for the subject it was pushed as. What they say comes from
// what the run recorded (inventory.ts) and the plan; the files are hashed, and Go asked about its binaries,
// once per image however many subjects (tags, registries) it is pushed as. Every document is checked
// against the run's secret values before it leaves: a value found is an error, never a document.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RunError } from '../model/errors.ts';
import { imageRef, repositoryOf } from '../model/image-ref.ts';
import { pasteableCommand, type HostCommand } from '../model/host-command.ts';
import type { ImageStore } from '../engine/engine.ts';
import type { ImagePlan, Plan } from '../plan/plan.ts';
import type { AttestationDocument, AttestationSubject, DocumentKind, DocumentsFor } from './attestation.ts';
import type { DocumentChoice } from './document-choice.ts';
import { digestBytes, digestEntry, placeEntries, type ImageInputs, type InputLog } from './inventory.ts';
import type { SbomFile, SbomModel } from './sbom-model.ts';
import type { ProvenanceFacts } from './provenance.ts';

export const MEDIA_TYPES: Readonly<Record<DocumentKind, string>> = {
  spdx: 'application/spdx+json',
  cyclonedx: 'application/vnd.cyclonedx+json',
  provenance: 'application/vnd.in-toto+json',
};

/** What the run as a whole says for the provenance: the same for every image. */
export interface RunFacts {
  config: { path: string; sha256: string };
  targets: readonly string[];
  variables: readonly { name: string; value?: string }[];
  builder: string;
  imageStore?: string;
  engineVersion?: string;
  commits: readonly { name: string; uri: string; commit: string }[];
  invocationId: string;
  startedOn: string;
}

export interface DocumentSettings {
  plan: Plan;
  inputs: InputLog;
  images: Pick<ImageStore, 'readFile'>;
  choice(image: string): DocumentChoice;
  run(): Promise<RunFacts>;
  /** Values no document may hold (the run's secrets). */
  secrets(): readonly string[];
  /** Asks Go about a binary a host command made (go-modules.ts). */
  goInfo?(binary: string, command: HostCommand): Promise<NonNullable<SbomFile['go']>>;
  now?: () => Date;
  tool?: { name: string; version: string };
}

const TOOL = { name: 'build-images', version: '0.1.0' };

export function documentsFor(settings: DocumentSettings): DocumentsFor {
  const models = new Map<string, Promise<Omit<SbomModel, 'repository' | 'digest'>>>();
  // The same documents for the same subject: those attached by deploy are the ones written to disk.
  const made = new Map<string, Promise<readonly AttestationDocument[]>>();
  const now = settings.now ?? (() => new Date());
  const make = async (image: string, subject: AttestationSubject): Promise<readonly AttestationDocument[]> => {
    const choice = settings.choice(image);
    if (!choice.sbom && !choice.provenance) return [];
    const plan = settings.plan.images.get(image);
    const inputs = settings.inputs.get(image);
    if (!plan || !inputs) throw new RunError(`no record of what ${image} was built from: its documents cannot be made`);
    if (!models.has(image)) models.set(image, sbomModel(plan, inputs, settings));
    const model = { ...(await models.get(image)!), repository: subject.repository, digest: subject.digest };
    const created = now().toISOString();
    const documents: AttestationDocument[] = [];
    if (choice.sbom) {
      const { spdxDocument } = await import('./spdx.ts');
      const { cyclonedxDocument } = await import('./cyclonedx.ts');
      const namespace = `https://github.com/build-images/build-images/spdx/${encodeURIComponent(image)}/${subject.digest.replace(/^sha256:/, '')}/${randomUUID()}`;
      documents.push(document('spdx', image, `${JSON.stringify(spdxDocument(model, { created, namespace }), null, 2)}\n`, created));
      documents.push(document('cyclonedx', image, `${await cyclonedxDocument(model, { created, serialNumber: `urn:uuid:${randomUUID()}` })}\n`, created));
    }
    if (choice.provenance) {
      const { provenanceStatement, SLSA_PROVENANCE } = await import('./provenance.ts');
      const facts = provenanceFacts(image, plan, inputs, subject, await settings.run(), choice.provenance === 'max', created, settings.secrets());
      const body = `${JSON.stringify(provenanceStatement(facts), null, 2)}\n`;
      documents.push({ ...document('provenance', image, body, created), statement: { predicateType: SLSA_PROVENANCE } });
    }
    for (const doc of documents) refuseSecrets(doc, settings.secrets());
    return documents;
  };
  return (image, subject) => {
    const key = `${image}\0${subject.digest}`;
    if (!made.has(key)) {
      const making = make(image, subject);
      made.set(key, making);
      // A failure is not remembered: asked again, it is tried again (and said again).
      making.catch(() => made.delete(key));
    }
    return made.get(key)!;
  };
}

function document(kind: DocumentKind, image: string, text: string, created: string): AttestationDocument {
  return {
    kind,
    artifactType: MEDIA_TYPES[kind],
    mediaType: MEDIA_TYPES[kind],
    body: new TextEncoder().encode(text),
    fileName: documentFileName(image, kind),
    annotations: {
      'org.opencontainers.image.created': created,
      ...(kind === 'provenance' ? { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v1' } : {}),
    },
  };
}

/** `<image>.<kind>.json`; an image name's `/` becomes `_`, so that every document lands beside the metadata file. */
export function documentFileName(image: string, kind: DocumentKind): string {
  return `${image.replaceAll('/', '_')}.${kind}.json`;
}

/** A secret's value (or its JSON-escaped form) in a document is a bug somewhere upstream: fail, say which, never print it. */
export function refuseSecrets(doc: Pick<AttestationDocument, 'body' | 'fileName'>, secrets: readonly string[]): void {
  const text = new TextDecoder().decode(doc.body);
  if (secrets.some((value) => text.includes(value) || text.includes(JSON.stringify(value).slice(1, -1)))) {
    throw new RunError(
      `${doc.fileName} would hold the value of a secret: not written`,
      'a secret reached a build input the documents record (a URL, a --set value)',
    );
  }
}

async function sbomModel(plan: ImagePlan, inputs: ImageInputs, settings: DocumentSettings): Promise<Omit<SbomModel, 'repository' | 'digest'>> {
  const edits = new Map(plan.context.flatMap((s) => (s.kind === 'image-file' ? [[s.name, s.imagePath] as const] : [])));
  const fetches = new Map(inputs.fetches.map((f) => [f.name, f]));
  const binaries = new Map(plan.hostCommands.flatMap((command) => command.outputs.map((output) => [path.resolve(output), command] as const)));
  const standIns = new Set(inputs.standIns);
  const notes: string[] = [];
  const found: SbomFile[] = [];
  for (const { entry, path: imagePath, platform } of placeEntries(inputs.entries, plan.dockerfile, plan.platforms)) {
    // Each platform's file of an image of several, told by its platform (the index's SBOM lists them all).
    const files = { push: (file: SbomFile) => found.push(platform ? { ...file, platform } : file) };
    if (standIns.has(entry.name) && !edits.has(entry.name)) {
      const file = await outputFromImage(entry.name, entry.origin, imagePath, plan, inputs, settings, binaries);
      if (file) files.push(file);
      else notes.push(`${imagePath} (made by a host command) is not listed: the image was not on the engine to read it from.`);
      continue;
    }
    if (standIns.has(entry.name)) {
      // Not built in this run: the edited file's bytes are the image's own.
      const read = await settings.images.readFile(inputs.imageId, imagePath, {}).catch(() => undefined);
      if (!read) {
        notes.push(`${imagePath} (an edit of the base image's file) is not listed: the image was not on the engine to read it from.`);
        continue;
      }
      files.push({ path: imagePath, ...(await digestBytes([read.content])), kind: 'edited', origin: edits.get(entry.name) ?? imagePath });
      continue;
    }
    const digests = await digestEntry(entry);
    const fetch = fetches.get(entry.name);
    const command = entry.path ? binaries.get(path.resolve(entry.path)) : undefined;
    if (fetch) files.push({ path: imagePath, ...digests, kind: 'fetched', origin: fetch.url, fetch });
    else if (edits.has(entry.name)) files.push({ path: imagePath, ...digests, kind: 'edited', origin: edits.get(entry.name)! });
    else if (command && settings.goInfo && isGoBuild(command))
      files.push({ path: imagePath, ...digests, kind: 'go-binary', origin: entry.origin, go: await settings.goInfo(entry.path!, command) });
    else files.push({ path: imagePath, ...digests, kind: 'copied', ...(entry.origin ? { origin: entry.origin } : {}) });
  }
  const base = inputs.base && {
    ref: inputs.base.ref,
    repository: repositoryOf(imageRef(inputs.base.ref)),
    ...(inputs.base.digest ? { digest: inputs.base.digest } : {}),
  };
  return { image: plan.name, tags: plan.pushTags, ...(base ? { base } : {}), files: found, notes, tool: settings.tool ?? TOOL };
}

/**
 * A reproducible command's output in an image decided before the command ran: its bytes are the image's own,
 * read from it; a Go binary is asked of Go from a copy of those bytes (its checkout is the one that made it:
 * the recipe matched).
 */
async function outputFromImage(
  name: string,
  origin: string | undefined,
  imagePath: string,
  plan: ImagePlan,
  inputs: ImageInputs,
  settings: DocumentSettings,
  binaries: ReadonlyMap<string, HostCommand>,
): Promise<SbomFile | undefined> {
  const source = plan.context.find((s) => s.kind === 'path' && s.name === name);
  const command = source?.kind === 'path' ? binaries.get(path.resolve(source.path)) : undefined;
  const read = await settings.images.readFile(inputs.imageId, imagePath, {}).catch(() => undefined);
  if (!read) return undefined;
  const digests = await digestBytes([read.content]);
  if (!command || !settings.goInfo || !isGoBuild(command)) return { path: imagePath, ...digests, kind: 'copied', ...(origin ? { origin } : {}) };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-binary-'));
  try {
    const copy = path.join(dir, path.basename(imagePath));
    // go version reads only files it could run.
    await writeFile(copy, read.content, { mode: 0o755 });
    return { path: imagePath, ...digests, kind: 'go-binary', ...(origin ? { origin } : {}), go: await settings.goInfo(copy, command) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A host command that runs `go build` (a list command, or a shell line that does). */
function isGoBuild(command: HostCommand): boolean {
  return typeof command.run === 'string' ? /\bgo\s+build\b/.test(command.run) : command.run[0] === 'go' || command.run[0]?.endsWith('/go') === true;
}

function provenanceFacts(
  image: string,
  plan: ImagePlan,
  inputs: ImageInputs,
  subject: AttestationSubject,
  run: RunFacts,
  max: boolean,
  finishedOn: string,
  secrets: readonly string[],
): ProvenanceFacts {
  const redact = (text: string) => secrets.reduce((t, value) => t.split(value).join('***'), text);
  return {
    subject: { name: subject.repository, digest: subject.digest },
    image,
    config: run.config,
    targets: run.targets,
    variables: run.variables,
    secrets: plan.secrets,
    builder: run.builder,
    ...(run.imageStore ? { imageStore: run.imageStore } : {}),
    ...(run.engineVersion ? { engineVersion: run.engineVersion } : {}),
    ...(inputs.base ? { base: inputs.base } : {}),
    fetches: inputs.fetches.map((f) => ({ url: f.url, sha256: f.sha256 })),
    commits: run.commits,
    invocationId: run.invocationId,
    startedOn: run.startedOn,
    finishedOn,
    tool: TOOL,
    ...(max
      ? {
          max: {
            dockerfile: redact(plan.dockerfile),
            commands: plan.hostCommands.map((c) => ({ name: c.name ?? c.image, line: redact(pasteableCommand(c)) })),
          },
        }
      : {}),
  };
}

/** sha256 of a file's bytes, hex: the config's digest for the provenance. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
