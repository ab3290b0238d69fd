// Carries out a command line's phases in order, like make: builds, then each action at its place.
// Deploying is all or nothing per run: nothing is pushed unless every selected image built.
import { cleanOutputs, deploy, deployLatest, removeImages, type ActionSettings } from './actions.ts';
import { splitReference } from './engine.ts';
import { Interrupted, RunError } from './errors.ts';
import type { RunEvent } from './events.ts';
import type { Phase, Selection } from './graph.ts';
import type { ImagePlan, Plan } from './plan.ts';
import { runBuilds, type ImageRun, type RunSettings } from './run-builds.ts';

export interface RunOutcome {
  ok: boolean;
  interrupted: boolean;
}

export interface PhaseSettings extends RunSettings, ActionSettings {
  /** Push the images that built although others failed (deploy is all or nothing without it). */
  pushPartial: boolean;
}

export async function runPhases(plan: Plan, phases: readonly Phase[], selected: Selection, settings: PhaseSettings): Promise<RunOutcome> {
  let results = new Map<string, ImageRun>();
  const pushed: string[] = [];
  const notPushed: string[] = [];
  let pushFailed = false;
  let commandFailed = false;
  const images = selected.images.map((name) => plan.images.get(name)!);

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
        // Deploy builds what it pushes (an up-to-date image costs one inspect), and pushes only when all built.
        results = await runBuilds(plan, { images: selected.images, commands: [], named: true }, settings, results);
        const failed = selected.images.filter((name) => results.get(name)?.status === 'failed');
        const latestOf = (image: ImagePlan) => `${splitReference(image.pushTags[0]!).repo}:latest`;
        const tagsOf = (image: ImagePlan) => (phase.action === 'deploy' ? image.pushTags : [latestOf(image)]);
        if (failed.length > 0) {
          pushFailed = true;
          const failedImages = images.filter((image) => failed.includes(image.name));
          notPushed.push(...failedImages.flatMap(tagsOf));
          if (!settings.pushPartial) {
            settings.emit({ type: 'action', action: phase.action, ok: false, message: `nothing pushed: ${failed.join(', ')} did not build (--push-partial pushes what did)` });
            notPushed.push(...images.filter((image) => !failed.includes(image.name)).flatMap(tagsOf));
            break;
          }
        }
        for (const image of images.filter((i) => !failed.includes(i.name))) {
          const id = results.get(image.name)!.id!;
          const outcome = phase.action === 'deploy' ? await deploy(image, id, settings) : await deployLatest(image, id, settings);
          pushed.push(...outcome.pushed);
          notPushed.push(...outcome.failed);
          if (outcome.failed.length) pushFailed = true;
        }
        break;
      }
    }
  }

  const interrupted = settings.signal.aborted;
  const outcomes = [...results.values()];
  const ok = !interrupted && !pushFailed && !commandFailed && outcomes.every((r) => r.status !== 'failed');
  const summary: RunEvent = {
    type: 'summary',
    ok,
    images: outcomes.map((r) => ({ name: r.name, id: r.id, tags: plan.images.get(r.name)!.tags, status: r.status })),
    pushed,
    notPushed: [...new Set(notPushed)],
    ...(interrupted ? { interrupted } : {}),
  };
  settings.emit(summary);
  return { ok, interrupted };
}
