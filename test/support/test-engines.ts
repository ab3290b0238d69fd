// The engines the integration tests run on. As root: the machine's own docker.io (bookworm's 20.10,
// overlay2), and modern ones made from newer Debian suites (test/support/engine-root.ts): sid's docker.io
// (28.x) with the containerd image store, which Engine 29 uses on a fresh install, and trixie's (26.1) on
// overlay2. BUILD_IMAGES_TEST_ENGINES picks them (default all three: about 7 minutes each here);
// BUILD_IMAGES_TEST_DOCKER_HOST replaces them all with one engine of the user's.
import { engineRoot } from './engine-root.ts';
import { NO_TEST_ENGINE, startPrivateEngine } from './private-engine.ts';

export interface RunningEngine {
  /** What the tests are told: the engine's host, and how it was started. */
  env: NodeJS.ProcessEnv;
  note: string;
  stop(): Promise<void>;
}

export interface TestEngine {
  id: string;
  label: string;
  /** Debian suite of a modern engine's root; none for the machine's own dockerd. */
  suite?: string;
  args?: string[];
  start(): Promise<RunningEngine>;
}

const DEFAULT = 'bookworm,sid-containerd,trixie-overlay2';
const KNOWN: Record<string, { label: string; suite?: string; args?: string[] }> = {
  bookworm: { label: "the machine's docker.io (overlay2)" },
  'sid-containerd': { label: "sid's docker.io (containerd image store)", suite: 'sid', args: ['--feature', 'containerd-snapshotter=true'] },
  'trixie-overlay2': { label: "trixie's docker.io (overlay2)", suite: 'trixie' },
};
const roots = new Map<string, Promise<{ root: string; version: string }>>();

export function selectedEngines(env: NodeJS.ProcessEnv = process.env): TestEngine[] {
  const named = env['BUILD_IMAGES_TEST_DOCKER_HOST'];
  if (named) {
    return [
      {
        id: 'named',
        label: `the engine BUILD_IMAGES_TEST_DOCKER_HOST names (${named})`,
        start: async () => ({
          env: { ...env, BUILD_IMAGES_TEST_ENGINE: 'named' },
          note: `the engine BUILD_IMAGES_TEST_DOCKER_HOST names, ${named}`,
          stop: async () => {},
        }),
      },
    ];
  }
  if (process.getuid?.() !== 0) throw new Error(NO_TEST_ENGINE);
  const ids = (env['BUILD_IMAGES_TEST_ENGINES'] || DEFAULT)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return ids.map((id) => {
    const known = KNOWN[id];
    if (!known) throw new Error(`BUILD_IMAGES_TEST_ENGINES: unknown engine ${id} (known: ${Object.keys(KNOWN).join(', ')})`);
    const engine: TestEngine = { id, ...known, start: () => startEngine(engine, env) };
    return engine;
  });
}

/** Makes (or finds) a modern engine's root ahead of its start. */
export async function prepareEngine(engine: TestEngine, log: (line: string) => void): Promise<void> {
  if (!engine.suite) return;
  const suite = engine.suite;
  let root = roots.get(suite);
  if (!root) {
    root = engineRoot(suite, log).then((made) => {
      log(
        made.madeIn > 0
          ? `${suite}'s root made in ${made.madeIn.toFixed(0)} s (docker.io ${made.version}), kept in ${made.root}`
          : `${suite}'s root: ${made.root} (docker.io ${made.version})`,
      );
      return made;
    });
    roots.set(suite, root);
  }
  await root;
}

async function startEngine(engine: TestEngine, env: NodeJS.ProcessEnv): Promise<RunningEngine> {
  const made = engine.suite ? await roots.get(engine.suite) : undefined;
  const started = await startPrivateEngine({ root: made?.root, args: engine.args });
  // The user's engine settings go: TLS for a unix socket would only confuse the commands the tests run.
  const { DOCKER_TLS_VERIFY: _tls, DOCKER_CERT_PATH: _certs, DOCKER_CONTEXT: _context, ...rest } = env;
  return {
    env: {
      ...rest,
      DOCKER_HOST: started.host,
      BUILD_IMAGES_TEST_DOCKER_HOST: started.host,
      BUILD_IMAGES_TEST_ENGINE: 'private',
      BUILD_IMAGES_TEST_ENGINE_DATA_ROOT: started.dataRoot,
      BUILD_IMAGES_TEST_ENGINE_PIDFILE: started.pidFile,
    },
    note: `${engine.label}${made ? `, ${made.version}` : ''}: a private engine, ${started.host}`,
    stop: started.stop,
  };
}
