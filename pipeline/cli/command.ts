// The build command: prepare the plan, pick the reporters, then either print the plan (--dry-run, no
// Docker call at all) or carry it out. The engine is asked for only when the line builds an image or runs
// an action: `all` compiles on a machine with no engine.
import path from 'node:path';
import { cacheFromOption, cacheToOption, ciKind, documentFlags, keyValues, parseSize, platformOption, type CiKind, type Options } from './options.ts';
import { EXIT, formatProblem, RunError, UserError, type Problem } from '../model/errors.ts';
import type { Reporter, RunEvent } from '../run/events.ts';
import { planPhases, type Phase, type Selection } from '../plan/phases.ts';
import { planEvent } from '../plan/plan-event.ts';
import type { Plan } from '../plan/plan.ts';
import type { BuilderName } from '../engine/engine.ts';
import { preparedCache } from '../context/prepared-cache.ts';
import { enclosingGitHead } from '../config/git-head.ts';
import { givenValues } from '../model/given-values.ts';
import { fanOut, jsonReporter } from '../report/json.ts';
import { plainReporter } from '../report/plain.ts';
import { recordedOutputs, type RecordedOutputs, type RunSink } from '../report/output-file.ts';
import { redacting, secretMask } from '../report/secret-mask.ts';
import { maskCommand } from '../report/workflow-commands.ts';
import type { Locate } from '../report/github.ts';
import type { ParsedConfig } from '../config/load-config.ts';
import { knownSecrets, maskingServices, signingKeySecrets } from './mask-secrets.ts';
import { failedStep } from '../report/failed-step.ts';
import { documentServices } from './document-services.ts';
import { createdStamp } from '../plan/labels.ts';
import { chosenBuilders } from '../config/builders-env.ts';
// Imported with the command, not when a run starts: one chunk fewer for the module loader to read, link and
// run on every run (~10 ms of one that finds everything up to date); a dry run loads them unused.
import { createServices } from '../run/create-services.ts';
import { runPhases } from '../run/run-phases.ts';

const BUILDER_NAMES: readonly BuilderName[] = ['buildkit', 'classic'];

export async function command(options: Options, targets: string[]): Promise<number> {
  const ci = ciKind(options.ci);
  // Made before the config is read, so that a config error is in the report files too.
  const outputs = await makeOutputs(options, ci);
  // Ctrl-C stays ours until the report files are written: a second one then exits through the exit hook,
  // which writes them, rather than kill the process half-way.
  const afterOutputs: (() => void)[] = [];
  try {
    const code = await buildCommand(options, targets, outputs, ci, afterOutputs);
    await outputs.close();
    return code;
  } catch (err) {
    if (err instanceof UserError) outputs.problems(err.problems);
    else if (err instanceof RunError) outputs.failure(err.message);
    // A report file that cannot be written is said, but does not hide why the run failed.
    await outputs.close().catch((failure: unknown) => process.stderr.write(`error: ${(failure as Error).message}\n`));
    throw err;
  } finally {
    for (const undo of afterOutputs) undo();
  }
}

async function buildCommand(options: Options, targets: string[], outputs: RecordedOutputs, ci: CiKind, afterOutputs: (() => void)[]): Promise<number> {
  const concurrency = options.concurrency === undefined ? 2 : Number(options.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new UserError({ message: `--concurrency ${options.concurrency}: expected a whole number from 1 up` });
  }
  // BUILD_IMAGES_BUILDER sets the default, for a machine (or a test run) that always wants one builder.
  const builder = (options.builder ?? (process.env['BUILD_IMAGES_BUILDER'] || undefined)) as BuilderName | undefined;
  if (builder !== undefined && !BUILDER_NAMES.includes(builder)) {
    throw new UserError({ message: `--builder ${builder}: expected ${BUILDER_NAMES.join(' or ')}` });
  }
  const cacheLimit = parseSize(options['cache-limit'], '--cache-limit');
  const cacheFrom = cacheFromOption(options['cache-from']);
  const cacheTo = cacheToOption(options['cache-to']);
  const documents = documentFlags(options.sbom, options.provenance);
  const createdAt = createdStamp(process.env);
  const startedOn = new Date().toISOString();
  const platforms = platformOption(options.platform);
  const prepared = await preparedCache().prepare({ file: options.file, sets: keyValues(options.set, '--set'), ...(platforms ? { platforms } : {}) });
  const { phases, selected } = planPhases(prepared.graph, targets);
  await checkCopiesOf(prepared.plan, phases);
  outputs.select(selected.images);
  if ((cacheTo?.registry || cacheTo?.local) && selected.images.length > 1) {
    // Every image's cache to one tag (or one directory's `latest`): each export would replace the one before it.
    const [what, own] = cacheTo.registry ? ['registry cache', 'tag'] : ['cache directory', 'directory'];
    throw new UserError({
      message: `--cache-to ${options['cache-to']}: one ${what} for ${selected.images.length} images (${selected.images.join(', ')})`,
      hint: `name one target, or give each image its own ${own} in the config: cache: {to: ${cacheTo.registry ? '{type: registry, ref: REGISTRY/REPOSITORY:TAG}' : '{type: local, dest: DIR}'}}`,
    });
  }

  if (options['dry-run']) {
    const reporter = await makeReporter(options, selected.images, prepared.notices, ci);
    const registryCheck = prepared.config.registryCheck && !options['no-registry-check'];
    reporter.emit(planEvent(prepared.plan, phases, selected, await freshnessOf(prepared.plan, phases), registryCheck));
    await reporter.close();
    return EXIT.ok;
  }

  // Every secret known now is masked before anything is printed; the others as the run reads them.
  const human = options.json ? process.stderr : process.stdout;
  const mask = secretMask(ci === 'github' ? (value) => human.write(`${maskCommand(value)}\n`) : undefined);
  for (const value of knownSecrets(prepared.config.secrets, prepared.credentials, process.env)) mask.add(value);
  for (const value of signingKeySecrets(prepared.plan, process.env)) mask.add(value);

  const controller = new AbortController();
  const notices: string[] = [];
  // The reporter is made once the engine has answered; what is said before (a damaged digest cache) waits.
  const early: RunEvent[] = [];
  // eslint-disable-next-line prefer-const
  let reporter: Reporter | undefined;
  // The engine is asked before anything is drawn: one that does not answer is one clear line, not a tree of
  // failures.
  const created = await createServices({
    projectDir: prepared.plan.projectDir,
    secrets: prepared.config.secrets,
    offline: options.offline,
    updateLock: options['update-lock'],
    signal: controller.signal,
    engine: needsEngine(phases) ? { builder, notice: (message) => notices.push(message) } : undefined,
    ...(await buildersOf(prepared.config, prepared.plan.projectDir, concurrency)),
    credentials: prepared.credentials,
    given: givenValues(prepared.variables, process.env),
    emit: (event) => (reporter ? reporter.emit(event) : early.push(event)),
  }).catch(oneLine);
  const masked = maskingServices(created, mask);
  const services = {
    ...masked,
    ...documentServices({ prepared, configFile: options.file, targets, flags: documents, secrets: () => mask.values(), startedOn }, () => masked),
  };
  reporter = redacting(await makeReporter(options, selected.images, [...prepared.notices, ...notices], ci, outputs), mask);
  for (const event of early) reporter.emit(event);

  const onInterrupt = () => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    process.stderr.write('interrupting: cancelling builds (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  afterOutputs.push(() => {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  });
  let problems: Problem[];
  try {
    const outcome = await runPhases(prepared.plan, phases, selected, services, {
      concurrency,
      keepGoing: options['keep-going'],
      pushPartial: options['push-partial'],
      noCache: options['no-cache'],
      pull: options.pull,
      stamp: { created: createdAt, revision: enclosingGitHead(prepared.plan.projectDir) ?? '' },
      extraLabels: keyValues(options.label, '--label'),
      projectDir: prepared.plan.projectDir,
      cacheLimit,
      registryCheck: prepared.config.registryCheck && !options['no-registry-check'],
      cacheFrom: cacheFrom.refs,
      cacheFromDirs: cacheFrom.dirs,
      inlineCache: cacheTo?.inline,
      registryCache: cacheTo?.registry,
      localCache: cacheTo?.local,
      documentsDir: options['metadata-file'] ? path.dirname(path.resolve(options['metadata-file'])) : undefined,
    });
    if (outcome.interrupted) return EXIT.interrupted;
    problems = outcome.problems;
    if (problems.length === 0) return outcome.ok ? EXIT.ok : EXIT.failed;
  } finally {
    // Also when the run throws: a task tree left open would keep its timer, and the process, alive.
    await reporter.close();
  }
  // Said once more at the end, as every config error is (file:line:col, exit 2), after the run's own view.
  throw new UserError([...new Map(problems.map((p) => [formatProblem(p), p])).values()]);
}

/** The builders the config or BUILD_IMAGES_BUILDERS names, each taking --concurrency images unless it says. */
async function buildersOf(config: Parameters<typeof chosenBuilders>[0], projectDir: string, capacity: number) {
  const chosen = await chosenBuilders(config, projectDir);
  return chosen ? { builders: { ...chosen, capacity } } : {};
}

/** An unreachable engine in one line, its advice included: the first thing a newcomer without one sees. */
function oneLine(err: unknown): never {
  throw err instanceof RunError && err.hint ? new RunError(`${err.message}: ${err.hint}`) : err;
}

/**
 * The copies of the images the line builds, checked on the disk before anything runs (a link that leads out
 * of the project is a config error at the copy's `from`, in a dry run too); the packer checks them again.
 */
async function checkCopiesOf(plan: Plan, phases: readonly Phase[]): Promise<void> {
  const images = new Set(phases.flatMap((phase) => (phase.kind === 'build' ? phase.selection.images : [])));
  const sources = [...images].flatMap((name) => plan.images.get(name)!.context.filter((source) => source.kind === 'path'));
  if (sources.length === 0) return;
  const { checkCopies } = await import('../context/pack-context.ts');
  await checkCopies(sources);
}

/** Whether any phase builds an image or acts on images; host commands alone need no engine. */
function needsEngine(phases: readonly Phase[]): boolean {
  return phases.some((phase) => (phase.kind === 'action' ? phase.action !== 'clean' : phase.selection.images.length > 0));
}

/** Whether each host command of the plan would run: the dry run says so, as `make -n` does. */
async function freshnessOf(plan: Plan, phases: readonly Phase[]) {
  const { checkFreshness, commandAsRun } = await import('../run/host-command.ts');
  const commands = phases.flatMap((phase) => (phase.kind === 'build' ? commandsOf(plan, phase.selection) : []));
  // Judged as the run judges it: on the command as it will run (a GOPATH checkout's GOPATH and PWD included).
  const judge = async (planned: (typeof commands)[number]) => {
    const asRun = await commandAsRun(planned);
    return [planned, { fresh: await checkFreshness(asRun), asRun }] as const;
  };
  const results = new Map(await Promise.all(commands.map(judge)));
  return (command: Parameters<typeof checkFreshness>[0]) => {
    const result = results.get(command);
    if (!result) return undefined;
    return result.fresh.fresh ? { upToDate: true, asRun: result.asRun } : { upToDate: false, reason: result.fresh.reason, asRun: result.asRun };
  };
}

function commandsOf(plan: Plan, selection: Selection) {
  return [
    ...selection.commands.flatMap(({ image, name }) => plan.images.get(image)!.hostCommands.filter((c) => c.name === name)),
    ...selection.images.flatMap((name) => plan.images.get(name)!.hostCommands),
  ];
}

/** The run's reporters, the notices already given to them (they come before anything else). */
async function makeReporter(options: Options, images: readonly string[], notices: readonly string[], ci: CiKind, outputs?: RecordedOutputs): Promise<Reporter> {
  // With --json, stdout is for events only; the human view moves to stderr.
  const human = options.json ? process.stderr : process.stdout;
  const useTty = human.isTTY && !process.env['CI'] && ci === 'none' && !options['dry-run'];
  // The terminal view writes the notices above its tree itself; the others hear them as events.
  const view = useTty
    ? (await import('../report/tty.ts')).ttyReporter(images, human, options.verbose, notices)
    : ci === 'github'
      ? (await import('../report/github.ts')).githubReporter(human, options.verbose, configLocator(options.file))
      : ci === 'gitlab'
        ? (await import('../report/gitlab.ts')).gitlabReporter(human, options.verbose)
        : plainReporter(human, options.verbose);
  const json = options.json ? jsonReporter(process.stdout, options.verbose) : undefined;
  const told = [json, useTty ? undefined : view].filter((r): r is Reporter => r !== undefined);
  for (const message of notices) told.forEach((r) => r.emit({ type: 'notice', message }));
  // The report files hear every event, and are written when the command ends (outputs.close), not here.
  const recorded: Reporter | undefined = outputs && { emit: (event) => outputs.emit(event), close: async () => {} };
  const all = [json, view, recorded].filter((r): r is Reporter => r !== undefined);
  return all.length === 1 ? view : fanOut(...all);
}

/** The report files the options ask for (none on a dry run: it does nothing to report). */
async function makeOutputs(options: Options, ci: CiKind): Promise<RecordedOutputs> {
  const sinks: RunSink[] = [];
  if (!options['dry-run']) {
    if (options['metadata-file']) sinks.push((await import('../report/metadata-file.ts')).metadataFile(options['metadata-file']));
    if (options.junit) sinks.push((await import('../report/junit.ts')).junitFile(options.junit));
    const summary = process.env['GITHUB_STEP_SUMMARY'];
    if (ci === 'github' && summary) sinks.push((await import('../report/github.ts')).githubSummaryFile(summary));
  }
  return recordedOutputs(sinks);
}

/**
 * Where a failed image or host command is in the config, for its annotation: the file is parsed again only
 * then (a run whose plan was remembered has no positions).
 */
function configLocator(file: string): Locate {
  let parsed: Promise<ParsedConfig> | undefined;
  return async (image, failure) => {
    parsed ??= import('../config/load-config.ts').then(({ loadConfig }) => loadConfig(file));
    const config = await parsed;
    const images = config.raw['images'] as Record<string, { steps?: unknown[] }> | undefined;
    const steps = Array.isArray(images?.[image]?.steps) ? images[image].steps : [];
    const step = failedStep(steps, failure);
    return config.locate(step === undefined ? ['images', image] : ['images', image, 'steps', step]);
  };
}
