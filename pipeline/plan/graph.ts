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
  return { targets, dependencies, order };
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
