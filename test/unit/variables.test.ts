import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseConfig } from '../../pipeline/config/load-config.ts';
import { prepareLoaded } from '../../pipeline/config/prepare.ts';
import { PROJECT, prepareText, problemsOf, yaml } from '../support/config.ts';

const config = yaml`
variables:
  DOCKER_HUB_REPO: { default: '\${USER}px' }
  DOCKER_HUB_TAG: latest
  IMAGE: '\${DOCKER_HUB_REPO}/oci-monitor'
images:
  app:
    base: ubuntu:16.04
    tags: ['\${IMAGE}:\${DOCKER_HUB_TAG}']
    args: { LITERAL: 'costs $\${HOME}' }
`;

const tagOf = (env: Record<string, string> = {}, sets: Record<string, string> = {}) =>
  prepareText(config, env, sets).plan.images.get('app')!.tags[0];

test("a default may use other variables and the user's name", () => {
  assert.is(tagOf(), 'alicepx/oci-monitor:latest');
});

test('an environment variable of the same name beats the default', () => {
  assert.is(tagOf({ DOCKER_HUB_TAG: '1.2' }), 'alicepx/oci-monitor:1.2');
  assert.is(tagOf({ DOCKER_HUB_REPO: 'acme' }), 'acme/oci-monitor:latest');
});

test('--set beats the environment', () => {
  assert.is(tagOf({ DOCKER_HUB_TAG: '1.2' }, { DOCKER_HUB_TAG: '2.0' }), 'alicepx/oci-monitor:2.0');
});

test('$${ stands for a literal ${', () => {
  assert.is(prepareText(config).plan.images.get('app')!.args['LITERAL'], 'costs ${HOME}');
});

test('${NAME:-fallback} takes the fallback when NAME is empty; a malformed reference is an error', () => {
  const text = (tag: string) => yaml`
variables:
  PXTAG: ''
  TAG: '${tag}'
images:
  app: { base: a, tags: ['repo/app:\${TAG}'] }
`;
  assert.is(prepareText(text('${PXTAG:-latest}')).plan.images.get('app')!.tags[0], 'repo/app:latest');
  assert.is(prepareText(text('${PXTAG:-latest}'), { PXTAG: '3.1' }).plan.images.get('app')!.tags[0], 'repo/app:3.1');
  assert.match(problemsOf(text('${PXTAG:latest}'))[0]!, /'\$\{PXTAG:latest\}' is not a variable reference/);
});

test('${TIMESTAMP} is the run’s start in UTC, one value for the whole run', () => {
  const prepared = prepareLoaded(parseConfig(yaml`
images:
  app: { base: a, tags: ['repo/app:\${TIMESTAMP}', 'repo/app:\${TIMESTAMP}-x'] }
`, 'build.config.yaml', PROJECT), {}, {}, new Date('2026-11-21T22:51:07.123Z'));
  assert.equal(prepared.plan.images.get('app')!.tags, ['repo/app:20261121T225107Z', 'repo/app:20261121T225107Z-x']);
});

test('each variable records where its value came from', () => {
  const vars = prepareText(config, { DOCKER_HUB_TAG: '1' }).variables;
  assert.is(vars.get('DOCKER_HUB_REPO')!.source, 'default');
  assert.is(vars.get('DOCKER_HUB_TAG')!.source, 'environment');
});

test('--set of an undeclared variable is an error with a did-you-mean', () => {
  assert.equal(problemsOf(config, {}, { DOCKER_HUB_TAGS: 'x' }), ["--set DOCKER_HUB_TAGS: no such variable in the config (did you mean 'DOCKER_HUB_TAG'?)"]);
});

test('variables that refer to each other in a cycle are an error', () => {
  const [problem] = problemsOf(yaml`
variables:
  A: '\${B}'
  B: '\${A}'
images: {}
`);
  assert.match(problem!, /variables refer to each other in a cycle: A → B → A/);
});

test.run();
