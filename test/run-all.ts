// Runs the unit tests, then the integration tests against a real engine of their own, and ends with the
// line CI reads: `N passed, N failed`. A runner that dies without its totals counts as a failure, and so
// does a missing engine.
//
// The integration tests never run on the user's engine (their stand-ins carry public names such as
// ubuntu:16.04): as root, a private dockerd is started for them (test/support/private-engine.ts) while the
// unit tests run, and stopped afterwards, also on failure or Ctrl-C; otherwise BUILD_IMAGES_TEST_DOCKER_HOST
// must name a disposable engine.
import { spawn, type ChildProcess } from 'node:child_process';
import { NO_TEST_ENGINE, startPrivateEngine, type PrivateEngine } from './support/private-engine.ts';

const ANSI = /\x1b\[[0-9;]*m/g;
// The files whose tests build images through the command line.
const CLASSIC_AGAIN = '^(build|deploy|cm-container|px)\\.test';
let running: ChildProcess | undefined;
let engine: PrivateEngine | undefined;

async function runSuite(dir: string, env: NodeJS.ProcessEnv = process.env, pattern?: string): Promise<{ passed: number; failed: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'node_modules/uvu/bin.js', dir, ...(pattern ? [pattern] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env,
  });
  running = child;
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  running = undefined;
  const plain = output.replace(ANSI, '');
  const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
  const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
  if (Number.isNaN(total) || Number.isNaN(passed)) {
    process.stdout.write(`\n${dir}: the runner ended (code ${code}) without its totals\n`);
    return { passed: 0, failed: 1 };
  }
  return { passed, failed: total - passed + (code !== 0 && total === passed ? 1 : 0) };
}

/** The environment of the integration tests: their engine, or why there is none. */
async function integrationEnv(): Promise<{ env: NodeJS.ProcessEnv; note: string }> {
  const named = process.env['BUILD_IMAGES_TEST_DOCKER_HOST'];
  if (named) return { env: { ...process.env, BUILD_IMAGES_TEST_ENGINE: 'named' }, note: `the engine BUILD_IMAGES_TEST_DOCKER_HOST names, ${named}` };
  if (process.getuid?.() !== 0) {
    throw new Error(NO_TEST_ENGINE);
  }
  const started = Date.now();
  engine = await startPrivateEngine();
  const note = `a private engine, ${engine.host}, started in ${((Date.now() - started) / 1000).toFixed(2)} s`;
  // The user's engine settings go: TLS for a unix socket would only confuse the commands the tests run.
  const { DOCKER_TLS_VERIFY: _tls, DOCKER_CERT_PATH: _certs, DOCKER_CONTEXT: _context, ...env } = process.env;
  const privateEnv = {
    ...env,
    DOCKER_HOST: engine.host,
    BUILD_IMAGES_TEST_DOCKER_HOST: engine.host,
    BUILD_IMAGES_TEST_ENGINE: 'private',
    BUILD_IMAGES_TEST_ENGINE_DATA_ROOT: engine.dataRoot,
    BUILD_IMAGES_TEST_ENGINE_PIDFILE: engine.pidFile,
  };
  return { env: privateEnv, note };
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    process.stdout.write(`\n${signal}: stopping the tests and their engine\n`);
    running?.kill(signal);
    void (engine?.stop() ?? Promise.resolve()).finally(() => process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1)));
  });
}

let passed = 0;
let failed = 0;
const count = (result: { passed: number; failed: number }) => {
  passed += result.passed;
  failed += result.failed;
};
// The engine starts while the unit tests run; they need none.
const env = integrationEnv().then(
  (value) => ({ value }),
  (error: Error) => ({ error }),
);
try {
  count(await runSuite('test/unit'));
  const ready = await env;
  if ('error' in ready) {
    process.stdout.write(`\ntest/integration: ${ready.error.message}\n`);
    count({ passed: 0, failed: 1 });
  } else {
    process.stdout.write(`\ntest/integration on ${ready.value.note}\n`);
    count(await runSuite('test/integration', ready.value.env));
    // BuildKit is the default builder; the classic one, which every engine has, must build the same images.
    process.stdout.write('\ntest/integration again, with the classic builder (BUILD_IMAGES_BUILDER=classic)\n');
    count(await runSuite('test/integration', { ...ready.value.env, BUILD_IMAGES_BUILDER: 'classic' }, CLASSIC_AGAIN));
  }
} finally {
  await env;
  await engine?.stop();
}
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exitCode = failed > 0 ? 1 : 0;
