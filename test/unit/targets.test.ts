import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../../pipeline/model/errors.ts';
import { planPhases } from '../../pipeline/plan/phases.ts';
import { planEvent } from '../../pipeline/plan/plan-event.ts';
import { prepareText, yaml } from '../support/config.ts';

const { graph } = prepareText(yaml`
images:
  base: { base: ubuntu:16.04, tags: [b] }
  app:
    base: { image: base }
    aliases: [app-container]
    tags: [a]
    steps:
      - command: { name: app/app, run: make, outputs: [app/app] }
  tool: { base: alpine:latest, tags: [t] }
groups:
  all: [app/app]
  px-container: [app, tool]
`);

test('images come after what they are built on', () => {
  assert.ok(graph.order.indexOf('base') < graph.order.indexOf('app'));
});

test('an image target brings its dependencies to build; an alias is the image', () => {
  const { selected } = planPhases(graph, ['app-container']);
  assert.equal(selected.images, ['base', 'app']);
  assert.equal(selected.targets, ['app'], 'actions apply to app alone: its base is built, not pushed');
});

test('a group selects its members; a named command runs alone', () => {
  const { phases } = planPhases(graph, ['all']);
  assert.equal(phases, [{ kind: 'build', selection: { images: [], targets: [], commands: [{ image: 'app', name: 'app/app' }] } }]);
});

test('targets run in order like make: builds, then each action', () => {
  const { phases, selected } = planPhases(graph, ['all', 'px-container', 'deploy', 'deploy_latest']);
  assert.equal(
    phases.map((p) => (p.kind === 'build' ? 'build' : p.action)),
    ['build', 'deploy', 'deploy_latest'],
  );
  assert.equal(selected.images, ['base', 'app', 'tool']);
  assert.equal(selected.targets, ['app', 'tool']);
});

test('an action alone applies to every image', () => {
  const { phases, selected } = planPhases(graph, ['rmi']);
  assert.equal(phases, [{ kind: 'action', action: 'rmi' }]);
  assert.equal(selected.targets, ['base', 'app', 'tool']);
});

const declared = prepareText(yaml`
actionTargets: [px-container]
images:
  px: { base: ubuntu:16.04, tags: [p], steps: [{ command: { name: px/px, run: make, outputs: [px/px] } }] }
  cm: { base: ubuntu:16.04, tags: [c] }
groups:
  all: [px/px]
  px-container: [px]
`).graph;

test('actions on a line that names no image act on the config’s actionTargets; naming an image acts on it', () => {
  assert.equal(planPhases(declared, ['deploy']).selected.targets, ['px']);
  assert.equal(planPhases(declared, ['all', 'deploy']).selected.targets, ['px'], 'a host command is no image');
  assert.equal(planPhases(declared, ['cm', 'deploy']).selected.targets, ['cm']);
  assert.equal(planPhases(declared, []).selected.images, ['px', 'cm'], 'no target at all still builds every image');
  assert.equal(planPhases(declared, ['all']).selected.images, [], 'host commands alone select no image');
});

test('actionTargets must name targets of the config', () => {
  assert.throws(
    () =>
      prepareText(yaml`
actionTargets: [px-containr]
images:
  px: { base: a, tags: [x] }
groups:
  px-container: [px]
`),
    /target 'px-containr' does not exist[\s\S]*did you mean 'px-container'/,
  );
});

test('no target builds every image', () => {
  const { phases } = planPhases(graph, []);
  assert.equal(phases, [{ kind: 'build', selection: { images: ['base', 'app', 'tool'], targets: ['base', 'app', 'tool'], commands: [] } }]);
});

test('deploy alone builds what it pushes first: the plan is the whole line', () => {
  const { phases } = planPhases(graph, ['deploy']);
  assert.equal(phases, [
    { kind: 'build', selection: { images: ['base', 'app', 'tool'], targets: ['base', 'app', 'tool'], commands: [] }, forAction: 'deploy' },
    { kind: 'action', action: 'deploy' },
  ]);
});

test('the dry run names every push and its registry, every host command with its directory, and the registry check it would make', () => {
  const prepared = prepareText(yaml`
images:
  app:
    base: alpine
    tags: ['127.0.0.1:5000/team/app:1']
    steps: [{ command: { name: 'app/bin', run: [go, build, -o, 'my bin', .], cwd: src, env: { GOOS: linux }, outputs: [src/bin] } }]
`);
  const { phases, selected } = planPhases(prepared.graph, ['app', 'deploy', 'deploy_latest']);
  const event = planEvent(prepared.plan, phases, selected, () => ({ upToDate: false, reason: 'no record of a run' }));
  assert.equal(event.phases, [
    {
      kind: 'build',
      images: ['app'],
      commands: [
        {
          image: 'app',
          name: 'app/bin',
          cwd: '/project/src',
          env: { GOOS: 'linux' },
          command: event.phases[0]!.kind === 'build' ? event.phases[0]!.commands[0]!.command : '',
          upToDate: false,
          reason: 'no record of a run',
        },
      ],
      registryChecks: [{ image: 'app', tags: ['127.0.0.1:5000/team/app:1', '127.0.0.1:5000/team/app:latest'] }],
    },
    { kind: 'action', action: 'deploy', images: ['app'], pushes: [{ image: 'app', tag: '127.0.0.1:5000/team/app:1', registry: '127.0.0.1:5000' }] },
    { kind: 'action', action: 'deploy_latest', images: ['app'], pushes: [{ image: 'app', tag: '127.0.0.1:5000/team/app:latest', registry: '127.0.0.1:5000' }] },
  ]);
});

test('an unknown target is a user error with a did-you-mean', () => {
  try {
    planPhases(graph, ['px-containr']);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, UserError);
    assert.match((err as Error).message, /no target named 'px-containr'\n {2}hint: did you mean 'px-container'\?/);
  }
});

test('a name used twice is an error', () => {
  assert.throws(
    () =>
      prepareText(yaml`
images:
  app: { base: a, tags: [x], aliases: [deploy] }
`),
    /the name 'deploy' is used twice/,
  );
});

test.run();
