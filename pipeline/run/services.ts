// What a run is given, in two parts: the services (the engine's two halves, the fetcher, credentials, the
// registry, the clock: things with effects, which tests replace with in-memory ones) and the options the
// command line chose. Each run function names the few it uses, so that a unit test builds only those;
// cli/command.ts wires the real ones, in one place.
import type { Builder, BuildMachine, ImageStore, LocalCacheExport, RegistryCacheExport } from '../engine/engine.ts';
import type { Fetcher } from '../context/fetcher.ts';
import type { DigestCache } from '../context/digest-cache.ts';
import type { ApplyEdit } from '../context/edit-cache.ts';
import type { CredentialLookup, Credentials } from '../model/credentials.ts';
import type { RunEvent } from './events.ts';
import type { RemoteImage } from '../registry/registry-images.ts';
import type { AttestationSubject, DocumentsFor } from '../attest/attestation.ts';
import type { AttachOutcome } from '../registry/referrers.ts';
import type { ReferrerPayload } from '../registry/referrer-manifests.ts';
import type { LegacyAttestation } from '../registry/cosign-tags.ts';
import type { InputLog } from '../attest/inventory.ts';
import type { BuiltIndex, Platform } from '../registry/attestation-index.ts';

/** What a tag names, with its JSON. */
export interface TagDocument {
  digest: string;
  mediaType: string;
  size: number;
  /** Its bytes exactly, to be put under another tag unchanged. */
  bytes: Buffer;
  json: unknown;
  isIndex: boolean;
}

export interface RunServices {
  images: ImageStore;
  builder: Builder;
  /**
   * The machines of a config with `builders:`; `images` and `builder` are then the first one's. Undefined:
   * the one engine of DOCKER_HOST, as before builders existed.
   */
  machines?: readonly BuildMachine[];
  emit(event: RunEvent): void;
  signal: AbortSignal;
  fetcher: Fetcher;
  credentials: CredentialLookup;
  /** How a base image's file is edited: remembered between runs. Made now when absent. */
  edit?: ApplyEdit;
  /** Content digests of unchanged files, kept between runs. */
  digests?: DigestCache;
  /** What a registry holds under a tag, read without a pull; and a manifest put under another tag there. */
  registry: {
    image(ref: string, credentials: Credentials | undefined): Promise<RemoteImage | undefined>;
    putTag(image: RemoteImage, target: string, credentials: Credentials | undefined): Promise<string>;
  };
  /** The supply-chain documents of an image for the manifest it was pushed as (attest/); none when absent. */
  documents?: DocumentsFor;
  /** Loads what the documents are made with (the CycloneDX library: ~0.09 s), while a push goes on. */
  warmDocuments?: () => void;
  /** Where those documents go: what a pushed tag names, and referrers put on it (registry/referrers.ts). */
  referrers?: {
    subject(ref: string, credentials: Credentials | undefined): Promise<Omit<AttestationSubject, 'repository'> | undefined>;
    attach(subject: AttestationSubject, payloads: readonly ReferrerPayload[], credentials: Credentials | undefined): Promise<AttachOutcome>;
    /** cosign's `.att` tag (signFormat: legacy); the tag, or undefined when nothing was new. */
    attestationTag(subject: AttestationSubject, added: readonly LegacyAttestation[], credentials: Credentials | undefined): Promise<string | undefined>;
    /** attestations: {storage: index} (registry/attestation-index.ts): what a tag names, read whole; a manifest's platform; an index put at a tag. */
    index?: {
      read(ref: string, credentials: Credentials | undefined): Promise<TagDocument | undefined>;
      platform(repository: string, digest: string, credentials: Credentials | undefined): Promise<Platform>;
      put(repository: string, tag: string, built: BuiltIndex, credentials: Credentials | undefined): Promise<string>;
    };
  };
  /** The registry's digest for a tag, asked before a push; undefined when unknown. */
  remoteDigest(ref: string, credentials: Credentials | undefined): Promise<string | undefined>;
  /** Waits between push attempts. */
  sleep(ms: number): Promise<void>;
  /** The clock that bounds push retries (ms). */
  now(): number;
  /** How to read a secret of the config, by id: read as the build of an image that mounts it starts. */
  secret(id: string): () => Promise<Buffer>;
  /** Where builds record what each image is made of (its base, files, fetches), for its documents. */
  inputs?: InputLog;
}

export interface RunOptions {
  concurrency: number;
  keepGoing: boolean;
  noCache: boolean;
  /** Pull bases even when present. */
  pull: boolean;
  /** Push the images that built although others failed (deploy is all or nothing without it). */
  pushPartial: boolean;
  /** What varies per run, kept out of the digest: the time and revision, and --label's extra labels. */
  stamp: { created: string; revision: string };
  extraLabels: Readonly<Record<string, string>>;
  projectDir: string;
  /** The builder's cache is pruned down to this after a run that built; undefined: never. */
  cacheLimit?: number;
  /**
   * Per image, the tags this line will push: its registry is asked for them before it is built (the
   * registry as the cache of record), and a build takes layers from them.
   */
  pushRefs?: ReadonlyMap<string, readonly string[]>;
  /** Whether the registry is asked at all (config `registryCheck`, --no-registry-check). */
  registryCheck?: boolean;
  /** --cache-from: more images every build may take layers from. */
  cacheFrom?: readonly string[];
  /** --cache-to: inline cache metadata in every image, or none; undefined: as each image's config says. */
  inlineCache?: boolean;
  /** --cache-from type=local: cache directories (absolute) every build may take layers from. */
  cacheFromDirs?: readonly string[];
  /** --cache-to type=registry: the (one) image's cache exported to this tag, over its config's. */
  registryCache?: RegistryCacheExport;
  /** --cache-to type=local: the (one) image's cache exported to this directory (absolute), over its config's. */
  localCache?: LocalCacheExport;
  /** Where each image's documents are written at the end (the metadata file's directory); undefined: nowhere. */
  documentsDir?: string;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
