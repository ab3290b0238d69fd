// The builder seam as issue 10 draws it. A copy for now: these types move into pipeline/engine/engine.ts when
// the seam lands, and this file then re-exports them from there.
import type { Readable } from 'node:stream';

export type Credentials =
  | { registry: string; username: string; password: string }
  | { registry: string; identityToken: string };

/** ms epoch for started/completed. */
export type BuildStep = { id: string; name: string; cached: boolean; started?: number; completed?: number; error?: string };

export type BuildProgress =
  /** A vertex, sent again when its state changes. */
  | { kind: 'step'; step: BuildStep }
  /** RUN output, line by line. */
  | { kind: 'log'; stepId: string; stepName: string; line: string }
  /** Anything else worth showing. */
  | { kind: 'line'; line: string };

export interface BuildRequest {
  /** A tar stream holding the generated `Dockerfile` and the files. */
  context: Readable;
  buildargs: Readonly<Record<string, string>>;
  labels: Readonly<Record<string, string>>;
  noCache: boolean;
  signal: AbortSignal;
  onProgress(event: BuildProgress): void;
  /** Credentials for a registry host (docker.io for Docker Hub), asked by the session's Auth service. */
  credentials(registry: string): Promise<Credentials | undefined>;
  /** Secrets a `RUN --mount=type=secret,id=X` may read: id → bytes. Never logged. */
  secrets: ReadonlyMap<string, () => Promise<Buffer>>;
}

export interface Builder {
  readonly name: 'classic' | 'buildkit';
  /** Resolves with the image ID (sha256:...); rejects with RunError naming the failing step and the engine's message. */
  build(request: BuildRequest): Promise<string>;
  /** Prunes build cache above keepBytes; returns bytes reclaimed. Never removes images. */
  pruneCache(keepBytes: number): Promise<{ reclaimed: number }>;
}
