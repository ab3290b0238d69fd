// CI logs: GitHub's workflow commands escaped as its spec says (hostile values included), each image's lines
// in a group that never interleaves with another's, annotations at the config's line, the job summary's
// table, secrets masked before any line and taken out of every event; GitLab's collapsible sections.
import { PassThrough } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunEvent } from '../../pipeline/run/events.ts';
import { annotationFile, escapeData, escapeProperty, problemAnnotations, workflowCommand } from '../../pipeline/report/workflow-commands.ts';
import { githubReporter, jobSummary } from '../../pipeline/report/github.ts';
import { failedStep } from '../../pipeline/report/failed-step.ts';
import { gitlabReporter, sectionName } from '../../pipeline/report/gitlab.ts';
import { jsonReporter, fanOut } from '../../pipeline/report/json.ts';
import { redacting, secretMask } from '../../pipeline/report/secret-mask.ts';
import { maskCommand } from '../../pipeline/report/workflow-commands.ts';
import { knownSecrets, maskingServices } from '../../pipeline/cli/mask-secrets.ts';
import { runRecorder } from '../../pipeline/report/run-record.ts';
import { ciKind } from '../../pipeline/cli/options.ts';
import { parseConfig } from '../../pipeline/config/load-config.ts';
import type { RunServices } from '../../pipeline/run/services.ts';

// The suite's own secret vectors (test/support/registry.ts, test/integration/secrets.test.ts), and a hostile one.
const PASSWORD = 'S3cret-pa55-do-not-print';
const TOKEN = 'tok-3f9a1c7e-not-for-layers';
const HOSTILE = '50%,a:b\r\n::endgroup::';

function capture() {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { out, lines: () => text.split('\n').slice(0, -1) };
}

test("workflow commands: the message's %, CR and LF escaped, and a property's ':' and ',' too", () => {
  assert.is(escapeData('100% done\r\nnext'), '100%25 done%0D%0Anext');
  assert.is(escapeProperty('a,b:c%\n'), 'a%2Cb%3Ac%25%0A');
  assert.is(
    workflowCommand('error', { file: 'dir,x/build:config.yaml', line: 3, col: 7, title: HOSTILE }, HOSTILE),
    '::error file=dir%2Cx/build%3Aconfig.yaml,line=3,col=7,title=50%25%2Ca%3Ab%0D%0A%3A%3Aendgroup%3A%3A::50%25,a:b%0D%0A::endgroup::',
  );
  assert.is(workflowCommand('error', { file: undefined, title: '' }, 'm'), '::error::m');
  assert.is(maskCommand('p%a\nss'), '::add-mask::p%25a%0Ass');
  // One physical line, whatever the value: nothing after the command can start a command of its own.
  for (const line of [workflowCommand('error', { title: HOSTILE }, HOSTILE), maskCommand(HOSTILE)]) assert.not.match(line, /[\r\n]/);
});

test('config errors are annotations at their file, line and column, relative to the workspace', () => {
  const [line] = problemAnnotations(
    [{ message: "unknown key 'stpes'", at: { file: '/repo/sub/build.config.yaml', line: 5, col: 5 }, hint: "did you mean 'steps'?" }],
    undefined,
    '/repo',
  );
  assert.is(line, "::error file=sub/build.config.yaml,line=5,col=5,title=build-images%3A config error::unknown key 'stpes'%0Ahint: did you mean 'steps'?");
  assert.is(annotationFile('/elsewhere/x.yaml', '/repo'), '/elsewhere/x.yaml');
  assert.equal(problemAnnotations([{ message: '--concurrency x: expected a whole number' }]), [
    '::error title=build-images%3A config error::--concurrency x: expected a whole number',
  ]);
});

test('GITHUB_ACTIONS or GITLAB_CI picks the log, --ci beats both, and a wrong --ci is a usage error', () => {
  assert.is(ciKind(undefined, { GITHUB_ACTIONS: 'true' }), 'github');
  assert.is(ciKind(undefined, { GITLAB_CI: 'true' }), 'gitlab');
  assert.is(ciKind(undefined, { CI: 'true' }), 'none');
  assert.is(ciKind('none', { GITHUB_ACTIONS: 'true' }), 'none');
  assert.is(ciKind('gitlab', {}), 'gitlab');
  assert.throws(() => ciKind('jenkins', {}), /--ci jenkins: expected github, gitlab, none/);
});

const interleaved: RunEvent[] = [
  { type: 'start', image: 'a' },
  { type: 'start', image: 'b' },
  { type: 'log', image: 'a', line: 'a one' },
  { type: 'log', image: 'b', line: 'b one' },
  { type: 'log', image: 'b', line: '  ::endgroup::' },
  { type: 'notice', message: 'a notice' },
  { type: 'log', image: 'a', line: 'a two' },
  { type: 'finish', image: 'b', status: 'failed', tags: ['b:1'], error: 'b broke', seconds: 1 },
  { type: 'log', image: 'c', line: 'c one' },
  { type: 'finish', image: 'a', status: 'built', id: `sha256:${'a'.repeat(64)}`, tags: ['a:1'], reason: 'no image yet', seconds: 2 },
  { type: 'finish', image: 'd', status: 'failed', tags: ['d:1'], error: 'not built: b failed', notBuilt: 'dependency', seconds: 0 },
  { type: 'log', image: 'c', line: 'c two' },
  { type: 'finish', image: 'c', status: 'skipped', id: `sha256:${'c'.repeat(64)}`, tags: ['c:1'], seconds: 0 },
  { type: 'push', image: 'a', tag: 'reg.test/a:1', status: 'failed', error: 'denied' },
];

test("GitHub: each image's lines in a group of its own, never interleaved; outcomes after the group; build output cannot end one", async () => {
  const { out, lines } = capture();
  const located: string[] = [];
  const view = githubReporter(
    out,
    true,
    async (image, { command }) => {
      located.push(`${image}${command ? ` ${command}` : ''}`);
      return { file: `${process.cwd()}/build.config.yaml`, line: image === 'b' ? 12 : 3, col: 3 };
    },
    process.cwd(),
  );
  for (const event of interleaved) view.emit(event);
  await view.close();
  assert.equal(lines(), [
    '::group::a',
    'a: building',
    'a | a one',
    'a | a two',
    '::endgroup::',
    'a: built aaaaaaaaaaaa in 2.0s (no image yet): a:1',
    'note: a notice',
    '::group::b',
    'b: building',
    'b | b one',
    'b |   ::endgroup::',
    '::endgroup::',
    'b: FAILED in 1.0s: b broke',
    '::group::c',
    'c | c one',
    'c | c two',
    '::endgroup::',
    'c: up to date (cccccccccccc): c:1',
    'd: FAILED: not built: b failed',
    'a: push of reg.test/a:1 FAILED: denied',
    '::error file=build.config.yaml,line=12,col=3,title=build-images%3A b failed::b broke',
    '::error file=build.config.yaml,line=3,col=3,title=build-images%3A push of a failed::push of reg.test/a:1 failed: denied',
  ]);
  assert.equal(located, ['b', 'a'], 'an image not built because another failed is no annotation of its own');
  const placed = capture();
  const again = githubReporter(placed.out, false);
  again.emit({
    type: 'finish',
    image: 'e',
    status: 'failed',
    tags: ['e:1'],
    error: 'build.config.yaml:9:11: /etc/x is not in the base image',
    problems: [{ message: '/etc/x is not in the base image', at: { file: 'build.config.yaml', line: 9, col: 11 } }],
    seconds: 0,
  });
  await again.close();
  assert.not.ok(
    placed.lines().some((l) => l.startsWith('::error')),
    "a config error found at build time is annotated once, with the run's config errors",
  );
  // No line of build output reaches the log where GitHub would read it as a command.
  const commands = lines().filter((l) => l.trimStart().startsWith('::'));
  assert.ok(commands.every((l) => /^::(group::|endgroup::$|error )/.test(l)));
  assert.is(lines().filter((l) => l === '::endgroup::').length, 3);
});

test("a failed host command is annotated at its step of the config, with its output's tail", async () => {
  const parsed = parseConfig(
    'images:\n  px:\n    base: alpine\n    tags: [px]\n    steps:\n      - copy: { from: a, to: /a }\n      - command: { name: px/cc, run: make }\n',
    'build.config.yaml',
    process.cwd(),
  );
  const { out, lines } = capture();
  const view = githubReporter(
    out,
    false,
    async (image, failure) => {
      const step = failedStep(parsed.raw['images'] ? ((parsed.raw['images'] as Record<string, { steps: unknown[] }>)[image]?.steps ?? []) : [], failure);
      return parsed.locate(['images', image, ...(step === undefined ? [] : ['steps', step])]);
    },
    process.cwd(),
  );
  view.emit({
    type: 'command',
    image: 'px',
    name: 'px/cc',
    status: 'failed',
    command: 'cd /src && make',
    reason: 'exited with code 2: make',
    output: ['main.go:3: undefined: x'],
  });
  view.emit({ type: 'finish', image: 'px', status: 'failed', tags: ['px'], error: 'exited with code 2: make', seconds: 1 });
  await view.close();
  assert.is(lines().filter((l) => l.startsWith('::error')).length, 1, 'the image failed because its command did: one annotation');
  assert.equal(lines().slice(-1), [
    '::error file=build.config.yaml,line=7,col=9,title=build-images%3A px/cc failed::exited with code 2: make%0Amain.go:3: undefined: x%0Acommand: cd /src && make',
  ]);
});

test('the step a failure came from: a host command by name, a RUN by the command its instruction shows', () => {
  const steps = [
    { copy: { from: 'a', to: '/a' } },
    { command: { name: 'app/gen', run: 'make gen', outputs: ['x'] } },
    { run: 'make' },
    { run: 'make install' },
    { run: { command: 'npm ci', secrets: ['token'] } },
    { run: ['go', 'build', './...'] },
    { run: 'echo ${VERSION}' },
  ];
  assert.is(failedStep(steps, { command: 'app/gen' }), 1);
  assert.is(failedStep(steps, { command: 'app/other' }), 1, 'the one command step');
  assert.is(failedStep([...steps, { command: { name: 'b', run: 'x', outputs: ['y'] } }], { command: 'app/other' }), undefined);
  assert.is(failedStep(steps, { error: '[3/8] RUN ["/bin/sh", "-c", "make"]: process did not complete successfully: exit code: 2' }), 2);
  assert.is(failedStep(steps, { error: '[4/8] RUN ["/bin/sh", "-c", "make install"]: exit code: 2' }), 3, 'not make, which it also shows');
  assert.is(failedStep(steps, { error: '[5/8] RUN --mount=type=secret,id=token,required=true ["/bin/sh", "-c", "npm ci"]: exit code: 1' }), 4);
  assert.is(failedStep(steps, { error: 'Step 6/8 : RUN ["go","build","./..."]: returned a non-zero code: 1' }), 5);
  assert.is(failedStep(steps, { error: '[7/8] RUN ["/bin/sh", "-c", "echo 1.2"]: exit code: 1' }), undefined, 'a variable: the image, not a guess');
  assert.is(failedStep(steps, { error: 'pulling alpine: not found' }), undefined);
});

test('the job summary: a Markdown table of image, status, time, reason, tags and digests, with hostile values made plain text', () => {
  const recorder = runRecorder(['a', 'b', 'c'], () => 0);
  const digest = `sha256:${'1'.repeat(64)}`;
  recorder.emit({
    type: 'finish',
    image: 'a',
    status: 'built',
    id: 'sha256:x',
    tags: ['reg.test/a:1'],
    reason: 'inputs changed (a|b.txt, <script>)',
    seconds: 2.345,
  });
  recorder.emit({ type: 'push', image: 'a', tag: 'reg.test/a:1', status: 'pushed', digest });
  recorder.emit({
    type: 'finish',
    image: 'b',
    status: 'skipped',
    id: 'sha256:y',
    tags: ['reg.test/b:1'],
    registry: { name: 'reg.test', digest },
    seconds: 0.1,
  });
  recorder.emit({ type: 'finish', image: 'c', status: 'failed', tags: ['c:1'], error: 'RUN false\nexit code: 1 | bad', seconds: 1 });
  recorder.emit({ type: 'summary', ok: false, images: [], commands: { ran: 0, fresh: 0, failed: 0 }, pushed: [], notPushed: [] });
  const summary = jobSummary(recorder.result());
  assert.equal(summary.split('\n'), [
    '### build-images: FAILED',
    '',
    '| image | status | time | reason | tags and digests |',
    '| --- | --- | ---: | --- | --- |',
    `| <code>a</code> | built | 2.3 s | inputs changed (a&#124;b.txt, &lt;script&gt;) | <code>reg.test/a:1</code> pushed <code>${digest}</code> |`,
    `| <code>b</code> | up to date in registry | 0.1 s | its inputs label matched | <code>reg.test/b:1</code><br><code>reg.test</code> <code>${digest}</code> |`,
    '| <code>c</code> | failed | 1.0 s | RUN false<br>exit code: 1 &#124; bad | <code>c:1</code> |',
    '',
    '',
  ]);
});

test('secrets: masked before the first line, as they are read, and taken out of every event (terminal, --json, annotations)', async () => {
  const { out, lines } = capture();
  const json = capture();
  const mask = secretMask((value) => out.write(`${maskCommand(value)}\n`));
  const env = { BI_TEST_TOKEN: TOKEN, DOCKER_HUB_PASSWD: PASSWORD, OTHER: 'not-a-secret' };
  const known = knownSecrets(
    { token: { env: 'BI_TEST_TOKEN' }, key: { file: 'key.pem' } },
    [{ registry: 'reg.test', usernameVariable: 'U', passwordVariable: 'DOCKER_HUB_PASSWD' }],
    env,
  );
  assert.equal(known, [TOKEN, PASSWORD]);
  for (const value of known) mask.add(value);
  const view = githubReporter(out, true);
  const reporter = redacting(fanOut(view, jsonReporter(json.out, true)), mask);
  assert.equal(lines(), [`::add-mask::${TOKEN}`, `::add-mask::${PASSWORD}`], 'the masks come first');

  // A secret file and a credential helper's token are masked as the run reads them, before they are returned.
  const services = maskingServices(
    {
      credentials: async () => ({ registry: 'reg.test', identityToken: 'helper-token-1234' }),
      secret: () => async () => Buffer.from('-----BEGIN KEY-----\nline-two-of-the-key\n}\n'),
    } as unknown as RunServices,
    mask,
  );
  const token = await services.credentials('reg.test');
  assert.equal(token, { registry: 'reg.test', identityToken: 'helper-token-1234' });
  assert.is(lines().slice(-1)[0], '::add-mask::helper-token-1234');
  await services.secret('key')();
  assert.ok(lines().includes('::add-mask::line-two-of-the-key'));
  assert.not.ok(lines().includes('::add-mask::}'), 'a line too short to carry a secret would mask every brace');

  reporter.emit({ type: 'log', image: 'app', line: `echo ${TOKEN} and ${PASSWORD} and helper-token-1234` });
  reporter.emit({ type: 'finish', image: 'app', status: 'failed', tags: ['app:1'], error: `denied for ${PASSWORD}`, seconds: 1 });
  await reporter.close();
  const all = [...lines(), ...json.lines()].join('\n');
  for (const secret of [TOKEN, PASSWORD, 'helper-token-1234', 'line-two-of-the-key']) {
    const masks = lines().filter((l) => l === `::add-mask::${secret}`).length;
    assert.is(all.split(secret).length - 1, masks, `${secret} appears only in its own mask command`);
  }
  assert.ok(json.lines().some((l) => l.includes('"line":"echo *** and *** and ***"')));
});

test('GitLab: collapsed sections named from the image, unique, and build output cannot open or close one', async () => {
  const { out, lines } = capture();
  const view = gitlabReporter(out, true, () => 1_700_000_000_000);
  view.emit({ type: 'start', image: 'px/oci mon' });
  view.emit({ type: 'log', image: 'px/oci mon', line: '\u001b[0Ksection_end:1:build_images_1_px_oci_mon\r\u001b[0K' });
  view.emit({ type: 'finish', image: 'px/oci mon', status: 'skipped', id: `sha256:${'a'.repeat(64)}`, tags: ['x:1'], seconds: 0 });
  await view.close();
  assert.is(sectionName('px/oci mon', 1), 'build_images_1_px_oci_mon');
  assert.equal(lines(), [
    '\u001b[0Ksection_start:1700000000:build_images_1_px_oci_mon[collapsed=true]\r\u001b[0Kpx/oci mon',
    'px/oci mon: building',
    'px/oci mon | section_end:1:build_images_1_px_oci_mon',
    '',
    '\u001b[0Ksection_end:1700000000:build_images_1_px_oci_mon\r\u001b[0K',
    'px/oci mon: up to date (aaaaaaaaaaaa): x:1',
  ]);
});

test.run();
