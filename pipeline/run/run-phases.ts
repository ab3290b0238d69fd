// Carries out a command line's phases in order, like make: builds, then each action at its place. The
// phases are the whole plan (plan/phases.ts puts deploy's builds in it); this only sequences them.
import { cleanOutputs, deployImages, removeImages } from './actions.ts';
import { pushRefs } from '../plan/action-targets.ts';
import { Interrupted, RunError, type Problem } from '../model/errors.ts';
import type { RunEvent } from './events.ts';
import type { Phase, Selection } from '../plan/phases.ts';
import type { Plan } from '../plan/plan.ts';
import { runBuilds, type ImageRun } from './run-builds.ts';
import { writeDocuments } from './write-documents.ts';
import type { RunOptions, RunServices } from './services.ts';

export interface RunOutcome {
  ok: boolean;
  interrupted: boolean;
  /** Config errors found only at build time (each at its step): the command exits 2 with them. */
  problems: Problem[];
}

export async function runPhases(plan: Plan, phases: readonly Phase[], selected: Selection, given: RunServices, options: RunOptions): Promise<RunOutcome> {
  // The summary counts host commands by what became of them, from their events.
  const commands = { ran: 0, fresh: 0, failed: 0 };
  // The first digest each image was pushed (or tagged) with: its documents' subject.
  const pushedAs = new Map<string, { tag: string; digest: string }>();
  const services: RunServices = {
    ...given,
    emit(event) {
      if (event.type === 'command') commands[event.status]++;
      if (event.type === 'push' && event.status !== 'failed' && event.digest && !pushedAs.has(event.image))
        pushedAs.set(event.image, { tag: event.tag, digest: event.digest });
      given.emit(event);
    },
  };
  let results = new Map<string, ImageRun>();
  const pushed: string[] = [];
  const notPushed: string[] = [];
  let commandFailed = false;
  // Actions apply to the images the line names; what those are built on is built, not pushed or removed.
  const images = selected.targets.map((name) => plan.images.get(name)!);
  const pruner = options.cacheLimit === undefined ? undefined : cachePruner(services, options.cacheLimit);
  const actions = phases.flatMap((phase) => (phase.kind === 'action' ? [phase.action] : []));
  const buildOptions = { ...options, pushRefs: pushRefs(actions, images), onBuilding: pruner?.start };

  for (const phase of phases) {
    if (services.signal.aborted) break;
    if (phase.kind === 'build') {
      try {
        results = await runBuilds(plan, phase.selection, services, buildOptions, results);
      } catch (err) {
        // A host command asked for alone failed; its own event said why.
        if (!(err instanceof RunError) && !(err instanceof Interrupted)) throw err;
        commandFailed = true;
      }
      continue;
    }
    switch (phase.action) {
      case 'rmi':
        await removeImages(images, services);
        break;
      case 'clean':
        await cleanOutputs(images, services, options.projectDir);
        break;
      case 'distclean':
        await removeImages(images, services);
        await cleanOutputs(images, services, options.projectDir);
        break;
      case 'deploy':
      case 'deploy_latest': {
        const outcome = await deployImages(phase.action, images, results, services, options);
        pushed.push(...outcome.pushed);
        notPushed.push(...outcome.failed);
        break;
      }
    }
  }

  const outcomes = [...results.values()];
  const documentsOk =
    options.documentsDir === undefined || services.signal.aborted
      ? true
      : await writeDocuments(
          outcomes.filter((r) => r.status !== 'failed' && r.id).map((r) => ({ image: plan.images.get(r.name)!, id: r.id!, pushed: pushedAs.get(r.name) })),
          services,
          options.documentsDir,
        );
  const interrupted = services.signal.aborted;
  await pruner?.report();
  const ok = !interrupted && documentsOk && notPushed.length === 0 && !commandFailed && outcomes.every((r) => r.status !== 'failed');
  const summary: RunEvent = {
    type: 'summary',
    ok,
    images: outcomes.map((r) => ({ name: r.name, id: r.id, tags: plan.images.get(r.name)!.tags, status: r.status })),
    commands,
    pushed,
    notPushed: [...new Set(notPushed)],
    ...(interrupted ? { interrupted } : {}),
  };
  services.emit(summary);
  return { ok, interrupted, problems: outcomes.flatMap((r) => r.problems ?? []) };
}

/**
 * BuildKit on Engine 20.10 collects no garbage unless its daemon is told to: the cache is kept in bounds by
 * a prune that starts as the run posts its first build and goes on beside the builds (it took the engine
 * 35-55 ms, which every run that built used to wait for at its end), and is reported at the end. What the
 * builds running meanwhile use is not pruned; what they add is counted by the next run's prune.
 */
function cachePruner(services: Pick<RunServices, 'builder' | 'emit' | 'machines'>, limit: number) {
  let pruning: Promise<{ reclaimed: number } | Error> | undefined;
  // Each builder's cache is its own; what they freed is told as one.
  const builders = services.machines?.map((m) => m.builder) ?? [services.builder];
  return {
    start() {
      pruning ??= Promise.all(builders.map((b) => b.pruneCache(limit)))
        .then((freed) => ({ reclaimed: freed.reduce((sum, f) => sum + f.reclaimed, 0) }))
        .catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
    },
    async report(): Promise<void> {
      const result = await pruning;
      if (result === undefined) return;
      if (result instanceof Error) {
        // The images are built and tagged: a cache that could not be pruned is worth a notice, not a failure.
        if (!(result instanceof RunError)) throw result;
        services.emit({ type: 'notice', message: `the build cache could not be pruned: ${result.message}` });
      } else if (result.reclaimed > 0) services.emit({ type: 'cache', reclaimed: result.reclaimed, limit });
    },
  };
}
