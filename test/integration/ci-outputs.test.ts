// What a CI job reads, through the real command line, a real engine and a real registry with basic auth: the
// metadata file's digests are the registry's, the JUnit report is valid, and in GitHub Actions each image is
// a group, failures are annotations at their line, the job summary is written, and the secrets are masked
// before anything else and appear nowhere else, although a build prints one.
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { validateXML } from 'xmllint-wasm';
import { cli, project } from '../support/cli.ts';
import { cleanup, docker, ensureStandIns, requireEngine, RUN_ID } from '../support/engine.ts';
import { PASSWORD, startRegistry, USER, type Registry } from '../support/registry.ts';

const XSD = readFileSync(fileURLToPath(new URL('../fixtures/junit/junit.xsd', import.meta.url)), 'utf8');
const TOKEN = 'tok-3f9a1c7e-not-for-layers';

const config = `
secrets:
  token: { env: BI_TEST_TOKEN }
credentials:
  - { registry: '\${REG}', usernameVariable: DOCKER_HUB_USER, passwordVariable: DOCKER_HUB_PASSWD }
variables:
  REG: registry
  FLAVOR: basic
images:
  base:
    base: ubuntu:16.04
    tags: ['\${REG}/bi-${RUN_ID}/base:1']
    deployTags: ['\${REG}/bi-${RUN_ID}/base:1', '\${REG}/bi-${RUN_ID}/base:stable']
    steps:
      - run: { command: 'echo "the token is $(cat /run/secrets/token) (\${FLAVOR})"', secrets: [token] }
  app:
    base: { image: base }
    tags: ['\${REG}/bi-${RUN_ID}/app:1']
    steps:
      - run: echo app
  broken:
    base: ubuntu:16.04
    tags: ['bi-test-${RUN_ID}/broken:1']
    steps:
      - command: { name: broken/cc, outputs: [cc.out], run: 'echo "::error::injected by a build"; echo "cc: error: no input" >&2; exit 3' }
  after-broken:
    base: { image: broken }
    tags: ['bi-test-${RUN_ID}/after-broken:1']
  bad-run:
    base: ubuntu:16.04
    tags: ['bi-test-${RUN_ID}/bad-run:1']
    steps:
      - run: echo fine
      - run: 'echo failing; exit 4'
`;

type Metadata = Record<string, Record<string, unknown>>;
const targets = ['base', 'app', 'broken', 'after-broken', 'bad-run', 'deploy'];

/** The registry tests, against Debian's registry with basic auth and behind a bearer-token realm. */
function registrySuite(token: boolean) {
  const test = suite(`CI outputs (${token ? 'bearer-token realm' : 'basic auth'})`);
  let registry: Registry;
  let dir = '';

  test.before(async () => {
    await requireEngine();
    await ensureStandIns();
    registry = await startRegistry({ token });
    dir = await project({ 'build.config.yaml': config });
  });
  test.after(async () => {
    await registry.stop();
    await cleanup();
  });

  /** The registry's digest for a tag, as a client that reads schema 2 and OCI manifests is told. */
  async function registryDigest(tag: string): Promise<string | undefined> {
    const [, repository, reference] = /^[^/]+\/(.+):([^:]+)$/.exec(tag)!;
    const response = await fetch(`http://${registry.address}/v2/${repository}/manifests/${reference}`, {
      method: 'HEAD',
      headers: {
        authorization: registry.authorization(`/v2/${repository}/manifests/${reference}`),
        accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json',
      },
    });
    return response.ok ? (response.headers.get('docker-content-digest') ?? undefined) : undefined;
  }

  function run(extra: string[], name: string) {
    const files = { metadata: path.join(dir, `${name}.json`), junit: path.join(dir, `${name}.xml`), summary: path.join(dir, `${name}.md`) };
    const result = cli(
      [
        '--verbose',
        '--keep-going',
        '--push-partial',
        '--metadata-file',
        files.metadata,
        '--junit',
        files.junit,
        '--set',
        `REG=${registry.address}`,
        '--set',
        `FLAVOR=${token ? 'token' : 'basic'}`,
        ...extra,
      ],
      {
        cwd: dir,
        env: {
          GITHUB_ACTIONS: 'true',
          GITHUB_WORKSPACE: dir,
          GITHUB_STEP_SUMMARY: files.summary,
          DOCKER_HUB_USER: USER,
          DOCKER_HUB_PASSWD: PASSWORD,
          BI_TEST_TOKEN: TOKEN,
          DOCKER_CONFIG: path.join(dir, 'none'),
          BUILD_IMAGES_BUILDER: 'buildkit',
        },
      },
    );
    return { result, files };
  }

  test('a failing run: metadata with the registry digests, a valid JUnit report, groups, annotations, a summary, and no secret anywhere', async () => {
    const { result: running, files } = run(targets, 'first');
    const result = await running;
    assert.is(result.code, 1, result.stdout + result.stderr);

    const metadata = JSON.parse(await readFile(files.metadata, 'utf8')) as Metadata;
    const base = metadata['base']!;
    assert.is(base['build-images.status'], 'built');
    const pushed = base['build-images.pushed'] as { tag: string; status: string; digest?: string }[];
    assert.equal(
      pushed.map((p) => [p.tag, p.status]),
      [
        [`${registry.address}/bi-${RUN_ID}/base:1`, 'pushed'],
        // Its manifest, put under the second tag by the tool: no second push.
        [`${registry.address}/bi-${RUN_ID}/base:stable`, 'tagged'],
      ],
    );
    for (const p of pushed) assert.is(p.digest, await registryDigest(p.tag), `${p.tag}: the metadata's digest is the registry's`);
    if (registry.tokens) {
      const scopes = registry.tokens.asked().flat();
      assert.ok(
        scopes.some((scope) => scope.startsWith(`repository:bi-${RUN_ID}/base:`) && scope.includes('push')),
        `pushed with a token of the realm: ${scopes.join(' ')}`,
      );
    }
    assert.is(base['containerimage.digest'], await registryDigest(`${registry.address}/bi-${RUN_ID}/base:1`));
    assert.is(base['image.name'], pushed.map((p) => p.tag).join(','));
    assert.match(String(base['build-images.image-id']), /^sha256:[0-9a-f]{64}$/);
    assert.is((base['build-images.base'] as { ref: string }).ref, 'ubuntu:16.04');
    assert.match(String((base['build-images.base'] as { id: string }).id), /^sha256:/);
    const app = metadata['app']!;
    assert.is(app['containerimage.digest'], await registryDigest(`${registry.address}/bi-${RUN_ID}/app:1`));
    assert.equal(app['build-images.base'], {
      ref: `${registry.address}/bi-${RUN_ID}/base:1`,
      id: base['build-images.image-id'],
      digest: base['containerimage.digest'],
    });
    assert.is(metadata['broken']!['build-images.status'], 'failed');
    assert.match(String(metadata['broken']!['build-images.reason']), /exited with code 3/);
    assert.is(metadata['after-broken']!['build-images.status'], 'skipped');
    assert.is(metadata['after-broken']!['build-images.reason'], 'not built: broken failed');
    assert.is((metadata['build-images.run'] as { status: string }).status, 'failed');

    const junit = await readFile(files.junit, 'utf8');
    const validation = await validateXML({ xml: [{ fileName: 'junit.xml', contents: junit }], schema: [XSD] });
    assert.ok(validation.valid, validation.rawOutput + junit);
    assert.match(junit, /<testcase name="base" classname="build-images.images" time="\d+\.\d{3}"\/>/);
    assert.match(
      junit,
      /<testcase name="broken" classname="build-images.images" time="[\d.]+">\n\s*<failure message="[^"]*exited with code 3[^"]*" type="build failed">[^<]*cc: error: no input/,
    );
    assert.match(junit, /<testcase name="after-broken" [^>]*>\n\s*<skipped message="not built: broken failed"\/>/);
    assert.match(junit, /<testcase name="broken\/cc" classname="build-images.commands.broken" [^>]*>\n\s*<failure /);

    const lines = result.stdout.split('\n');
    // The masks come first, before any line that could hold what they mask.
    assert.equal(lines.slice(0, 2).sort(), [`::add-mask::${PASSWORD}`, `::add-mask::${TOKEN}`].sort());
    assert.ok(lines.includes('::group::base') && lines.includes('::group::broken'), result.stdout);
    assert.is(lines.filter((l) => l.startsWith('::group::')).length, lines.filter((l) => l === '::endgroup::').length);
    assert.ok(
      lines.some((l) => /the token is \*\*\*/.test(l)),
      'the build printed the secret: it is shown redacted',
    );
    assert.not.ok(
      lines.some((l) => l.trimStart().startsWith('::error::injected')),
      'a build cannot write a workflow command',
    );
    const line = config.split('\n').findIndex((l) => l.includes('name: broken/cc')) + 1;
    assert.ok(
      lines.some((l) => l.startsWith(`::error file=build.config.yaml,line=${line},col=9,title=build-images%3A broken/cc failed::exited with code 3`)),
      result.stdout,
    );

    // A failing RUN: at its step, not at the image; the image that failed through its host command: once, at the command.
    const runLine = config.split('\n').findIndex((l) => l.includes("exit 4'")) + 1;
    assert.ok(
      lines.some((l) => l.startsWith(`::error file=build.config.yaml,line=${runLine},col=9,title=build-images%3A bad-run failed::`)),
      result.stdout,
    );
    assert.not.ok(lines.some((l) => l.startsWith('::error') && l.includes('title=build-images%3A broken failed')));
    assert.is(metadata['bad-run']!['build-images.status'], 'failed');

    const summary = await readFile(files.summary, 'utf8');
    assert.match(summary, /^### build-images: FAILED\n/);
    assert.match(summary, /\| image \| status \| time \| reason \| tags and digests \|/);
    assert.ok(summary.includes(`<code>${registry.address}/bi-${RUN_ID}/base:1</code> pushed <code>${String(base['containerimage.digest'])}</code>`), summary);
    assert.match(summary, /\| <code>after-broken<\/code> \| skipped \|/);

    for (const [where, text] of [
      ['stderr', result.stderr],
      ['metadata', JSON.stringify(metadata)],
      ['junit', junit],
      ['summary', summary],
    ] as const) {
      assert.not.ok(text.includes(TOKEN) || text.includes(PASSWORD), `a secret is in ${where}`);
    }
    for (const secret of [TOKEN, PASSWORD]) assert.is(result.stdout.split(secret).length - 1, 1, `${secret} only in its mask`);
  });

  test('nothing changed: up to date, the tags already in the registry, with the same digests', async () => {
    const { result: running, files } = run(['base', 'deploy'], 'second');
    const result = await running;
    assert.is(result.code, 0, result.stdout + result.stderr);
    const metadata = JSON.parse(await readFile(files.metadata, 'utf8')) as Metadata;
    const base = metadata['base']!;
    assert.is(base['build-images.status'], 'up to date');
    const pushed = base['build-images.pushed'] as { tag: string; status: string; digest?: string }[];
    assert.equal(
      pushed.map((p) => p.status),
      ['present', 'present'],
    );
    for (const p of pushed) assert.is(p.digest, await registryDigest(p.tag));
    assert.is((metadata['build-images.run'] as { status: string }).status, 'ok');
  });

  test('a fresh runner (the engine has no image of it): up to date in the registry, with its digest there', async () => {
    for (const tag of ['1', 'stable']) await docker.getImage(`${registry.address}/bi-${RUN_ID}/base:${tag}`).remove({ force: true });
    const { result: running, files } = run(['base', 'deploy'], 'fresh');
    const result = await running;
    assert.is(result.code, 0, result.stdout + result.stderr);
    const base = (JSON.parse(await readFile(files.metadata, 'utf8')) as Metadata)['base']!;
    assert.is(base['build-images.status'], 'up to date in registry', result.stdout);
    const digest = await registryDigest(`${registry.address}/bi-${RUN_ID}/base:1`);
    assert.is(base['containerimage.digest'], digest);
    assert.equal(base['build-images.registry'], { name: registry.address, digest });
    for (const p of base['build-images.pushed'] as { tag: string; digest?: string }[]) assert.is(p.digest, await registryDigest(p.tag));
    assert.match(await readFile(files.summary, 'utf8'), /\| <code>base<\/code> \| up to date in registry \|/);
  });

  test.run();
}

registrySuite(false);
registrySuite(true);

const test = suite('CI outputs: config errors and interrupts');
test.before(async () => {
  await requireEngine();
  await ensureStandIns();
});
test.after(cleanup);

test('a config error in GitHub Actions: an annotation at its line, and in the metadata file and the summary', async () => {
  const broken = await project({ 'build.config.yaml': 'images:\n  a:\n    base: alpine\n    tags: [a]\n    stpes: []\n' });
  const result = await cli(['--metadata-file', 'm.json'], {
    cwd: broken,
    env: { GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: path.dirname(broken), GITHUB_STEP_SUMMARY: path.join(broken, 's.md') },
  });
  assert.is(result.code, 2);
  assert.ok(
    result.stderr.includes(`::error file=${path.basename(broken)}/build.config.yaml,line=5,col=5,title=build-images%3A config error::unknown key 'stpes'`),
    result.stderr,
  );
  const metadata = JSON.parse(await readFile(path.join(broken, 'm.json'), 'utf8')) as Metadata;
  assert.equal((metadata['build-images.run'] as { problems: { at: string }[] }).problems[0]!.at, 'build.config.yaml:5:5');
  assert.match(await readFile(path.join(broken, 's.md'), 'utf8'), /Config errors:/);
});

test('Ctrl-C twice (the second exits at once): both files are still written whole, the run interrupted', async () => {
  const slow = await project({
    'build.config.yaml': `images:\n  slow:\n    base: ubuntu:16.04\n    tags: ['bi-test-${RUN_ID}/slow:1']\n    steps:\n      - run: sleep 30\n  later:\n    base: { image: slow }\n    tags: ['bi-test-${RUN_ID}/later:1']\n`,
  });
  let sent = false;
  const started = Date.now();
  const result = await cli(['--no-cache', '--metadata-file', 'm.json', '--junit', 'j.xml'], {
    cwd: slow,
    onLine: (line, child) => {
      if (sent || !/^slow: building/.test(line)) return;
      sent = true;
      child.kill('SIGINT');
      child.kill('SIGINT');
    },
  });
  assert.is(result.code, 130, result.stdout + result.stderr);
  assert.ok(Date.now() - started < 20_000, 'the build was not waited for');
  const metadata = JSON.parse(await readFile(path.join(slow, 'm.json'), 'utf8')) as Metadata;
  assert.is((metadata['build-images.run'] as { status: string }).status, 'interrupted');
  assert.is(metadata['slow']!['build-images.status'], 'failed');
  assert.match(String(metadata['slow']!['build-images.reason']), /interrupted/);
  assert.is(metadata['later']!['build-images.status'], 'skipped');
  const junit = await readFile(path.join(slow, 'j.xml'), 'utf8');
  assert.ok((await validateXML({ xml: [{ fileName: 'j.xml', contents: junit }], schema: [XSD] })).valid, junit);
  assert.equal(
    (await readdir(slow)).filter((f) => f.endsWith('.tmp')),
    [],
    'no temporary file left',
  );
});

test.run();
