// attestations: {storage: index}, after deploy, deploy_latest or a registry-side tag: each tag the image is
// in the registry under moved onto an OCI index of its manifest and BuildKit's attestation manifest for it
// (registry/attestation-index.ts), instead of the documents hung off the manifest as referrers. The
// Statements are about the image's manifest (not the index, whose digest depends on them), so their
// signatures still hang off that manifest as referrers (or cosign's `.att` tag of it): `cosign
// verify-attestation` of `repository@<manifest digest>` is as before. A tag that already names this layout for
// its manifest is left as it is; one the engine has just pushed the plain manifest to gets the index another
// tag of the image already names when there is one (`latest` then names the same index as the version tag),
// so the Statements are made and signed once per manifest.
import type { AttestationSubject } from '../attest/attestation.ts';
import { statementsOf } from '../attest/statements.ts';
import { imageRef, registryOf, repositoryOf, tagOf } from '../model/image-ref.ts';
import type { ImagePlan } from '../plan/plan.ts';
import { attestationIndex, describesManifest, runnableManifests, type BuiltIndex, type PlatformImage } from '../registry/attestation-index.ts';
import { hangOff, signatures, signTag } from './attach-documents.ts';
import type { RunServices, TagDocument } from './services.ts';

type IndexServices = Pick<RunServices, 'documents' | 'referrers' | 'credentials' | 'emit' | 'signal'>;
type IndexRegistry = NonNullable<NonNullable<RunServices['referrers']>['index']>;

/**
 * Each tag pushed (or tagged) now, and each found there already, onto its index; the signing command runs
 * for those pushed now, as without an index. What could not be put onto an index or signed (tags, or
 * `repository@digest`) is returned: the run fails with them.
 */
export async function indexAttestations(
  image: ImagePlan,
  tags: { pushed: readonly string[]; present: readonly string[] },
  settings: IndexServices,
  env = process.env,
): Promise<string[]> {
  const registry = settings.referrers?.index;
  if (!registry || !settings.documents) return [];
  const failed: string[] = [];
  const signed = new Set<string>();
  for (const tag of [...tags.pushed, ...tags.present]) {
    const credentials = await settings.credentials(registryOf(tag));
    let digest: string | undefined;
    try {
      const held = await registry.read(tag, credentials);
      if (!held) throw new Error(`the registry has no manifest for ${tag} after its push`);
      const done = await alreadyIndexed(held, image, tag, registry, settings);
      if (done) {
        settings.emit({ type: 'index', image: image.name, tag, digest: done.digest, manifest: done.manifest });
        digest = done.digest;
      } else {
        const made = await makeIndex(held, image, tag, settings, registry, signed, failed, env);
        if (made) settings.emit({ type: 'index', image: image.name, tag, ...made });
        // No documents, no index: the signing command still signs what was pushed.
        digest = made?.digest ?? held.digest;
      }
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      failed.push(tag);
      settings.emit({ type: 'index', image: image.name, tag, error: err.message });
      continue;
    }
    if (!image.sign.command || !tags.pushed.includes(tag)) continue;
    // What the tag names now, the index: what `cosign sign REF` would sign.
    if (!(await signTag(image, tag, { digest }, settings))) failed.push(tag);
  }
  return failed;
}

/**
 * The index the tag should name when one is made already: the tag's own (it names this layout), or, when the
 * engine has just put the plain manifest there, the one another of the image's tags in the repository names
 * for that manifest (put here unchanged: what it names is in the repository already).
 */
async function alreadyIndexed(
  held: TagDocument,
  image: ImagePlan,
  tag: string,
  registry: IndexRegistry,
  settings: Pick<IndexServices, 'credentials'>,
): Promise<{ digest: string; manifest: string } | undefined> {
  if (held.isIndex) {
    // Every platform's manifest with its attestation manifest: an index the engine pushed has none.
    const manifests = runnableManifests(held.json);
    const done = manifests.length > 0 && manifests.every((m) => describesManifest(held.json, m.digest));
    return done ? { digest: held.digest, manifest: manifests[0]!.digest } : undefined;
  }
  const repository = repositoryOf(imageRef(tag));
  const credentials = await settings.credentials(registryOf(tag));
  for (const other of [...new Set(image.pushTags)]) {
    if (other === tag || repositoryOf(imageRef(other)) !== repository) continue;
    const sibling = await registry.read(other, credentials).catch(() => undefined);
    if (!sibling?.isIndex || !describesManifest(sibling.json, held.digest)) continue;
    const digest = await registry.put(repository, tagOf(imageRef(tag)), { bytes: sibling.bytes, digest: sibling.digest, attestations: [] }, credentials);
    return { digest, manifest: held.digest };
  }
  return undefined;
}

/**
 * A new index at the tag: the manifest it names (or each platform's, when the engine pushed an index) with
 * an attestation manifest of its documents' Statements, each Statement signed once per manifest. undefined
 * when the image has no documents (sbom and provenance off): the tag stays as pushed.
 */
async function makeIndex(
  held: TagDocument,
  image: ImagePlan,
  tag: string,
  settings: IndexServices,
  registry: IndexRegistry,
  signed: Set<string>,
  failed: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ digest: string; manifest: string; attestation: string } | undefined> {
  const repository = repositoryOf(imageRef(tag));
  const credentials = await settings.credentials(registryOf(tag));
  const manifests = held.isIndex ? runnableManifests(held.json) : [{ mediaType: held.mediaType, digest: held.digest, size: held.size }];
  if (manifests.length === 0) throw new Error(`${tag} names an index with no image manifest`);
  const images: PlatformImage[] = [];
  for (const manifest of manifests) {
    const subject: AttestationSubject = { repository, ...manifest };
    const statements = statementsOf(await settings.documents!(image.name, subject), subject);
    const platform = 'platform' in manifest && manifest.platform ? manifest.platform : await registry.platform(repository, manifest.digest, credentials);
    images.push({ manifest, platform, statements });
    const name = `${repository}@${manifest.digest}`;
    if (signed.has(name)) continue;
    signed.add(name);
    if (!(await signStatements(image, subject, statements, settings, env))) failed.push(name);
  }
  if (images.every((i) => i.statements.length === 0)) return undefined;
  const built: BuiltIndex = attestationIndex(images);
  const digest = await registry.put(repository, tagOf(imageRef(tag)), built, credentials);
  return { digest, manifest: manifests[0]!.digest, attestation: built.attestations[0]!.descriptor.digest };
}

/** The Statements' signatures hung off the manifest they are about (as referrers, or cosign's `.att` tag); false when that failed (said in a `referrers` event). */
async function signStatements(
  image: ImagePlan,
  subject: AttestationSubject,
  statements: Parameters<typeof signatures>[0],
  settings: IndexServices,
  env: NodeJS.ProcessEnv,
): Promise<boolean> {
  const name = `${subject.repository}@${subject.digest}`;
  try {
    const signed = await signatures(statements, image.sign, env);
    if (signed.payloads.length === 0 && signed.legacy.length === 0) return true;
    await hangOff(image, subject, signed, await settings.credentials(registryOf(subject.repository)), settings);
    return true;
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    settings.emit({ type: 'referrers', image: image.name, subject: name, referrers: [], error: err.message });
    return false;
  }
}
