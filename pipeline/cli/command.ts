// The build command: prepare the plan, pick the reporters, then either print the plan (--dry-run, no
// Docker call at all) or carry it out against the engine.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { keyValues, type Options } from './options.ts';
import { EXIT, RunError, UserError } from '../model/errors.ts';
import type { PlannedImage, Reporter } from '../model/events.ts';
import { planPhases, type Phase } from '../plan/graph.ts';
import type { Plan } from '../plan/plan.ts';
import { STATE_DIR } from '../model/state-dir.ts';
import { prepare } from '../config/prepare.ts';
import { fanOut, jsonReporter } from '../report/json.ts';
import { plainReporter } from '../report/plain.ts';

export async function command(options: Options, targets: string[]): Promise<number> {
  const concurrency = options.concurrency === undefined ? 2 : Number(options.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new UserError({ message: `--concurrency ${options.concurrency}: expected a whole number from 1 up` });
  }
  const prepared = await prepare({ file: options.file, sets: keyValues(options.set, '--set') });
  const { phases, selected } = planPhases(prepared.graph, targets);

  if (options['dry-run']) {
    const reporter = await makeReporter(options, selected.images, prepared.notices);
    reporter.emit({ type: 'plan', images: selected.images.map((name) => planned(prepared.plan, name)) });
    await reporter.close();
    return EXIT.ok;
  }

  const [{ connectEngine }, { runPhases }, { registryCredentials }, { createFetcher, defaultCacheDir, LOCK_FILE }, { loadDigestCache }] = await Promise.all([
    import('../engine/docker/docker-engine.ts'),
    import('../run/run-phases.ts'),
    import('../registry/registry-auth.ts'),
    import('../context/fetcher.ts'),
    import('../context/digest-cache.ts'),
  ]);
  const engine = connectEngine();
  // Asked before anything is drawn, and only when the line needs it (host commands alone do not): an
  // engine that does not answer is one line that says what to do, not a tree of failures.
  if (needsEngine(phases)) await engine.ping().catch(oneLine);
  const reporter = await makeReporter(options, selected.images, prepared.notices);

  const controller = new AbortController();
  const onInterrupt = () => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    process.stderr.write('interrupting: cancelling builds (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  try {
    const outcome = await runPhases(prepared.plan, phases, selected, {
      engine,
      signal: controller.signal,
      emit: (event) => reporter.emit(event),
      concurrency,
      keepGoing: options['keep-going'],
      pushPartial: options['push-partial'],
      noCache: options['no-cache'],
      pull: options.pull,
      fetcher: createFetcher({
        cacheDir: defaultCacheDir(),
        lockPath: path.join(prepared.plan.projectDir, LOCK_FILE),
        offline: options.offline,
        updateLock: options['update-lock'],
        signal: controller.signal,
      }),
      digests: await loadDigestCache(path.join(prepared.plan.projectDir, STATE_DIR, 'digests.json')),
      stamp: { created: new Date().toISOString(), revision: await gitRevision(prepared.plan.projectDir) },
      extraLabels: keyValues(options.label, '--label'),
      projectDir: prepared.plan.projectDir,
      auth: registryCredentials(prepared.credentials),
    });
    return outcome.interrupted ? EXIT.interrupted : outcome.ok ? EXIT.ok : EXIT.failed;
  } finally {
    // Also when the run throws: a task tree left open would keep its timer, and the process, alive.
    await reporter.close();
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
}

/** Images to build, or an action other than `clean` (which removes files): the engine is needed. */
function needsEngine(phases: readonly Phase[]): boolean {
  return phases.some((phase) => (phase.kind === 'build' ? phase.selection.images.length > 0 : phase.action !== 'clean'));
}

function oneLine(err: unknown): never {
  throw err instanceof RunError && err.hint ? new RunError(`${err.message}: ${err.hint}`) : err;
}

function planned(plan: Plan, name: string): PlannedImage {
  const image = plan.images.get(name)!;
  return {
    name,
    base: image.base.kind === 'ref' ? image.base.ref : image.from,
    dependsOn: image.dependsOn,
    tags: image.tags,
    dockerfile: image.dockerfile,
  };
}

/** The run's reporters, the notices already given to them (they come before anything else). */
async function makeReporter(options: Options, images: readonly string[], notices: readonly string[]): Promise<Reporter> {
  // With --json, stdout is for events only; the human view moves to stderr.
  const human = options.json ? process.stderr : process.stdout;
  const useTty = human.isTTY && !process.env['CI'] && !options['dry-run'];
  // The terminal view writes the notices above its tree itself; the others hear them as events.
  const view = useTty ? (await import('../report/tty.ts')).ttyReporter(images, human, options.verbose, notices) : plainReporter(human, options.verbose);
  const json = options.json ? jsonReporter(process.stdout, options.verbose) : undefined;
  const told = [json, useTty ? undefined : view].filter((r): r is Reporter => r !== undefined);
  for (const message of notices) told.forEach((r) => r.emit({ type: 'notice', message }));
  return json ? fanOut(json, view) : view;
}

/** The project's git HEAD, for org.opencontainers.image.revision; empty outside a git checkout. */
async function gitRevision(projectDir: string): Promise<string> {
  return promisify(execFile)('git', ['rev-parse', 'HEAD'], { cwd: projectDir }).then(
    (r) => r.stdout.trim(),
    () => '',
  );
}
