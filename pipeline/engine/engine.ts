// The engine seam: what a run asks of wherever images live and are built. Two narrow interfaces, as buildx
// keeps its drivers and testcontainers its runtime clients: an image store (inspect, pull, tag, remove,
// push, read a file) and a builder (a context and build args in, an image ID out). `createEngine` picks the
// backends (engine/create-engine.ts); the rest of the code talks only to these types, and only these
// types and our own Credentials cross the seam: Docker's header shapes stay inside the backends.
import type { Readable } from 'node:stream';
import type { PackEntry } from '../model/context-entries.ts';
import type { Credentials, CredentialLookup } from '../model/credentials.ts';
import type { LocalCacheExport, RegistryCacheExport } from '../model/cache-export.ts';
export type { LocalCacheExport, RegistryCacheExport };

export interface ImageInfo {
  id: string;
  labels: Readonly<Record<string, string>>;
  /** `registry/repo@sha256:...` for each repository this image was pushed to or pulled from. */
  repoDigests: readonly string[];
}

export type ImageIdKind = 'config' | 'manifest';

export interface ImageFile {
  content: Buffer;
  mode: number;
  uid: number;
  gid: number;
}

export type OnLine = (line: string) => void;

export interface ImageStore {
  /** Fails with a RunError that says how to start the engine when it does not answer. */
  ping(): Promise<void>;
  inspectImage(ref: string): Promise<ImageInfo | undefined>;
  /** An image carrying this label with this value, if the engine has one. */
  findImage(label: string, value: string): Promise<ImageInfo | undefined>;
  /**
   * What findImage would find, when that is known without listing the engine's images (the image found
   * last time for this label); undefined says nothing: findImage may still find one.
   */
  knownImage(label: string, value: string): Promise<ImageInfo | undefined>;
  /**
   * The newest image carrying this label with this value and tagged in one of these repositories: the
   * previous build of a config image whatever its tags are now (ONAP's tag is new on every run).
   */
  newestImage(label: string, value: string, repositories: readonly string[]): Promise<ImageInfo | undefined>;
  pull(ref: string, credentials: Credentials | undefined, onLine: OnLine, signal: AbortSignal): Promise<void>;
  tag(id: string, ref: string): Promise<void>;
  /** Removes one tag; false when there was no such tag. */
  untag(ref: string): Promise<boolean>;
  push(ref: string, credentials: Credentials | undefined, onLine: OnLine, signal: AbortSignal): Promise<{ digest?: string }>;
  /**
   * What an image ID is here: the config's digest (a graphdriver engine), or the digest of the manifest or
   * index the image's tag names (the containerd image store, Engine 29's default).
   */
  imageIds(): Promise<ImageIdKind>;
  /** The engine's version, as GET /info says it (for the provenance); absent where a store cannot tell. */
  engineVersion?(): Promise<string | undefined>;
  /** The platform the engine builds for without emulation (`linux/amd64`), from GET /info; absent where a store cannot tell. */
  nativePlatform?(): Promise<string | undefined>;
  /** A file of an image (a link is followed); `labels` go on anything the store makes to read it. */
  readFile(image: string, path: string, labels: Readonly<Record<string, string>>): Promise<ImageFile>;
}

/** One instruction of the build (a BuildKit vertex, a classic `Step N/M`), sent again when its state changes. */
export interface BuildStep {
  id: string;
  name: string;
  cached: boolean;
  /** Milliseconds since the epoch. */
  started?: number;
  completed?: number;
  error?: string;
}

export type BuildProgress =
  | { kind: 'step'; step: BuildStep }
  /** Output of a step (a RUN's stdout and stderr), a line at a time. */
  | { kind: 'log'; stepId?: string; line: string };

/** The generated `Dockerfile` and every file it copies: as entries, or packed as a tar stream on demand. */
export interface BuildContext {
  readonly entries: readonly PackEntry[];
  tar(): Readable;
  /** A file entry's bytes, checked against what was listed and digested; throws a RunError naming a file that changed. */
  read(entry: PackEntry): AsyncIterable<Uint8Array>;
  /**
   * What this context is across runs (the project and the image): a builder that keeps the last context it
   * received (BuildKit's session) keeps one per key, and a rebuild sends only what changed since that one.
   */
  readonly key?: string;
}

export interface BuildRequest {
  context: BuildContext;
  buildargs: Readonly<Record<string, string>>;
  labels: Readonly<Record<string, string>>;
  noCache: boolean;
  /**
   * The image FROM names and its manifest digest ('' when it came from no registry): a builder that reads
   * bases from registries (a buildkitd) builds on exactly that one, not on whatever the tag names by then.
   */
  base?: { ref: string; digest: string };
  /** Named contexts (BuildKit): a FROM of this name builds on that source instead (`docker-image://repo@digest`). */
  contexts?: Readonly<Record<string, string>>;
  /** The platforms to build for (BuildKit); several make an image index. Absent: the engine's own. */
  platforms?: readonly string[];
  signal: AbortSignal;
  onProgress(event: BuildProgress): void;
  /** Asked by a builder that pulls inside the build (BuildKit's session). */
  credentials: CredentialLookup;
  /** What `RUN --mount=type=secret,id=ID` may read, by id. Never logged, never in the image. */
  secrets: ReadonlyMap<string, () => Promise<Buffer>>;
  /**
   * Images (or exported caches) whose layers the build may reuse, and cache directories (absolute paths);
   * whether the image carries inline cache metadata for the next; a registry tag and a directory the
   * build's cache is exported to.
   */
  cache?: { from: readonly string[]; fromDirs?: readonly string[]; inline: boolean; registry?: RegistryCacheExport; local?: LocalCacheExport };
}

export type BuilderName = 'classic' | 'buildkit';

export interface Builder {
  readonly name: BuilderName;
  /** Resolves with the new image's ID; a failing step rejects with a RunError naming it. */
  build(request: BuildRequest): Promise<string>;
  /**
   * Its BuildKit has a content store of its own (a standalone buildkitd), so it exports a cache whatever the
   * image store; dockerd's does only from the containerd image store.
   */
  readonly contentStore?: boolean;
  /** Removes build cache beyond `keepBytes` (never an image); what it freed. */
  pruneCache(keepBytes: number): Promise<{ reclaimed: number }>;
}

export interface Engine {
  images: ImageStore;
  builder: Builder;
}

/** One of the machines a run builds on (config `builders:`): its engine, and how many images it takes at once. */
export interface BuildMachine extends Engine {
  name: string;
  capacity: number;
  /** What it builds for; undefined: anything. */
  platforms?: readonly string[];
  /**
   * Set for a buildkitd: what it builds is loaded into the local engine (`builder` when that engine is one of
   * the run's builders too), and it cannot build on an image held there: it reads bases from registries.
   */
  loadsInto?: { builder?: string };
}
