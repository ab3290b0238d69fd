// The graph of images and the names a user can ask for. Pure: config in, targets out, once every rule of
// graph-rules.ts holds.
import { UserError, type SourcePosition } from '../model/errors.ts';
import { GRAPH_RULES, imageDependencies, topologicalOrder } from './graph-rules.ts';
import type { ConfigPath } from '../config/load-config.ts';
import type { Config } from '../config/schema.ts';
import { ACTIONS, type Action } from '../model/actions.ts';

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
  const problems = GRAPH_RULES.flatMap((rule) => rule.check({ config, locate }));
  if (problems.length > 0) throw new UserError(problems);
  const targets = new Map<string, Target>(ACTIONS.map((action) => [action, { kind: 'action', action }]));
  for (const image of Object.keys(config.images)) targets.set(image, { kind: 'image', image });
  for (const [image, spec] of Object.entries(config.images)) {
    for (const alias of spec.aliases) targets.set(alias, { kind: 'image', image });
    for (const step of spec.steps)
      if (step.kind === 'command' && step.value.name) targets.set(step.value.name, { kind: 'command', image, name: step.value.name });
  }
  for (const [group, members] of Object.entries(config.groups)) targets.set(group, { kind: 'group', members });
  const dependencies = imageDependencies(config);
  return {
    targets,
    dependencies,
    order: topologicalOrder(Object.keys(config.images), dependencies).order,
    actionTargets: config.actionTargets ?? Object.keys(config.images),
  };
}
