// The classic builder (POST /build with no version), which every Docker engine has. Each instruction is a
// container commit, and it sees no session: credentials for a base go with the pull before the build, and
// secrets cannot be mounted.
import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { DOCKERFILE } from '../../model/context-entries.ts';
import { RunError } from '../../model/errors.ts';
import { streamed, type Failure } from '../docker/docker-engine.ts';
import type { Builder, BuildRequest } from '../engine.ts';
import { classicSteps } from './classic-steps.ts';

export function createClassicBuilder(docker: Docker, failure: Failure): Builder {
  return {
    name: 'classic',
    async build(request: BuildRequest) {
      if (request.secrets.size > 0) {
        throw new RunError('the classic builder cannot mount secrets', 'build with BuildKit (the default where the engine has it)');
      }
      const steps = classicSteps(request.onProgress);
      // Layers of cache images already on the engine only: it pulls none, and exports no cache (build-image says so).
      const cacheFrom = request.cache?.from ?? [];
      const result = await streamed(
        failure,
        'building',
        () =>
          docker.buildImage(request.context.tar(), {
            dockerfile: DOCKERFILE,
            buildargs: { ...request.buildargs },
            labels: { ...request.labels },
            nocache: request.noCache,
            // The engine wants one JSON array; dockerode would repeat the parameter for an array.
            ...(cacheFrom.length ? { cachefrom: JSON.stringify(cacheFrom) } : {}),
            pull: false,
            rm: true,
            // Without forcerm a failed RUN leaves its exited container behind.
            forcerm: true,
            abortSignal: request.signal,
          } as Docker.ImageBuildOptions) as Promise<Readable>,
        steps.onLine,
        request.signal,
      );
      if (result.error) {
        const step = steps.fail(result.error);
        throw new RunError(step ? `${step}: ${result.error}` : result.error);
      }
      steps.finish();
      const id = result.aux
        .map((a) => a.ID)
        .filter(Boolean)
        .pop();
      if (!id) {
        throw new RunError(
          'the build ended without the engine naming the image it made',
          'the engine may have stopped or restarted during the build: its log (journalctl -u docker) says why',
        );
      }
      return id;
    },
    async pruneCache() {
      // The classic builder's cache is its intermediate images: pruning them is `docker image prune`,
      // which is the user's call, not ours.
      return { reclaimed: 0 };
    },
  };
}
