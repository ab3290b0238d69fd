// What a buildkitd builds comes home as buildx's `--load` brings it: the `docker` exporter's tarball,
// streamed through the session into the local engine's POST /images/load as it arrives (never held whole),
// so that tagging, pushing, reading files and the next run's "up to date" check find it where every
// other image is. The ID is the one the engine answers with: the config's digest on a graphdriver, the
// manifest's on the containerd image store.
import { PassThrough } from 'node:stream';
import { createInterface } from 'node:readline';
import { RunError } from '../../model/errors.ts';
import type { BuildOutput } from '../buildkit/builder.ts';
import { engineMessage } from '../buildkit/engine-request.ts';
import type { EngineApi } from '../docker/engine-api.ts';

export function loadIntoEngine(home: EngineApi, signal: AbortSignal): BuildOutput {
  let loading: Promise<string> | undefined;
  let body: PassThrough | undefined;
  return {
    // One platform: the docker tarball holds one image.
    exporter: { type: 'docker', attrs: {} },
    exportTo: {
      open() {
        body = new PassThrough({ highWaterMark: 1024 * 1024 });
        loading = load(home, body, signal);
        // Read by imageId(); a failed build drops it without waiting.
        loading.catch(() => {});
        return body;
      },
    },
    imageId: () => loading ?? Promise.reject(new RunError('the buildkitd finished the build without sending the image')),
    abort() {
      body?.destroy(new Error('the build failed'));
    },
  };
}

async function load(home: EngineApi, body: PassThrough, signal: AbortSignal): Promise<string> {
  let answer;
  try {
    answer = await home.stream({ method: 'POST', path: '/images/load', query: { quiet: '1' }, headers: { 'Content-Type': 'application/x-tar' }, body, signal });
  } catch (err) {
    throw new RunError(`loading the image into the local engine: ${engineMessage(err)}`);
  }
  let loaded: string | undefined;
  for await (const line of createInterface({ input: answer, crlfDelay: Infinity })) {
    const event = parse(line);
    if (event?.error) throw new RunError(`loading the image into the local engine: ${event.error}`);
    loaded ??= /Loaded image ID: (sha256:[0-9a-f]{64})/.exec(event?.stream ?? '')?.[1];
  }
  if (!loaded) throw new RunError('the local engine loaded the image without naming it');
  return loaded;
}

function parse(line: string): { stream?: string; error?: string } | undefined {
  try {
    return JSON.parse(line) as { stream?: string; error?: string };
  } catch {
    return undefined;
  }
}
