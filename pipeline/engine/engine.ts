// The narrow view of the Docker engine that the runner needs. docker-engine.ts implements it with dockerode;
// the rest of the code talks to this interface.
import type { Readable } from 'node:stream';

export interface ImageInfo {
  id: string;
  labels: Readonly<Record<string, string>>;
  /** `registry/repo@sha256:...` for each repository this image was pushed to or pulled from. */
  repoDigests: readonly string[];
}

export interface ImageFile {
  content: Buffer;
  mode: number;
  uid: number;
  gid: number;
}

/** What goes in the X-Registry-Auth header of one request. */
export type RegistryAuth = { username: string; password: string; serveraddress: string } | { identitytoken: string; serveraddress: string };

export interface BuildRequest {
  context: Readable;
  buildargs: Readonly<Record<string, string>>;
  labels: Readonly<Record<string, string>>;
  noCache: boolean;
  signal: AbortSignal;
  onLine(line: string): void;
}

export interface Engine {
  /** Fails with a RunError that says how to start the engine when it does not answer. */
  ping(): Promise<void>;
  inspectImage(ref: string): Promise<ImageInfo | undefined>;
  pull(ref: string, auth: RegistryAuth | undefined, onLine: (line: string) => void, signal: AbortSignal): Promise<void>;
  /** Resolves with the new image's ID; an error in the progress stream rejects with the engine's words. */
  build(request: BuildRequest): Promise<string>;
  tag(id: string, ref: string): Promise<void>;
  /** Removes one tag; false when there was no such tag. */
  untag(ref: string): Promise<boolean>;
  /** A file of an image, read from a container that is created, never started, and always removed. */
  readFile(image: string, path: string, labels: Readonly<Record<string, string>>): Promise<ImageFile>;
  push(ref: string, auth: RegistryAuth | undefined, onLine: (line: string) => void, signal: AbortSignal): Promise<{ digest?: string }>;
}

/** `registry/repo:tag` → repository and tag, the tag `latest` when none is written. */
export function splitReference(ref: string): { repo: string; tag: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) } : { repo: ref, tag: 'latest' };
}

/** The registry a reference names, as the docker CLI decides it: a first part with a dot, a colon or `localhost`. */
export function registryOf(ref: string): string {
  const first = ref.split('/')[0]!;
  return ref.includes('/') && (/[.:]/.test(first) || first === 'localhost') ? first : 'docker.io';
}
