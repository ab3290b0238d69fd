// A standalone buildkitd as one of the run's builders (config `kind: buildkitd`), as buildx's remote driver
// uses one with `--load`: the same BuildKit client as the engine's (Control.Solve with the session inside
// Control.Session), with the image exported as a docker tarball through the session and loaded into the
// local engine (DOCKER_HOST), where everything else about it is asked, tagged and pushed. The buildkitd
// itself is asked only whether it is there (Control.ListWorkers): that answer also says its platform.
// It keeps its own cache, in its own content store: cache exports need no containerd image store here, and
// its garbage collection, not --cache-limit, keeps that in bounds.
import { RunError } from '../../model/errors.ts';
import { formatPlatform } from '../../model/platform.ts';
import { familiarName, formatRef, imageRef, repositoryOf } from '../../model/image-ref.ts';
import { buildkitBuilder } from '../buildkit/builder.ts';
import { CONTROL, decodeListWorkersResponse, type WorkerRecord } from '../buildkit/control-proto.ts';
import { unary } from '../buildkit/grpc-client.ts';
import { engineMessage } from '../buildkit/engine-request.ts';
import type { ControlConnection } from '../buildkit/control-dial.ts';
import type { EngineApi } from '../docker/engine-api.ts';
import type { Builder, Engine, ImageStore } from '../engine.ts';
import { loadIntoEngine } from './load-image.ts';

export interface BuildkitdMachine {
  /** Where failures name it: `tcp://… (builder NAME)`. */
  where: string;
  dial(): Promise<ControlConnection>;
  /** The local engine that takes in what it builds, as our client and as the run's image store. */
  home: { api: EngineApi; engine: Engine };
}

const ASK_TIMEOUT_MS = 10_000;

/** The buildkitd's engine seam: its builds, and the local engine's image store with its own ping. */
export async function buildkitdEngine(machine: BuildkitdMachine): Promise<Engine> {
  let workers = await listWorkers(machine);
  const images: ImageStore = {
    ...machine.home.engine.images,
    // A builder that vanished is told by this answer (run/builder-pool.ts): the daemon's, not the engine's.
    async ping() {
      workers = await listWorkers(machine);
    },
    nativePlatform: async () => nativePlatform(workers),
  };
  const buildkit = buildkitBuilder(
    { dial: machine.dial, what: `the buildkitd at ${machine.where}`, output: (signal) => loadIntoEngine(machine.home.api, signal) },
    {},
    async () => ({ reclaimed: 0 }),
  );
  const builder: Builder = {
    name: 'buildkit',
    contentStore: true,
    async build(request) {
      if ((request.platforms?.length ?? 0) > 1) {
        throw new RunError(
          `${request.platforms!.join(', ')}: a buildkitd builder loads what it builds into the local engine as a docker tarball, which holds one platform`,
          'build an image of several platforms on an engine builder with the containerd image store',
        );
      }
      return buildkit.build({ ...request, ...(request.base ? { contexts: { [familiarName(imageRef(request.base.ref))]: pinnedBase(request.base) } } : {}) });
    },
    pruneCache: buildkit.pruneCache,
  };
  return { images, builder };
}

/**
 * The base as the inputs digest knows it: buildkitd resolves FROM in the registry, where the tag may have
 * moved since (or where a base only the local engine has is not): pinned by its digest, or refused.
 */
function pinnedBase(base: { ref: string; digest: string }): string {
  const ref = imageRef(base.ref);
  if (ref.digest) return `docker-image://${formatRef(ref)}`;
  if (!base.digest) {
    throw new RunError(
      `the base ${base.ref} is in the local engine only (no registry digest): a buildkitd builds on bases it pulls from a registry`,
      'push the base to a registry the buildkitd can reach, or build this image on an engine builder',
    );
  }
  return `docker-image://${repositoryOf(ref)}@${base.digest}`;
}

async function listWorkers(machine: BuildkitdMachine): Promise<WorkerRecord[]> {
  const signal = AbortSignal.timeout(ASK_TIMEOUT_MS);
  let control: ControlConnection | undefined;
  try {
    control = await machine.dial();
    return decodeListWorkersResponse(await unary(control.session, CONTROL.listWorkers, Buffer.alloc(0), signal));
  } catch (err) {
    throw new RunError(
      `asking the buildkitd at ${machine.where}: ${signal.aborted ? `no answer in ${ASK_TIMEOUT_MS / 1000} s` : engineMessage(err)}`,
      'is buildkitd running there, and does it take this endpoint and these certificates?',
    );
  } finally {
    control?.close();
  }
}

/** The first worker's first platform: what buildkitd builds without emulation. */
function nativePlatform(workers: readonly WorkerRecord[]): string | undefined {
  const first = workers[0]?.platforms[0];
  return first ? formatPlatform(first) : undefined;
}
