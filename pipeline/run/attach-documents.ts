// After `deploy` pushed an image's tags: its documents (attest/) hung off each pushed manifest as OCI 1.1
// referrers, each in-toto Statement signed when a key is configured, and the configured signing command run
// per pushed tag. A tag's manifest is read back from the registry (the subject is what the registry holds,
// whatever the engine reported), and tags with one manifest in one repository get their documents once.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { AttestationDocument, AttestationSubject } from '../attest/attestation.ts';
import { BUNDLE_TYPE, signingKey, signStatement } from '../attest/sign-statement.ts';
import { imageRef, registryOf, repositoryOf } from '../model/image-ref.ts';
import { RunError } from '../model/errors.ts';
import type { ImagePlan } from '../plan/plan.ts';
import type { ReferrerPayload } from '../registry/referrer-manifests.ts';
import type { LegacyAttestation } from '../registry/cosign-tags.ts';
import type { Credentials } from '../model/credentials.ts';
import type { RunServices } from './services.ts';

type AttachServices = Pick<RunServices, 'documents' | 'referrers' | 'credentials' | 'emit' | 'signal'>;
type Manifest = Omit<AttestationSubject, 'repository'>;

/** What could not be attached or signed (`repository@digest` or the tag): the run fails with them. */
export async function attachDocuments(image: ImagePlan, pushed: readonly string[], settings: AttachServices, env = process.env): Promise<string[]> {
  const failed: string[] = [];
  const { documents, referrers } = settings;
  // What each tag names, asked once for the documents and the signing command together.
  const manifests = new Map<string, Promise<Manifest | undefined>>();
  const manifestOf = async (tag: string): Promise<Manifest | undefined> => {
    let asked = manifests.get(tag);
    if (!asked) {
      asked = (async () => referrers?.subject(tag, await settings.credentials(registryOf(tag))))();
      manifests.set(tag, asked);
    }
    return asked;
  };
  if (documents && referrers) {
    const done = new Set<string>();
    for (const tag of pushed) {
      const repository = repositoryOf(imageRef(tag));
      const credentials = await settings.credentials(registryOf(tag));
      let name = tag;
      try {
        const manifest = await manifestOf(tag);
        if (!manifest) throw new Error(`the registry has no manifest for ${tag} after its push`);
        const subject: AttestationSubject = { repository, ...manifest };
        name = `${repository}@${subject.digest}`;
        if (done.has(name)) continue;
        done.add(name);
        const { payloads, legacy } = await payloadsOf(await documents(image.name, subject), image.sign, env);
        if (payloads.length === 0 && legacy.length === 0) continue;
        await hangOff(image, subject, { payloads, legacy }, credentials, settings);
      } catch (err) {
        if (!(err instanceof Error)) throw err;
        failed.push(name);
        settings.emit({ type: 'referrers', image: image.name, subject: name, referrers: [], error: err.message });
      }
    }
  }
  if (image.sign.command) {
    for (const tag of pushed) {
      if (!(await signTag(image, tag, await manifestOf(tag).catch(() => undefined), settings))) failed.push(tag);
    }
  }
  return failed;
}

/**
 * Payloads hung off the subject as referrers and legacy envelopes as cosign's `.att` tag of it, said in a
 * `referrers` event; rejects with the registry's failure.
 */
export async function hangOff(
  image: ImagePlan,
  subject: AttestationSubject,
  { payloads, legacy }: { payloads: ReferrerPayload[]; legacy: LegacyAttestation[] },
  credentials: Credentials | undefined,
  settings: Pick<AttachServices, 'referrers' | 'emit'>,
): Promise<void> {
  const referrers = settings.referrers!;
  const outcome = payloads.length > 0 ? await referrers.attach(subject, payloads, credentials) : undefined;
  const attestationTag = legacy.length > 0 ? await referrers.attestationTag(subject, legacy, credentials) : undefined;
  settings.emit({
    type: 'referrers',
    image: image.name,
    subject: `${subject.repository}@${subject.digest}`,
    referrers: (outcome?.referrers ?? []).map((r) => ({ digest: r.digest, artifactType: r.artifactType ?? '' })),
    ...(outcome?.fallbackTag ? { fallbackTag: outcome.fallbackTag } : {}),
    ...(attestationTag ? { attestationTag } : {}),
  });
}

/**
 * Each document as a referrer; each Statement's signature, when a key is set: a sigstore bundle referrer
 * after it, or (signFormat: legacy) the bundle's DSSE envelope for cosign's `.att` tag.
 */
async function payloadsOf(
  docs: readonly AttestationDocument[],
  sign: ImagePlan['sign'],
  env: NodeJS.ProcessEnv,
): Promise<{ payloads: ReferrerPayload[]; legacy: LegacyAttestation[] }> {
  const payloads: ReferrerPayload[] = docs.map((doc) => ({
    artifactType: doc.artifactType,
    mediaType: doc.mediaType,
    body: doc.body,
    annotations: doc.annotations,
  }));
  const statements = docs.flatMap((doc) => (doc.statement ? [{ body: doc.body, predicateType: doc.statement.predicateType }] : []));
  const signed = await signatures(statements, sign, env);
  return { payloads: [...payloads, ...signed.payloads], legacy: signed.legacy };
}

/**
 * Each Statement signed with the configured key (none without one): a sigstore bundle referrer, or with
 * signFormat: legacy the bundle's DSSE envelope for cosign's `.att` tag.
 */
export async function signatures(
  statements: readonly { body: Uint8Array; predicateType: string }[],
  sign: ImagePlan['sign'],
  env: NodeJS.ProcessEnv,
): Promise<{ payloads: ReferrerPayload[]; legacy: LegacyAttestation[] }> {
  const payloads: ReferrerPayload[] = [];
  const legacy: LegacyAttestation[] = [];
  const { key } = sign;
  if (!key || statements.length === 0) return { payloads, legacy };
  const privateKey = signingKey(await readKey(key, env), 'file' in key ? key.file : `$${key.env}`);
  for (const { body, predicateType } of statements) {
    const bundle = await signStatement(body, privateKey);
    if (sign.format === 'legacy') {
      const { dsseEnvelope } = JSON.parse(bundle.toString()) as { dsseEnvelope: unknown };
      legacy.push({ envelope: Buffer.from(JSON.stringify(dsseEnvelope)), predicateType });
      continue;
    }
    // What cosign writes on its own bundles, and reads to pick one by --type.
    const annotations = { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': predicateType };
    payloads.push({ artifactType: BUNDLE_TYPE, mediaType: BUNDLE_TYPE, body: bundle, annotations });
  }
  return { payloads, legacy };
}

async function readKey(key: NonNullable<ImagePlan['sign']['key']>, env: NodeJS.ProcessEnv): Promise<string> {
  if ('env' in key) {
    const value = env[key.env];
    if (!value) throw new RunError(`the signing key's variable ${key.env} is not set`, 'set it to the PEM, or give attestations.sign.key.file');
    return value;
  }
  try {
    return await readFile(key.file, 'utf8');
  } catch (err) {
    throw new RunError(
      `the signing key ${key.file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      'attestations.sign.key.file names a PEM file',
    );
  }
}

/** Whether the configured signing command signed the tag; a failure is told as the deploy's. */
export async function signTag(
  image: ImagePlan,
  tag: string,
  manifest: Pick<Manifest, 'digest'> | undefined,
  settings: Pick<AttachServices, 'emit' | 'signal'>,
): Promise<boolean> {
  try {
    await signingCommand(image, tag, manifest, settings);
    return true;
  } catch (err) {
    if (!(err instanceof RunError)) throw err;
    settings.emit({ type: 'action', action: 'deploy', image: image.name, ok: false, message: err.message });
    return false;
  }
}

/** The configured command, with the pushed tag and its digest in its environment; its output is the image's log. */
async function signingCommand(
  image: ImagePlan,
  tag: string,
  manifest: Pick<Manifest, 'digest'> | undefined,
  settings: Pick<AttachServices, 'emit' | 'signal'>,
): Promise<void> {
  const [file, ...args] = image.sign.command!;
  if (!manifest) throw new RunError(`the signing command was not run for ${tag}: the registry has no manifest for it`);
  const subject = `${repositoryOf(imageRef(tag))}@${manifest.digest}`;
  const child = spawn(file!, args, {
    env: { ...process.env, BUILD_IMAGES_REF: tag, BUILD_IMAGES_DIGEST: manifest.digest, BUILD_IMAGES_SUBJECT: subject },
    stdio: ['ignore', 'pipe', 'pipe'],
    signal: settings.signal,
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => settings.emit({ type: 'log', image: image.name, line }));
  }
  const code = await new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(-1));
    child.on('close', resolve);
  });
  if (code !== 0) throw new RunError(`the signing command ${file} failed for ${subject} (${code === -1 ? 'could not be started' : `exit ${code}`})`);
}
