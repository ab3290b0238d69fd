// Values from the config (and from --set) reach Dockerfile lines; here the generated Dockerfile is built
// by the engine's classic builder (through the CLI) and by BuildKit (the docker CLI with DOCKER_BUILDKIT=1,
// as a user would run it), and the image is checked for exactly the values written: nothing expanded,
// nothing injected, a multi-line `run` run as sh runs a script.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { cli, finishOf, project } from '../support/cli.ts';
import { cleanup, docker, importImage, requireEngine, rootfs, RUN_ID, RUN_LABEL, runIn, testTag } from '../support/engine.ts';
import { prepareLoaded } from '../../pipeline/config/prepare.ts';
import { parseConfig } from '../../pipeline/config/load-config.ts';
import { tempDir } from '../support/temp.ts';

const test = suite('values in Dockerfile lines, on both builders');
const BASE = testTag('values-base');

test.before(async () => {
  await requireEngine();
  await importImage(BASE, await rootfs(), { [RUN_LABEL]: RUN_ID });
});
test.after(cleanup);

// Every character the Dockerfile parser treats specially, in each kind of line.
const VALUE = 'a\\b "q" $HOME ${HOME} tab\there \\n end\\';
const SCRIPT = `set -e
cat <<'EOF' > /heredoc
line one $HOME
  indented, "quoted", it's
EOF
for i in 1 2; do
  echo "$i" >> /loop
done
echo "$WHO" > /who
`;

// As the config writes it: a literal \${ is $\${ there.
const written = VALUE.replaceAll("'", "''").replaceAll('${', () => '$${');
const valuesConfig = (tag: string) => `
images:
  values:
    base: '${BASE}'
    tags: ['${tag}']
    args: { WHO: builder }
    labels: { value: '${written}' }
    steps:
      - copy: { from: file.txt, to: '/dst/$HOME/' }
      - env: { VALUE: '${written}' }
      - workdir: '/opt/a b/$HOME'
      - run: pwd > /pwd; printf '%s' "$VALUE" > /env-value
      - run: |
${SCRIPT.split('\n')
  .map((l) => `          ${l}`)
  .join('\n')}
`;

const CHECK = 'cat /pwd /env-value; echo; ls /dst; cat /heredoc /loop /who';
const EXPECTED = ['/opt/a b/$HOME', VALUE, '$HOME', 'line one $HOME', `  indented, "quoted", it's`, '1', '2', 'builder', ''].join('\n');

test('classic builder: every value lands as written, the script runs whole', async () => {
  const tag = testTag('values-classic');
  const dir = await project({ 'build.config.yaml': valuesConfig(tag), 'file.txt': 'x' });
  const result = await cli(['--json', 'values'], { cwd: dir });
  assert.is(result.code, 0, result.stderr + result.stdout);
  const ran = await runIn(tag, ['/bin/sh', '-c', CHECK]);
  assert.is(ran.output, EXPECTED);
  const labels = (await docker.getImage(tag).inspect()).Config.Labels;
  assert.is(labels['value'], VALUE);
});

test('BuildKit: the same Dockerfile gives the same image', async () => {
  const tag = testTag('values-buildkit');
  await buildkit(await contextOf(valuesConfig(tag), { 'file.txt': 'x' }), tag);
  const ran = await runIn(tag, ['/bin/sh', '-c', CHECK]);
  assert.is(ran.output, EXPECTED);
  const labels = (await docker.getImage(tag).inspect()).Config.Labels;
  assert.is(labels['value'], VALUE);
});

const failingConfig = (tag: string) => `
images:
  failing:
    base: '${BASE}'
    tags: ['${tag}']
    steps:
      - run: |
          set -e
          echo first > /first
          false
          echo after > /after
`;

test('a script with set -e stops at its failing line, on both builders', async () => {
  const tag = testTag('failing');
  const dir = await project({ 'build.config.yaml': failingConfig(tag) });
  const result = await cli(['--json', 'failing'], { cwd: dir });
  assert.is(result.code, 1, result.stderr);
  assert.match(finishOf(result, 'failing')!.error!, /returned a non-zero code: 1|exit code: 1/);

  const context = await contextOf(failingConfig(tag), {});
  const err = await buildkit(context, tag).then(
    () => undefined,
    (e: Error & { stderr?: string }) => e,
  );
  assert.ok(err, 'BuildKit built a script whose line failed');
  assert.match(err!.stderr ?? '', /exit code: 1/);
});

test('a line break from --set never becomes an instruction: refused at config time, naming the field', async () => {
  const dir = await project({
    'build.config.yaml': `
variables:
  APPDIR: app
images:
  app:
    base: '${BASE}'
    tags: ['${testTag('injected')}']
    steps:
      - workdir: /opt/\${APPDIR}
`,
  });
  for (const args of [['--dry-run'], []]) {
    const result = await cli(['--set', 'APPDIR=x\nRUN echo INJECTED > /injected', ...args], { cwd: dir });
    assert.is(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      /^build\.config\.yaml:9:18: error: a line break cannot go here: the value is written into one line of the Dockerfile at images\.app\.steps\.0\.workdir/,
    );
  }
  assert.is(
    await docker
      .getImage(testTag('injected'))
      .inspect()
      .catch(() => undefined),
    undefined,
  );
});

/** A directory holding the plan's Dockerfile and the project files its COPY lines name, as the context. */
async function contextOf(config: string, files: Record<string, string>): Promise<{ dir: string; args: Record<string, string> }> {
  const plan = prepareLoaded(parseConfig(config, 'build.config.yaml', '/project'), {}, { USER: 'test' }).plan;
  const image = [...plan.images.values()][0]!;
  const dir = await tempDir('bi-context-');
  await writeFile(path.join(dir, 'Dockerfile'), image.dockerfile);
  for (const entry of image.context) {
    if (entry.kind !== 'path') continue;
    await mkdir(path.dirname(path.join(dir, entry.name)), { recursive: true });
    await writeFile(path.join(dir, entry.name), files[path.relative('/project', entry.path)]!);
  }
  return { dir, args: { ...image.args } };
}

async function buildkit({ dir, args }: { dir: string; args: Record<string, string> }, tag: string): Promise<void> {
  const buildArgs = Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
  await promisify(execFile)('/usr/bin/docker', ['build', '--network', 'none', '--label', `${RUN_LABEL}=${RUN_ID}`, ...buildArgs, '-t', tag, dir], {
    env: { ...process.env, DOCKER_BUILDKIT: '1' },
  });
}

test.run();
