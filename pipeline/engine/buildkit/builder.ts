// The BuildKit backend of the builder seam: a session (Health, Auth, Secrets) opened for each build, the
// context posted as the request body, BuildKit's progress decoded into steps and log lines.
import type Docker from 'dockerode';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { Interrupted, RunError } from '../../errors.ts';
import { engineMessage } from './engine-request.ts';
import { postBuild } from './post-build.ts';
import { pruneBuildCache } from './prune.ts';
import { openSession } from './session.ts';
import { createTraceReader, failureMessage } from './trace.ts';
import type { Builder, BuildRequest } from './types.ts';

export interface BuildkitOptions {
  /** Shown by the daemon as the session's name. */
  sessionName?: string;
}

export function createBuildkitBuilder(docker: Docker, options: BuildkitOptions = {}): Builder {
  return {
    name: 'buildkit',
    build: (request) => build(docker, request, options),
    pruneCache: (keepBytes) => pruneBuildCache(docker, keepBytes),
  };
}

async function build(docker: Docker, request: BuildRequest, options: BuildkitOptions): Promise<string> {
  const { signal } = request;
  if (signal.aborted) throw new Interrupted();
  const session = await openSession(docker, request, options.sessionName).catch((err: unknown) => {
    throw new RunError(`opening a build session: ${engineMessage(err)}`);
  });
  const reader = createTraceReader(request.onProgress);
  try {
    let answer: Readable;
    try {
      answer = await postBuild(docker, { ...request, session: session.id });
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
  const outcome = reader.end();
  if (outcome.error !== undefined || outcome.failedStep) throw new RunError(failureMessage(outcome));
  if (!outcome.imageId) throw new RunError('the engine finished the build without naming the image it made');
  return outcome.imageId;
}
