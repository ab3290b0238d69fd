// What a run reports, as data. The runner emits these; the TTY, plain and JSON renderers consume them.
import type { BuildStep } from '../engine/engine.ts';
import type { Action } from '../model/actions.ts';
import type { Problem } from '../model/errors.ts';
import type { PlanEvent } from '../plan/plan-event.ts';

export type ImageStatus = 'built' | 'skipped' | 'failed';

export interface ImageOutcome {
  name: string;
  id?: string;
  tags: readonly string[];
  status: ImageStatus;
}

export type RunEvent =
  | PlanEvent
  | { type: 'notice'; message: string }
  /** `builder`: the configured builder it was placed on (none without `builders:`). */
  | { type: 'start'; image: string; builder?: string }
  | { type: 'log'; image: string; line: string }
  /** A Dockerfile instruction's state: started, cached, completed (milliseconds since the epoch), failed. */
  | { type: 'step'; image: string; step: BuildStep }
  | {
      type: 'command';
      image: string;
      name?: string;
      status: 'ran' | 'fresh' | 'failed';
      /** Shell-quoted, with its directory and environment: a line to paste into a shell. */
      command: string;
      reason?: string;
      /** A failed command's last lines of stderr: the compiler's message. */
      output?: string[];
      hint?: string;
      /** How long it took, ran or failed (0 when up to date). */
      seconds?: number;
    }
  | { type: 'pull'; image: string; ref: string }
  | {
      type: 'finish';
      image: string;
      status: ImageStatus;
      /** The configured builder whose engine built or holds it (none without `builders:`). */
      builder?: string;
      id?: string;
      tags: readonly string[];
      /** Why it was built: no image yet, base image changed, build args changed, inputs changed, --no-cache. */
      reason?: string;
      /** With inputs changed: the paths (or URLs) of the inputs that differ. */
      changed?: string[];
      error?: string;
      hint?: string;
      /**
       * With `skipped`: the image was up to date in this registry (a tag there carries these inputs' digest),
       * so it was neither pulled, built nor pushed; `digest` is the manifest's there.
       */
      registry?: { name: string; digest: string };
      /**
       * With `failed`: the image was never started, because an image it is built on failed (`dependency`) or
       * the run had stopped first (a failure without --keep-going, or Ctrl-C: `stopped`).
       */
      notBuilt?: 'dependency' | 'stopped';
      /** With `failed`: config errors found as it was built (placed at their step; the run ends with exit 2). */
      problems?: Problem[];
      /**
       * What it was built on (built or up to date): the reference (a graph image's first tag), the image ID used,
       * and, when the engine knows it, the manifest's digest in the base's registry.
       */
      base?: { ref: string; id?: string; digest?: string };
      seconds: number;
    }
  | { type: 'action'; action: Action; image?: string; message: string; ok: boolean }
  /**
   * `present`: the registry already had this tag for this very image, so it was not pushed again;
   * `tagged`: the registry had the image under another tag, and the manifest was put under this one there.
   */
  | { type: 'push'; image: string; tag: string; status: 'pushed' | 'present' | 'tagged' | 'failed'; digest?: string; error?: string }
  /**
   * An image's supply-chain documents (SPDX, CycloneDX, provenance), written next to the metadata file, for
   * `subject` (the pushed manifest's digest, or the image ID when it was pushed nowhere); `error` when they
   * could not be made.
   */
  | { type: 'documents'; image: string; subject: string; files: string[]; error?: string; hint?: string }
  /**
   * Documents (and their signatures) hung off a pushed manifest, `subject` = `repository@digest`, as OCI 1.1
   * referrers: each one's digest and artifactType; `fallbackTag` when the registry has no Referrers API and
   * the referrers index was written at that tag; `error` when the registry refused them (or a key was bad).
   */
  | {
      type: 'referrers';
      image: string;
      subject: string;
      referrers: { digest: string; artifactType: string }[];
      fallbackTag?: string;
      /** With `signFormat: legacy`: cosign's `sha256-<hex>.att` tag, written with the signed Statements. */
      attestationTag?: string;
      error?: string;
    }
  /**
   * attestations: {storage: index}: the tag now names an OCI index (`digest`) of the image's manifest
   * (`manifest`) and BuildKit's attestation manifest for it (`attestation`, absent when the index was found
   * already made: at this tag, or at another tag of the image); `error` when it could not be made.
   */
  | { type: 'index'; image: string; tag: string; digest?: string; manifest?: string; attestation?: string; error?: string }
  /** The builder's cache was pruned down to its limit. */
  | { type: 'cache'; reclaimed: number; limit: number }
  | {
      type: 'summary';
      ok: boolean;
      images: ImageOutcome[];
      /** Host commands by what became of them. */
      commands: { ran: number; fresh: number; failed: number };
      pushed: string[];
      notPushed: string[];
      interrupted?: boolean;
    };

export interface Reporter {
  emit(event: RunEvent): void;
  /** Waits until everything emitted is on the screen. */
  close(): Promise<void>;
}
