// The checks across a config's fields, as a list of small named rules (changesets keeps its config rules
// so): each reads the config and the names it defines, and says what is wrong, placed in the file. Adding
// a check is a rule here and a line in GRAPH_RULES.
import { didYouMean, type Problem, type SourcePosition } from '../model/errors.ts';
import type { ConfigPath } from '../config/load-config.ts';
import type { Config } from '../config/schema.ts';
import { ACTIONS } from '../model/actions.ts';

export interface RuleInput {
  config: Config;
  locate(at: ConfigPath): SourcePosition;
}

export interface GraphRule {
  readonly name: string;
  check(input: RuleInput): Problem[];
}

/** Every name a user can ask for, where it is defined: images, aliases, named commands, groups. */
export function definedNames(config: Config): [string, ConfigPath][] {
  const names: [string, ConfigPath][] = Object.keys(config.images).map((image) => [image, ['images', image]]);
  for (const [image, spec] of Object.entries(config.images)) {
    spec.aliases.forEach((alias, i) => names.push([alias, ['images', image, 'aliases', i]]));
    spec.steps.forEach((step, i) => {
      if (step.kind === 'command' && step.value.name) names.push([step.value.name, ['images', image, 'steps', i, 'command', 'name']]);
    });
  }
  for (const group of Object.keys(config.groups)) names.push([group, ['groups', group]]);
  return names;
}

function unknown(name: string, candidates: Iterable<string>, at: SourcePosition, what: string): Problem {
  const near = didYouMean(name, candidates);
  return { message: `${what} '${name}' does not exist`, at, hint: near ? `did you mean '${near}'?` : `known: ${[...candidates].join(', ')}` };
}

export const uniqueNames: GraphRule = {
  name: 'unique-names',
  check({ config, locate }) {
    const first = new Map<string, ConfigPath | undefined>(ACTIONS.map((action) => [action, undefined]));
    const problems: Problem[] = [];
    for (const [name, at] of definedNames(config)) {
      if (!first.has(name)) {
        first.set(name, at);
        continue;
      }
      const earlier = first.get(name);
      problems.push({
        message: `the name '${name}' is used twice`,
        at: locate(at),
        hint: earlier ? `it is already defined at line ${locate(earlier).line}` : `'${name}' is a built-in action`,
      });
    }
    return problems;
  },
};

export const knownImageReferences: GraphRule = {
  name: 'known-image-references',
  check({ config, locate }) {
    const images = Object.keys(config.images);
    return Object.entries(config.images).flatMap(([image, spec]) => [
      ...(typeof spec.base === 'object' && !config.images[spec.base.image]
        ? [unknown(spec.base.image, images, locate(['images', image, 'base', 'image']), 'image')]
        : []),
      ...spec.dependsOn.flatMap((dep, i) => (config.images[dep] ? [] : [unknown(dep, images, locate(['images', image, 'dependsOn', i]), 'image')])),
    ]);
  },
};

export const knownGroupMembers: GraphRule = {
  name: 'known-group-members',
  check({ config, locate }) {
    const names = new Set([...ACTIONS, ...definedNames(config).map(([name]) => name)]);
    return Object.entries(config.groups).flatMap(([group, members]) =>
      members.flatMap((member, i) => (names.has(member) ? [] : [unknown(member, names, locate(['groups', group, i]), 'target')])),
    );
  },
};

export const knownActionTargets: GraphRule = {
  name: 'known-action-targets',
  check({ config, locate }) {
    const names = definedNames(config).map(([name]) => name);
    return (config.actionTargets ?? []).flatMap((name, i) => (names.includes(name) ? [] : [unknown(name, names, locate(['actionTargets', i]), 'target')]));
  },
};

export const noImageCycles: GraphRule = {
  name: 'no-image-cycles',
  check({ config, locate }) {
    return cycles(Object.keys(config.images), imageDependencies(config)).map((cycle) => ({
      message: `images depend on each other in a cycle: ${cycle.join(' → ')}`,
      at: locate(['images', cycle[0]!]),
      hint: 'an image cannot be built before the image it is built from',
    }));
  },
};

export const noGroupCycles: GraphRule = {
  name: 'no-group-cycles',
  check({ config, locate }) {
    const members = new Map(Object.entries(config.groups).map(([g, m]) => [g, m.filter((x) => x in config.groups)]));
    return cycles([...members.keys()], members).map((cycle) => ({
      message: `groups contain each other in a cycle: ${cycle.join(' → ')}`,
      at: locate(['groups', cycle[0]!]),
    }));
  },
};

export const knownSecrets: GraphRule = {
  name: 'known-secrets',
  check({ config, locate }) {
    const declared = Object.keys(config.secrets);
    return Object.entries(config.images).flatMap(([image, spec]) =>
      spec.steps.flatMap((step, i) => {
        const ids = step.kind === 'run' && typeof step.value === 'object' && !Array.isArray(step.value) ? step.value.secrets : [];
        return ids.flatMap((id, j) =>
          config.secrets[id]
            ? []
            : [
                {
                  ...unknown(id, declared, locate(['images', image, 'steps', i, 'run', 'secrets', j]), 'secret'),
                  ...(declared.length ? {} : { hint: 'declare it under `secrets:` with `env:` or `file:`' }),
                },
              ],
        );
      }),
    );
  },
};

export const GRAPH_RULES: readonly GraphRule[] = [
  uniqueNames,
  knownImageReferences,
  knownGroupMembers,
  knownSecrets,
  knownActionTargets,
  noImageCycles,
  noGroupCycles,
];

/** image → the images of the graph it needs built first: its base, if of this graph, and dependsOn. */
export function imageDependencies(config: Config): Map<string, string[]> {
  return new Map(
    Object.entries(config.images).map(([image, spec]) => {
      const deps = [...(typeof spec.base === 'object' ? [spec.base.image] : []), ...spec.dependsOn].filter((d) => config.images[d]);
      return [image, [...new Set(deps)]];
    }),
  );
}

/** Depth-first topological order; each cycle once, spelled out from its first node back to it. */
export function topologicalOrder(nodes: readonly string[], edges: ReadonlyMap<string, readonly string[]>): { order: string[]; cycles: string[][] } {
  const order: string[] = [];
  const found: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'visiting') {
      found.push([...stack.slice(stack.indexOf(node)), node]);
      return;
    }
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of edges.get(node) ?? []) visit(next);
    stack.pop();
    state.set(node, 'done');
    order.push(node);
  };
  nodes.forEach(visit);
  return { order, cycles: found };
}

function cycles(nodes: readonly string[], edges: ReadonlyMap<string, readonly string[]>): string[][] {
  return topologicalOrder(nodes, edges).cycles;
}
