// POST /build?version=2 with the context as the streamed body. Under version=2 the daemon hands the body to
// BuildKit as the context (moby builder/builder-next/reqbodyhandler.go); `t` is not sent: the caller tags.
import type { EngineApi } from '../docker/engine-api.ts';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { streamRequest } from './engine-request.ts';
import type { BuildRequest } from '../engine.ts';

export type BuildQuery = Pick<BuildRequest, 'buildargs' | 'labels' | 'noCache' | 'cache'> & {
  session: string;
  /** The context is served by the session's FileSync, not sent as the body. */
  contextInSession?: boolean;
};

export function buildQuery(request: BuildQuery): Record<string, string | number | boolean> {
  return {
    version: '2',
    session: request.session,
    dockerfile: 'Dockerfile',
    // Inline cache is asked of BuildKit by a build arg (what `docker build --build-arg BUILDKIT_INLINE_CACHE=1`
    // does): the image's config then tells the next build, on any machine, which layers it may reuse.
    buildargs: JSON.stringify({ ...request.buildargs, ...(request.cache?.inline ? { BUILDKIT_INLINE_CACHE: '1' } : {}) }),
    labels: JSON.stringify(request.labels),
    nocache: request.noCache,
    ...(request.cache?.from.length ? { cachefrom: JSON.stringify(request.cache.from) } : {}),
    // The engines we drive run with --bridge=none, and 20.10 refuses networkmode=bridge there; RUN steps
    // get no network either way.
    networkmode: 'none',
    // Only the classic builder leaves containers; kept so that a daemon falling back to it cleans up too.
    rm: true,
    forcerm: true,
    // The frontend then reads the Dockerfile and the context as the session's "dockerfile" and "context".
    ...(request.contextInSession ? { remote: 'client-session' } : {}),
  };
}

export function postBuild(engine: EngineApi, request: { body?: Readable } & Pick<BuildRequest, 'signal'> & BuildQuery): Promise<IncomingMessage> {
  return streamRequest(engine, {
    method: 'POST',
    path: '/build?',
    query: buildQuery(request),
    headers: request.body ? { 'Content-Type': 'application/x-tar' } : {},
    ...(request.body ? { body: request.body } : {}),
    signal: request.signal,
  });
}
