// The narrow view of the Docker engine that the runner needs. docker-engine.ts implements it with dockerode;
// the rest of the code talks to this interface.
import type { Readable } from 'node:stream';
import type { Credentials } from '../model/credentials.ts';

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
  pull(ref: string, auth: Credentials | undefined, onLine: (line: string) => void, signal: AbortSignal): Promise<void>;
  /** Resolves with the new image's ID; an error in the progress stream rejects with the engine's words. */
  build(request: BuildRequest): Promise<string>;
  tag(id: string, ref: string): Promise<void>;
  /** Removes one tag; false when there was no such tag. */
  untag(ref: string): Promise<boolean>;
  /** A file of an image, read from a container that is created, never started, and always removed. */
  readFile(image: string, path: string, labels: Readonly<Record<string, string>>): Promise<ImageFile>;
  push(ref: string, auth: Credentials | undefined, onLine: (line: string) => void, signal: AbortSignal): Promise<{ digest?: string }>;
}
