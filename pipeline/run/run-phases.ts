// Carries out a command line's phases in order, like make: builds, then each action at its place.
import { cleanOutputs, deployImages, removeImages, type ActionSettings } from './actions.ts';
import { Interrupted, RunError } from '../model/errors.ts';
import type { RunEvent } from '../model/events.ts';
import type { Phase, Selection } from '../plan/graph.ts';
import type { Plan } from '../plan/plan.ts';
import { runBuilds, type ImageRun, type RunSettings } from './run-builds.ts';

export interface RunOutcome {
  ok: boolean;
  interrupted: boolean;
}

export type PhaseSettings = RunSettings & ActionSettings;

export async function runPhases(plan: Plan, phases: readonly Phase[], selected: Selection, given: PhaseSettings): Promise<RunOutcome> {
  // The summary counts host commands by what became of them, from their events.
  const commands = { ran: 0, fresh: 0, failed: 0 };
  const settings: PhaseSettings = {
    ...given,
    emit(event) {
      if (event.type === 'command') commands[event.status]++;
      given.emit(event);
    },
  };
  let results = new Map<string, ImageRun>();
  const pushed: string[] = [];
  const notPushed: string[] = [];
  let commandFailed = false;
  // Actions apply to the images the line names; what those are built on is built, not pushed or removed.
  const images = selected.targets.map((name) => plan.images.get(name)!);

  for (const phase of phases) {
    if (settings.signal.aborted) break;
    if (phase.kind === 'build') {
      try {
        results = await runBuilds(plan, phase.selection, settings, results);
      } catch (err) {
        // A host command asked for alone failed; its own event said why.
        if (!(err instanceof RunError) && !(err instanceof Interrupted)) throw err;
        commandFailed = true;
      }
      continue;
    }
    switch (phase.action) {
      case 'rmi':
        await removeImages(images, settings);
        break;
      case 'clean':
        await cleanOutputs(images, settings);
        break;
      case 'distclean':
        await removeImages(images, settings);
        await cleanOutputs(images, settings);
        break;
      case 'deploy':
      case 'deploy_latest': {
        // Deploy builds what it pushes first: an up-to-date image costs a local digest and an inspect.
        results = await runBuilds(plan, { images: selected.images, targets: selected.targets, commands: [] }, settings, results);
        const outcome = await deployImages(phase.action, images, results, settings);
        pushed.push(...outcome.pushed);
        notPushed.push(...outcome.failed);
        break;
      }
    }
  }

  const interrupted = settings.signal.aborted;
  const outcomes = [...results.values()];
  const ok = !interrupted && notPushed.length === 0 && !commandFailed && outcomes.every((r) => r.status !== 'failed');
  const summary: RunEvent = {
    type: 'summary',
    ok,
    images: outcomes.map((r) => ({ name: r.name, id: r.id, tags: plan.images.get(r.name)!.tags, status: r.status })),
    commands,
    pushed,
    notPushed: [...new Set(notPushed)],
    ...(interrupted ? { interrupted } : {}),
  };
  settings.emit(summary);
  return { ok, interrupted };
}
