// The graph of images and the names a user can ask for. Pure: config in, targets and problems out.
import { didYouMean, UserError, type Problem, type SourcePosition } from '../model/errors.ts';
import type { ConfigPath } from '../config/load-config.ts';
import { ACTIONS, type Action, type Config } from '../config/schema.ts';

export type Target =
  | { kind: 'image'; image: string }
  | { kind: 'group'; members: readonly string[] }
  | { kind: 'command'; image: string; name: string }
  | { kind: 'action'; action: Action };

export interface Graph {
  targets: ReadonlyMap<string, Target>;
  /** image → the images it needs built first (its base, if of this graph, and dependsOn). */
  dependencies: ReadonlyMap<string, readonly string[]>;
  /** Images in an order where each comes after its dependencies. */
  order: readonly string[];
  /** What actions act on when the line names no image: the config's `actionTargets`, else every image. */
  actionTargets: readonly string[];
}

export function buildGraph(config: Config, locate: (at: ConfigPath) => SourcePosition): Graph {
  const problems: Problem[] = [];
  const targets = new Map<string, Target>(ACTIONS.map((action) => [action, { kind: 'action', action }]));
  const definedAt = new Map<string, ConfigPath>();
  const define = (name: string, target: Target, at: ConfigPath) => {
    if (targets.has(name)) {
      const first = definedAt.get(name);
      problems.push({
        message: `the name '${name}' is used twice`,
        at: locate(at),
        hint: first ? `it is already defined at line ${locate(first).line}` : `'${name}' is a built-in action`,
      });
      return;
    }
    targets.set(name, target);
    definedAt.set(name, at);
  };

  const images = Object.keys(config.images);
  for (const image of images) define(image, { kind: 'image', image }, ['images', image]);
  for (const [image, spec] of Object.entries(config.images)) {
    spec.aliases.forEach((alias, i) => define(alias, { kind: 'image', image }, ['images', image, 'aliases', i]));
    spec.steps.forEach((step, i) => {
      if (step.kind === 'command' && step.value.name) {
        define(step.value.name, { kind: 'command', image, name: step.value.name }, ['images', image, 'steps', i, 'command', 'name']);
      }
    });
  }
  for (const [group, members] of Object.entries(config.groups)) define(group, { kind: 'group', members }, ['groups', group]);

  const unknown = (name: string, candidates: Iterable<string>, at: ConfigPath, what: string) => {
    const near = didYouMean(name, candidates);
    problems.push({
      message: `${what} '${name}' does not exist`,
      at: locate(at),
      hint: near ? `did you mean '${near}'?` : `known: ${[...candidates].join(', ')}`,
    });
  };

  const dependencies = new Map<string, string[]>();
  for (const [image, spec] of Object.entries(config.images)) {
    const deps: string[] = [];
    if (typeof spec.base === 'object') {
      if (config.images[spec.base.image]) deps.push(spec.base.image);
      else unknown(spec.base.image, images, ['images', image, 'base', 'image'], 'image');
    }
    spec.dependsOn.forEach((dep, i) => {
      if (config.images[dep]) deps.push(dep);
      else unknown(dep, images, ['images', image, 'dependsOn', i], 'image');
    });
    dependencies.set(image, [...new Set(deps)]);
  }
  for (const [group, members] of Object.entries(config.groups)) {
    members.forEach((member, i) => {
      if (!targets.has(member)) unknown(member, targets.keys(), ['groups', group, i], 'target');
    });
  }
  config.actionTargets?.forEach((name, i) => {
    if (!targets.has(name) || targets.get(name)!.kind === 'action') unknown(name, [...targets.keys()].filter((t) => targets.get(t)!.kind !== 'action'), ['actionTargets', i], 'target');
  });

  const order = orderImages(images, dependencies, (cycle) =>
    problems.push({
      message: `images depend on each other in a cycle: ${cycle.join(' → ')}`,
      at: locate(['images', cycle[0]!]),
      hint: 'an image cannot be built before the image it is built from',
    }),
  );
  groupCycles(config.groups, (cycle) =>
    problems.push({ message: `groups contain each other in a cycle: ${cycle.join(' → ')}`, at: locate(['groups', cycle[0]!]) }),
  );

  if (problems.length > 0) throw new UserError(problems);
  return { targets, dependencies, order, actionTargets: config.actionTargets ?? images };
}

/** Depth-first topological order; reports each cycle once, spelled out from its first image back to it. */
function orderImages(
  images: readonly string[],
  dependencies: ReadonlyMap<string, readonly string[]>,
  onCycle: (cycle: string[]) => void,
): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (image: string) => {
    if (state.get(image) === 'done') return;
    if (state.get(image) === 'visiting') {
      onCycle([...stack.slice(stack.indexOf(image)), image]);
      return;
    }
    state.set(image, 'visiting');
    stack.push(image);
    for (const dep of dependencies.get(image) ?? []) visit(dep);
    stack.pop();
    state.set(image, 'done');
    order.push(image);
  };
  images.forEach(visit);
  return order;
}

function groupCycles(groups: Readonly<Record<string, readonly string[]>>, onCycle: (cycle: string[]) => void): void {
  const members = new Map(Object.entries(groups).map(([g, m]) => [g, m.filter((x) => x in groups)]));
  orderImages([...members.keys()], members, onCycle);
}

export interface Selection {
  /** Images to build, dependencies included, in build order. */
  images: string[];
  /** The images the line names (groups and aliases expanded): what actions apply to. */
  targets: string[];
  /** Host commands asked for alone, by name (`px-oci-mon/px-oci-mon`). */
  commands: { image: string; name: string }[];
}

export type Phase = { kind: 'build'; selection: Selection } | { kind: 'action'; action: Action };

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
  return { phases, selected: all };
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
