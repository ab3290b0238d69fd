// A command line's targets as phases, in order like make's: builds, and each action at its place. Pure: the
// graph and the names in, the whole plan of the line out, deploy's own builds included.
import { didYouMean, UserError, type Problem } from '../model/errors.ts';
import type { Action } from '../model/actions.ts';
import type { Graph } from './graph.ts';

export interface Selection {
  /** Images to build, dependencies included, in build order. */
  images: string[];
  /** The images the line names (groups and aliases expanded): what actions apply to. */
  targets: string[];
  /** Host commands asked for alone, by name (`px-oci-mon/px-oci-mon`). */
  commands: { image: string; name: string }[];
}

/** `forAction`: the build an action needs first (deploy pushes what it has just made up to date). */
export type Phase = { kind: 'build'; selection: Selection; forAction?: Action } | { kind: 'action'; action: Action };

// Actions that push what they act on, and so need it built (an up-to-date image costs a digest and an inspect).
const NEEDS_BUILD: ReadonlySet<Action> = new Set(['deploy', 'deploy_latest']);

/**
 * The command line's targets, in order like make: consecutive targets that select images form one build
 * (built in parallel), each action is a step of its own and applies to every image the line selects.
 */
export function planPhases(graph: Graph, names: readonly string[]): { phases: Phase[]; selected: Selection } {
  const problems: Problem[] = [];
  const phases: Phase[] = [];
  const all: Selection = { images: [], targets: [], commands: [] };
  let current: Selection | undefined;

  for (const name of names) {
    const target = graph.targets.get(name);
    if (!target) {
      const near = didYouMean(name, graph.targets.keys());
      problems.push({ message: `no target named '${name}'`, hint: near ? `did you mean '${near}'?` : 'build-images --help lists the targets' });
      continue;
    }
    if (target.kind === 'action') {
      current = undefined;
      phases.push({ kind: 'action', action: target.action });
      continue;
    }
    if (!current) {
      current = { images: [], targets: [], commands: [] };
      phases.push({ kind: 'build', selection: current });
    }
    select(graph, name, current);
    select(graph, name, all);
  }
  if (problems.length > 0) throw new UserError(problems);

  // No target at all builds every image; actions on a line that names no image act on the config's
  // actionTargets (the px images here: `make deploy` pushed those, not every image of the config).
  if (names.length === 0) all.images = all.targets = [...graph.order];
  else if (all.targets.length === 0 && phases.some((phase) => phase.kind === 'action')) {
    const defaults: Selection = { images: [], targets: [], commands: [] };
    graph.actionTargets.forEach((name) => select(graph, name, defaults));
    all.images.push(...defaults.images);
    all.targets.push(...defaults.targets);
  }
  // No target at all means every image, as a bare `make` builds its first target.
  if (names.length === 0) phases.push({ kind: 'build', selection: { ...all } });
  for (const phase of phases) {
    if (phase.kind === 'build') {
      phase.selection.images = inOrder(graph, phase.selection.images);
      phase.selection.targets = inOrder(graph, phase.selection.targets);
    }
  }
  all.images = inOrder(graph, all.images);
  all.targets = inOrder(graph, all.targets);
  return { phases: withBuildsForActions(phases, all), selected: all };
}

/** Before each action that pushes, a build of what it pushes that no earlier phase of the line builds. */
function withBuildsForActions(phases: readonly Phase[], all: Selection): Phase[] {
  const built = new Set<string>();
  const out: Phase[] = [];
  for (const phase of phases) {
    if (phase.kind === 'build') phase.selection.images.forEach((i) => built.add(i));
    else if (NEEDS_BUILD.has(phase.action)) {
      const missing = all.images.filter((i) => !built.has(i));
      if (missing.length > 0) {
        out.push({
          kind: 'build',
          selection: { images: missing, targets: all.targets.filter((t) => missing.includes(t)), commands: [] },
          forAction: phase.action,
        });
        missing.forEach((i) => built.add(i));
      }
    }
    out.push(phase);
  }
  return out;
}

function select(graph: Graph, name: string, into: Selection): void {
  const target = graph.targets.get(name)!;
  if (target.kind === 'group') target.members.forEach((member) => select(graph, member, into));
  else if (target.kind === 'command') into.commands.push({ image: target.image, name: target.name });
  else if (target.kind === 'image') {
    into.targets.push(target.image);
    withDependencies(graph, target.image).forEach((i) => into.images.push(i));
  }
}

export function withDependencies(graph: Graph, image: string): string[] {
  const found = new Set<string>();
  const visit = (i: string) => {
    if (found.has(i)) return;
    found.add(i);
    graph.dependencies.get(i)?.forEach(visit);
  };
  visit(image);
  return [...found];
}

function inOrder(graph: Graph, images: readonly string[]): string[] {
  const wanted = new Set(images);
  return graph.order.filter((i) => wanted.has(i));
}
