import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { prepareText, problemsOf, yaml } from '../support/config.ts';

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
