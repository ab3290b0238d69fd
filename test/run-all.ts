// Runs the unit tests, then the integration tests against each engine of the test bed, and ends with the
// line CI reads: `N passed, N failed`, after one count line per engine. A runner that dies without its
// totals counts as a failure, and so do a missing engine and a test file that runs out of time.
//
// The integration tests never run on the user's engine (their stand-ins carry public names such as
// ubuntu:16.04): as root, private engines are started for them (test/support/test-engines.ts) and stopped
// afterwards, also on failure or Ctrl-C; otherwise BUILD_IMAGES_TEST_DOCKER_HOST must name a disposable engine.
//
// Each test file runs in a uvu process of its own with a time limit: a test that waits for ever (a server
// it never closed, an engine that stopped answering) fails its file, named, and the run goes on.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { prepareEngine, selectedEngines, type RunningEngine, type TestEngine } from './support/test-engines.ts';

const ANSI = /\x1b\[[0-9;]*m/g;
// The files whose tests build images through the command line.
const CLASSIC_AGAIN = /^(build|deploy|cm-container|px|registry-cache)\.test\.ts$/;
const minutes = (name: string, fallback: number) => Number(process.env[name] || fallback) * 60_000;
// Measured here: the slowest unit file takes ~20 s, the slowest integration file (px) ~4 min on a loaded machine.
const UNIT_LIMIT = minutes('BUILD_IMAGES_TEST_UNIT_FILE_MINUTES', 3);
const INTEGRATION_LIMIT = minutes('BUILD_IMAGES_TEST_FILE_MINUTES', 12);

interface Count {
  passed: number;
  failed: number;
}
let running: ChildProcess | undefined;
const engines: RunningEngine[] = [];

/** One test file in a uvu process of its own (and its own process group), killed when it takes too long. */
async function runFile(dir: string, file: string, env: NodeJS.ProcessEnv, limitMs: number): Promise<Count> {
  const pattern = `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'node_modules/uvu/bin.js', dir, pattern], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env,
    detached: true,
  });
  running = child;
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    output += chunk.toString();
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child, 'SIGTERM');
    setTimeout(() => killGroup(child, 'SIGKILL'), 10_000).unref();
  }, limitMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  running = undefined;
  // Whatever the file left running in its group (a registry, a CLI) goes with it.
  killGroup(child, 'SIGKILL');
  if (timedOut) {
    process.stdout.write(`\n${dir}/${file}: ran out of time (${limitMs / 60_000} min) and was stopped\n`);
    return { passed: 0, failed: 1 };
  }
  const plain = output.replace(ANSI, '');
  const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
  const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
  if (Number.isNaN(total) || Number.isNaN(passed)) {
    process.stdout.write(`\n${dir}/${file}: the runner ended (code ${code}) without its totals\n`);
    return { passed: 0, failed: 1 };
  }
  return { passed, failed: total - passed + (code !== 0 && total === passed ? 1 : 0) };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // the group is gone
  }
}

async function runDir(dir: string, env: NodeJS.ProcessEnv, limitMs: number, only?: RegExp): Promise<Count> {
  const files = readdirSync(dir)
    .filter((f) => /\.test\.ts$/.test(f) && (!only || only.test(f)))
    .sort();
  const sum: Count = { passed: 0, failed: 0 };
  for (const file of files) {
    const started = Date.now();
    const result = await runFile(dir, file, env, limitMs);
    process.stdout.write(`${dir}/${file}: ${result.passed} passed, ${result.failed} failed in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    sum.passed += result.passed;
    sum.failed += result.failed;
  }
  return sum;
}

async function runEngine(engine: TestEngine, ready: Promise<void>): Promise<Count> {
  const started = Date.now();
  let up: RunningEngine;
  try {
    await ready;
    up = await engine.start();
  } catch (err) {
    process.stdout.write(`\ntest/integration on ${engine.label}: ${(err as Error).message}\n`);
    return { passed: 0, failed: 1 };
  }
  engines.push(up);
  try {
    process.stdout.write(`\ntest/integration on ${up.note}, started in ${((Date.now() - started) / 1000).toFixed(2)} s\n`);
    const count = await runDir('test/integration', up.env, INTEGRATION_LIMIT);
    // BuildKit is the default builder; the classic one, which every engine has, must build the same images.
    process.stdout.write(`\ntest/integration again on ${engine.label}, with the classic builder (BUILD_IMAGES_BUILDER=classic)\n`);
    const classic = await runDir('test/integration', { ...up.env, BUILD_IMAGES_BUILDER: 'classic' }, INTEGRATION_LIMIT, CLASSIC_AGAIN);
    return { passed: count.passed + classic.passed, failed: count.failed + classic.failed };
  } finally {
    await up.stop();
  }
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    process.stdout.write(`\n${signal}: stopping the tests and their engines\n`);
    if (running) killGroup(running, signal);
    void Promise.all(engines.map((e) => e.stop())).finally(() => process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1)));
  });
}

const lines: string[] = [];
const total: Count = { passed: 0, failed: 0 };
const add = (label: string, count: Count) => {
  lines.push(`${label}: ${count.passed} passed, ${count.failed} failed`);
  total.passed += count.passed;
  total.failed += count.failed;
};

let selected: TestEngine[] = [];
try {
  selected = selectedEngines();
} catch (err) {
  process.stdout.write(`\ntest/integration: ${(err as Error).message}\n`);
}
// A modern engine's root (debootstrap, a minute at most; cached afterwards) is made while the unit tests run.
const ready = selected.map((engine) => prepareEngine(engine, (line) => process.stdout.write(`${line}\n`)));
for (const p of ready) p.catch(() => {});
const started = Date.now();
add('unit tests', await runDir('test/unit', process.env, UNIT_LIMIT));
process.stdout.write(`unit tests: ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
if (selected.length === 0) add('integration tests', { passed: 0, failed: 1 });
for (const [i, engine] of selected.entries()) {
  const t = Date.now();
  add(`integration on ${engine.label}`, await runEngine(engine, ready[i]!));
  lines[lines.length - 1] += ` (${((Date.now() - t) / 60_000).toFixed(1)} min)`;
}
process.stdout.write(`\n${lines.join('\n')}\n${total.passed} passed, ${total.failed} failed\n`);
process.exitCode = total.failed > 0 ? 1 : 0;
