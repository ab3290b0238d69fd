// Each cross-field rule alone, on the smallest config that breaks it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseConfig, validateConfig } from '../../pipeline/config/load-config.ts';
import {
  GRAPH_RULES,
  knownGroupMembers,
  knownImageReferences,
  knownSecrets,
  noGroupCycles,
  noImageCycles,
  uniqueNames,
  type GraphRule,
} from '../../pipeline/plan/graph-rules.ts';
import { yaml } from '../support/config.ts';

function check(rule: GraphRule, text: string): string[] {
  const parsed = parseConfig(text, 'build.config.yaml', '/project');
  const loaded = validateConfig(parsed, parsed.raw, []);
  return rule.check({ config: loaded.config, locate: loaded.locate }).map((p) => `${p.at?.line}:${p.at?.col} ${p.message}${p.hint ? ` (${p.hint})` : ''}`);
}

test('unique-names: an alias may not take an image’s name, nor a built-in action’s', () => {
  assert.equal(
    check(
      uniqueNames,
      yaml`
images:
  app: { base: a, tags: [x], aliases: [tool, deploy] }
  tool: { base: a, tags: [y] }
`,
    ),
    ["2:40 the name 'tool' is used twice (it is already defined at line 3)", "2:46 the name 'deploy' is used twice ('deploy' is a built-in action)"],
  );
});

test('known-image-references: a base image or dependency of the graph that does not exist', () => {
  assert.equal(
    check(
      knownImageReferences,
      yaml`
images:
  app: { base: { image: bse }, tags: [x], dependsOn: [tol] }
  base: { base: a, tags: [y] }
  tool: { base: a, tags: [z] }
`,
    ),
    ["2:25 image 'bse' does not exist (did you mean 'base'?)", "2:55 image 'tol' does not exist (did you mean 'tool'?)"],
  );
});

test('known-group-members: a group may hold images, aliases, commands, groups and actions', () => {
  assert.equal(
    check(
      knownGroupMembers,
      yaml`
images:
  app: { base: a, tags: [x], aliases: [app-container] }
groups:
  ok: [app, app-container, deploy, other]
  other: [ap]
`,
    ),
    ["5:11 target 'ap' does not exist (did you mean 'app'?)"],
  );
});

test('known-secrets: a run step mounts only secrets the config declares', () => {
  assert.equal(
    check(
      knownSecrets,
      yaml`
secrets:
  npm_token: { env: NPM_TOKEN }
images:
  app: { base: a, tags: [x], steps: [{ run: { command: 'npm ci', secrets: [npm_token, npm_tokn] } }] }
`,
    ),
    ["4:87 secret 'npm_tokn' does not exist (did you mean 'npm_token'?)"],
  );
});

test('no-image-cycles: the cycle spelled out', () => {
  assert.equal(
    check(
      noImageCycles,
      yaml`
images:
  a: { base: { image: b }, tags: [x] }
  b: { base: a, tags: [y], dependsOn: [a] }
`,
    ),
    ['2:6 images depend on each other in a cycle: a → b → a (an image cannot be built before the image it is built from)'],
  );
});

test('no-group-cycles: a group that contains itself through another', () => {
  assert.equal(
    check(
      noGroupCycles,
      yaml`
images:
  a: { base: x, tags: [x] }
groups:
  one: [a, two]
  two: [one]
`,
    ),
    ['4:8 groups contain each other in a cycle: one → two → one'],
  );
});

test('every rule is listed, and a good config breaks none', () => {
  assert.equal(
    GRAPH_RULES.map((r) => r.name),
    ['unique-names', 'known-image-references', 'known-group-members', 'known-secrets', 'known-action-targets', 'no-image-cycles', 'no-group-cycles'],
  );
  const good = yaml`
images:
  base: { base: a, tags: [b] }
  app: { base: { image: base }, tags: [x], aliases: [app-container] }
groups:
  all: [app-container]
`;
  for (const rule of GRAPH_RULES) assert.equal(check(rule, good), [], rule.name);
});

test.run();
