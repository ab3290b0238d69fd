import { test } from 'uvu';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { enclosingGitHead, gitHead } from '../../pipeline/config/git-head.ts';
import { execFileSync } from 'node:child_process';
import * as assert from 'uvu/assert';
import { parseConfig } from '../../pipeline/config/load-config.ts';
import { prepareLoaded } from '../../pipeline/config/prepare.ts';
import { PROJECT, prepareText, problemsOf, yaml } from '../support/config.ts';
import { tempDir } from '../support/temp.ts';

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

const tagOf = (env: Record<string, string> = {}, sets: Record<string, string> = {}) => prepareText(config, env, sets).plan.images.get('app')!.tags[0];

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
  const prepared = prepareLoaded(
    parseConfig(
      yaml`
images:
  app: { base: a, tags: ['repo/app:\${TIMESTAMP}', 'repo/app:\${TIMESTAMP}-x'] }
`,
      'build.config.yaml',
      PROJECT,
    ),
    {},
    {},
    new Date('2026-11-21T22:51:07.123Z'),
  );
  assert.equal(prepared.plan.images.get('app')!.tags, ['repo/app:20261121T225107Z', 'repo/app:20261121T225107Z-x']);
});

test('BUILD_IMAGES_TIMESTAMP gives a build and a later deploy the same ${TIMESTAMP}; a malformed one is ignored', () => {
  const tags = (env: Record<string, string>) =>
    prepareLoaded(
      parseConfig(
        yaml`
images:
  app: { base: a, tags: ['repo/app:1.5.0-\${TIMESTAMP}'] }
`,
        'build.config.yaml',
        PROJECT,
      ),
      {},
      env,
      new Date('2026-11-21T22:51:07Z'),
    ).plan.images.get('app')!.tags;
  assert.equal(tags({ BUILD_IMAGES_TIMESTAMP: '20190301T120000Z' }), ['repo/app:1.5.0-20190301T120000Z']);
  assert.equal(tags({ BUILD_IMAGES_TIMESTAMP: '2019-03-01' }), ['repo/app:1.5.0-20261121T225107Z']);
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

const pxtag = yaml`
variables:
  PXTAG: ''
  DOCKER_HUB_TAG: { default: latest, override: '\${PXTAG}' }
images:
  app: { base: a, tags: ['repo/app:\${DOCKER_HUB_TAG}'] }
`;
const pxTagged = (env: Record<string, string>, sets: Record<string, string> = {}) => prepareText(pxtag, env, sets).plan.images.get('app')!.tags[0];

test('an override that is not empty beats the environment (make’s ifdef PXTAG); --set beats it', () => {
  assert.is(pxTagged({}), 'repo/app:latest');
  assert.is(pxTagged({ DOCKER_HUB_TAG: '1.0' }), 'repo/app:1.0', 'an empty override leaves the environment its say');
  assert.is(pxTagged({ PXTAG: '1.2.12', DOCKER_HUB_TAG: '1.0' }), 'repo/app:1.2.12');
  assert.is(pxTagged({ PXTAG: '1.2.12' }, { DOCKER_HUB_TAG: '2.0' }), 'repo/app:2.0');
  assert.is(pxTagged({}, { PXTAG: '1.2.13' }), 'repo/app:1.2.13');
  assert.is(prepareText(pxtag, { PXTAG: '1' }).variables.get('DOCKER_HUB_TAG')!.source, 'override');
});

const commitConfig = yaml`
variables:
  PX_SRC: ../px-installer
  DOCKPROX_TAG: { gitCommit: '\${PX_SRC}', default: latest }
images:
  dockprox: { base: a, tags: ['repo/dockprox:\${DOCKPROX_TAG}'] }
`;

test('gitCommit: the checkout’s HEAD commit, 7 characters, read at the path relative to the project; else the default', () => {
  const asked: string[] = [];
  const head = (dir: string) => {
    asked.push(dir);
    return dir === '/px-installer' ? '23725bbd97ae61b67349220710f82798b1eeb654' : undefined;
  };
  const tag = (env: Record<string, string> = {}) =>
    prepareLoaded(parseConfig(commitConfig, 'build.config.yaml', PROJECT), {}, { USER: 'alice', ...env }, new Date(), head).plan.images.get('dockprox')!
      .tags[0];
  assert.is(tag(), 'repo/dockprox:23725bb');
  assert.is(asked[0], '/px-installer');
  assert.is(tag({ PX_SRC: '/elsewhere' }), 'repo/dockprox:latest', 'no checkout: the default');
  assert.is(tag({ DOCKPROX_TAG: 'v1' }), 'repo/dockprox:v1', 'the environment beats the commit');
});

test('gitHead reads HEAD from .git: a branch in packed-refs, a loose ref, a detached HEAD, a worktree’s .git file', async () => {
  const dir = await tempDir('bi-git-');
  const sha = 'a'.repeat(40);
  const other = 'b'.repeat(40);
  await mkdir(path.join(dir, '.git/refs/heads'), { recursive: true });
  await writeFile(path.join(dir, '.git/HEAD'), 'ref: refs/heads/master\n');
  await writeFile(path.join(dir, '.git/packed-refs'), `# pack-refs with: peeled fully-peeled sorted\n${sha} refs/heads/master\n`);
  assert.is(gitHead(dir), sha);
  await writeFile(path.join(dir, '.git/refs/heads/master'), `${other}\n`);
  assert.is(gitHead(dir), other, 'a loose ref is newer than the packed one');
  await writeFile(path.join(dir, '.git/HEAD'), `${sha}\n`);
  assert.is(gitHead(dir), sha);
  const worktree = path.join(dir, 'wt');
  await mkdir(path.join(dir, '.git/worktrees/wt'), { recursive: true });
  await writeFile(path.join(dir, '.git/worktrees/wt/HEAD'), 'ref: refs/heads/master\n');
  await writeFile(path.join(dir, '.git/worktrees/wt/commondir'), '../..\n');
  await mkdir(worktree);
  await writeFile(path.join(worktree, '.git'), `gitdir: ${path.join(dir, '.git/worktrees/wt')}\n`);
  assert.is(gitHead(worktree), other);
  assert.is(gitHead(path.join(dir, 'nothing')), undefined);
  await writeFile(path.join(dir, '.git/HEAD'), 'ref: refs/heads/../../../../etc/hostname\n');
  assert.is(gitHead(dir), undefined, 'a ref may not leave .git');
});

test('the revision label names the commit git itself gives for a folder inside a checkout, without running git', async () => {
  const dir = await tempDir('bi-git-');
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: dir, encoding: 'utf8' }).trim();
  git('init', '-q');
  await mkdir(path.join(dir, 'images/cm'), { recursive: true });
  assert.is(enclosingGitHead(path.join(dir, 'images/cm')), undefined, 'no commit yet');
  git('commit', '-q', '--allow-empty', '-m', 'one');
  assert.is(enclosingGitHead(path.join(dir, 'images/cm')), git('rev-parse', 'HEAD'));
  git('pack-refs', '--all');
  git('commit', '-q', '--allow-empty', '-m', 'two');
  assert.is(enclosingGitHead(path.join(dir, 'images/cm')), git('rev-parse', 'HEAD'));
  assert.is(enclosingGitHead(os.tmpdir()), undefined, 'outside a checkout');
});

test.run();
