// An in-memory engine behind our own seam, for unit tests of scheduling and rules: what the runner asks of
// the engine, in milliseconds. Never a stand-in for the integration tests, which use a real engine.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Builder, BuildRequest, ImageInfo, ImageStore } from '../../pipeline/engine/engine.ts';
import { Interrupted, RunError } from '../../pipeline/model/errors.ts';
import { parseImageRef, repositoryOf } from '../../pipeline/model/image-ref.ts';
import { LABEL_ARGS } from '../../pipeline/plan/labels.ts';
import type { RunEvent } from '../../pipeline/run/events.ts';
import type { RunOptions, RunServices } from '../../pipeline/run/services.ts';
import type { RemoteImage } from '../../pipeline/registry/registry-images.ts';

export interface FakeEngine {
  images: ImageStore;
  builder: Builder;
  /** Every call, in order: `build <Dockerfile's first line>`, `push ref`, `tag id ref`, … */
  calls: string[];
  /** The most builds that ran at once. */
  maxConcurrentBuilds: number;
  /** The registry's tags: ref → digest. */
  registry: Map<string, string>;
  /** What the registry holds under each tag, as the registry-side check reads it. */
  remote: Map<string, RemoteImage>;
  /** A build whose Dockerfile contains this text fails, as a failing RUN would. */
  failBuildsWith?: string;
  /** When set, every build waits for it before it ends. */
  holdBuilds?: Promise<void>;
  /** Push failures to give before a push succeeds, by ref; a number below 0 fails for ever. */
  /** `takesMs`: how long each failing attempt takes on the clock (an engine's own retries). */
  pushFailures: Map<string, { times: number; message: string; takesMs?: number }>;
  /** The services' clock (ms): moved by sleeps and by failing pushes. */
  clock: number;
  /** The registry refuses every manifest the tool itself puts under a tag (a registry-side tag). */
  refusesTags?: boolean;
}

export function fakeEngine(bases: readonly string[] = []): FakeEngine {
  const tags = new Map<string, ImageInfo>();
  for (const base of bases) tags.set(base, { id: digestOf(base), labels: {}, repoDigests: [] });
  let running = 0;
  const engine: FakeEngine = {
    calls: [],
    maxConcurrentBuilds: 0,
    registry: new Map(),
    remote: new Map(),
    pushFailures: new Map(),
    clock: 0,
    images: {
      ping: async () => {},
      inspectImage: async (ref) => tags.get(ref) ?? [...tags.values()].find((i) => i.id === ref),
      findImage: async (label, value) => [...tags.values()].find((i) => i.labels[label] === value),
      // An engine in memory lists at no cost: it knows what it would find.
      knownImage: async (label, value) => [...tags.values()].find((i) => i.labels[label] === value),
      // The last tagged is the newest.
      imageIds: async () => 'config',
      newestImage: async (label, value, repositories) =>
        [...tags].filter(([ref, i]) => i.labels[label] === value && repositories.includes(repositoryOfTag(ref))).at(-1)?.[1],
      pull: async (ref) => {
        engine.calls.push(`pull ${ref}`);
        const held = [...engine.remote.values()].find((r) => ref.endsWith(`@${r.digest}`));
        if (!held) throw new RunError(`pulling ${ref}: not found`);
        tags.set(ref, { id: held.configDigest, labels: held.labels, repoDigests: [ref] });
      },
      tag: async (id, ref) => {
        engine.calls.push(`tag ${ref}`);
        const info = tags.get(id) ?? [...tags.values()].find((i) => i.id === id);
        if (!info) throw new RunError(`no image ${id}`);
        tags.set(ref, info);
      },
      untag: async (ref) => {
        engine.calls.push(`untag ${ref}`);
        return tags.delete(ref);
      },
      push: async (ref) => {
        engine.calls.push(`push ${ref}`);
        const failure = engine.pushFailures.get(ref);
        if (failure && failure.times !== 0) {
          failure.times--;
          engine.clock += failure.takesMs ?? 0;
          throw new RunError(`pushing ${ref}: ${failure.message}`);
        }
        const digest = digestOf(`${tags.get(ref)?.id}`);
        engine.registry.set(ref, digest);
        const info = tags.get(ref)!;
        const manifest = Buffer.from(JSON.stringify({ config: info.id }));
        engine.remote.set(ref, { ref, digest, target: digest, mediaType: 'fake', manifest, configDigest: info.id, blobs: [info.id], labels: info.labels });
        tags.set(ref, { ...info, repoDigests: [...info.repoDigests, `${ref.slice(0, ref.lastIndexOf(':'))}@${digest}`] });
        return { digest };
      },
      readFile: async () => {
        throw new RunError('the fake engine has no files');
      },
    },
    builder: {
      name: 'classic',
      async build(request: BuildRequest) {
        running++;
        engine.maxConcurrentBuilds = Math.max(engine.maxConcurrentBuilds, running);
        try {
          const dockerfile = await dockerfileOf(request.context.tar());
          engine.calls.push(`build ${dockerfile.split('\n')[0]}`);
          request.onProgress({ kind: 'step', step: { id: 'from', name: dockerfile.split('\n')[0]!, cached: false } });
          // Long enough for builds that may overlap to do so; called off, as a real build is, by its signal.
          // Called off already while the context was read (a loaded machine): an abort that came before the
          // listener would otherwise hold the build, and the test, for ever.
          const calledOff = new Promise<never>((_, reject) => {
            if (request.signal.aborted) reject(new Interrupted());
            request.signal.addEventListener('abort', () => reject(new Interrupted()), { once: true });
          });
          calledOff.catch(() => {});
          await Promise.race([Promise.all([new Promise((resolve) => setTimeout(resolve, 5)), engine.holdBuilds]), calledOff]);
          if (engine.failBuildsWith && dockerfile.includes(engine.failBuildsWith)) {
            request.onProgress({ kind: 'step', step: { id: 's', name: 'RUN fail', cached: false, error: 'exit code: 1' } });
            throw new RunError('[2/2] RUN fail: exit code: 1');
          }
          const labels = Object.fromEntries(Object.entries(LABEL_ARGS).map(([label, arg]) => [label, request.buildargs[arg] ?? '']));
          const info = {
            id: digestOf(dockerfile + JSON.stringify(request.buildargs)),
            labels: { ...writtenLabels(dockerfile), ...labels, ...request.labels },
            repoDigests: [],
          };
          tags.set(info.id, info);
          return info.id;
        } finally {
          running--;
        }
      },
      pruneCache: async (keep) => {
        engine.calls.push(`prune ${keep}`);
        return { reclaimed: 1024 };
      },
    },
  };
  return engine;
}

function digestOf(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** Reads the whole context (as the engine would) and returns the Dockerfile in it. */
async function dockerfileOf(context: Readable): Promise<string> {
  const tar = await import('tar-stream');
  const extract = tar.extract();
  let dockerfile = '';
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      if (header.name === 'Dockerfile') dockerfile = Buffer.concat(chunks).toString();
      next();
    });
  });
  await new Promise<void>((resolve, reject) => context.pipe(extract).on('finish', resolve).on('error', reject));
  return dockerfile;
}

/** A run's services around the fake engine, collecting the events. */
export function fakeServices(engine: FakeEngine, overrides: Partial<RunServices> = {}): RunServices & { events: RunEvent[]; slept: number[] } {
  const events: RunEvent[] = [];
  const slept: number[] = [];
  return {
    images: engine.images,
    builder: engine.builder,
    events,
    slept,
    emit: (event) => events.push(event),
    signal: new AbortController().signal,
    fetcher: {
      pinned: async () => undefined,
      fetch: async () => {
        throw new RunError('the fake run fetches nothing');
      },
      extract: async () => {
        throw new RunError('the fake run fetches nothing');
      },
    },
    credentials: async () => undefined,
    remoteDigest: async (ref) => engine.registry.get(ref),
    registry: {
      image: async (ref) => {
        engine.calls.push(`registry ${ref}`);
        // By digest, as a registry answers `repository@sha256:…`: any tag of that repository naming it.
        const [repository, digest] = ref.split('@');
        if (digest === undefined) return engine.remote.get(ref);
        const held = [...engine.remote.values()].find((r) => r.digest === digest && r.ref.slice(0, r.ref.lastIndexOf(':')) === repository);
        return held && { ...held, ref };
      },
      putTag: async (image, target) => {
        engine.calls.push(`put ${target}`);
        if (engine.refusesTags) throw new Error('HTTP 403');
        engine.remote.set(target, { ...image, ref: target });
        engine.registry.set(target, image.digest);
        return image.digest;
      },
    },
    secret: (id) => async () => Buffer.from(`secret ${id}`),
    sleep: async (ms) => {
      slept.push(ms);
      engine.clock += ms;
    },
    now: () => engine.clock,
    ...overrides,
  };
}

export function runOptions(overrides: Partial<RunOptions> = {}): RunOptions {
  return {
    concurrency: 2,
    keepGoing: false,
    noCache: false,
    pull: false,
    pushPartial: false,
    stamp: { created: '2026-01-01T00:00:00Z', revision: '' },
    extraLabels: {},
    projectDir: '/nonexistent',
    ...overrides,
  };
}

const repositoryOfTag = (ref: string) => {
  const parsed = parseImageRef(ref);
  return parsed.ok ? repositoryOf(parsed.ref) : '';
};

/** The labels the Dockerfile's LABEL line writes as they are (not those it takes from build args). */
function writtenLabels(dockerfile: string): Record<string, string> {
  const line = dockerfile.split('\n').find((l) => l.startsWith('LABEL ')) ?? '';
  const pairs = [...line.matchAll(/"((?:[^"\\]|\\.)*)"="((?:[^"\\]|\\.)*)"/g)].filter(([, , value]) => !value!.startsWith('${'));
  return Object.fromEntries(pairs.map(([, key, value]) => [key!, value!.replace(/\\(.)/g, '$1')]));
}
