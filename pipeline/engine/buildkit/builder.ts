// The BuildKit backend of the builder seam: a session (Health, Auth, Secrets) opened for each build, the
// context posted as the request body (or, on the optional path, served by the session's FileSync), BuildKit's
// progress decoded into steps and log lines.
import type { EngineApi } from '../docker/engine-api.ts';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { Interrupted, RunError, UserError } from '../../model/errors.ts';
import type { PackEntry } from '../../model/context-entries.ts';
import { engineMessage } from './engine-request.ts';
import { postBuild } from './post-build.ts';
import { pruneBuildCache } from './prune.ts';
import { openSession } from './session.ts';
import { createTraceReader, failureMessage } from './trace.ts';
import type { SessionFile } from './file-sync.ts';
import type { Builder, BuildRequest } from '../engine.ts';

/** A build whose context (the `Dockerfile` among the files) goes through the session: only changed files cross. */
export type SessionContextRequest = Omit<BuildRequest, 'context'> & {
  files: readonly SessionFile[];
  read?: (file: SessionFile) => AsyncIterable<Uint8Array>;
  /** BuildContext's key. */
  contextKey?: string;
};
/** A build whose context is the request's body, a tar stream, as `docker build` without a session sends it. */
export type TarBodyRequest = Omit<BuildRequest, 'context'> & { body: Readable };

export interface BuildkitBuilder extends Builder {
  readonly name: 'buildkit';
  buildWithSessionContext(request: SessionContextRequest): Promise<string>;
  buildWithTarBody(request: TarBodyRequest): Promise<string>;
}

export interface BuildkitOptions {
  /** Shown by the daemon as the session's name. */
  sessionName?: string;
  /** The engine's API version, from the run's ping (`/_ping`'s Api-Version); asked again when absent. */
  apiVersion?: string;
}

export function createBuildkitBuilder(engine: EngineApi, options: BuildkitOptions = {}): BuildkitBuilder {
  return {
    name: 'buildkit',
    // The context goes through the session: a rebuild sends only the files whose size or time changed,
    // where a tar body sends everything again (measured: 2.1 s against 13.7 s with one small file changed
    // in a 72 MiB context).
    build: ({ context, ...request }) =>
      build(engine, { ...request, files: context.entries, read: (file) => context.read(file as PackEntry), contextKey: context.key }, options),
    buildWithSessionContext: (request) => build(engine, request, options),
    buildWithTarBody: (request) => build(engine, request, options),
    pruneCache: (keepBytes) => pruneBuildCache(engine, keepBytes, options.apiVersion),
  };
}

async function build(engine: EngineApi, request: TarBodyRequest | SessionContextRequest, options: BuildkitOptions): Promise<string> {
  const files = 'files' in request ? request.files : undefined;
  const { signal } = request;
  if (signal.aborted) throw new Interrupted();
  // A file that changed while it was sent fails the build in our words, naming it, not the daemon's.
  let contextError: Error | undefined;
  const sources = {
    credentials: request.credentials,
    secrets: request.secrets,
    ...(files
      ? {
          files,
          read: 'read' in request ? request.read : undefined,
          contextKey: 'contextKey' in request ? request.contextKey : undefined,
          onContextError: (err: Error) => (contextError ??= err),
        }
      : {}),
  };
  const session = await openSession(engine, sources, options.sessionName).catch((err: unknown) => {
    throw new RunError(`opening a build session: ${engineMessage(err)}`);
  });
  const reader = createTraceReader(request.onProgress);
  try {
    let answer: Readable;
    try {
      answer = await postBuild(engine, {
        buildargs: request.buildargs,
        labels: request.labels,
        noCache: request.noCache,
        cache: request.cache,
        signal,
        session: session.id,
        ...('body' in request ? { body: request.body } : { contextInSession: true }),
      });
    } catch (err) {
      if (signal.aborted) throw new Interrupted();
      throw new RunError(`building: ${engineMessage(err)}`);
    }
    try {
      for await (const line of createInterface({ input: answer, crlfDelay: Infinity })) reader.line(line);
    } catch (err) {
      if (signal.aborted) throw new Interrupted();
      throw new RunError(`building: the engine's answer broke off (${engineMessage(err)})`);
    }
  } finally {
    session.close();
  }
  if (signal.aborted) throw new Interrupted();
  if (contextError instanceof RunError || contextError instanceof UserError) throw contextError;
  const outcome = reader.end();
  if (outcome.error !== undefined || outcome.failedStep) throw new RunError(failureMessage(outcome));
  if (!outcome.imageId) throw new RunError('the engine finished the build without naming the image it made');
  return outcome.imageId;
}
