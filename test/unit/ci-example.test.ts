// The README's worked CI example, a GitHub Actions workflow and a GitLab job for this repository's images:
// each parses, every build-images command in it is one the command line accepts (options, and targets of
// build.config.yaml), the deploy has the variables the config's credentials name, a login comes first, and
// the files the commands write are kept as artifacts.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { keyValues, parseOptions } from '../../pipeline/cli/options.ts';
import { ciKind } from '../../pipeline/cli/options.ts';
import { prepare } from '../../pipeline/config/prepare.ts';
import { planPhases } from '../../pipeline/plan/phases.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The fenced YAML block whose first line is `# <name>`. */
function block(name: string): unknown {
  const start = README.indexOf(`\`\`\`yaml\n# ${name}\n`);
  assert.ok(start >= 0, `the README has no block for ${name}`);
  const body = README.slice(README.indexOf('\n', start) + 1, README.indexOf('\n```', start));
  return parse(body);
}

/** Shell words of a command line, quotes removed (enough for the example's lines). */
function words(line: string): string[] {
  const out: string[] = [];
  const pattern = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const match of line.matchAll(pattern)) out.push(match[1] ?? match[2] ?? match[3]!);
  return out;
}

/** The build-images commands a script runs; GitHub's ${{ }} expressions stand for the value they give. */
function buildImagesCommands(script: string): string[][] {
  const text = script.replace(/\$\{\{[^}]*\}\}/g, 'placeholder.example').replace(/\\\n/g, ' ');
  return text
    .split(/\n|&&|\|\||;/)
    .map((part) => part.trim())
    .filter((part) => /^npx build-images(\s|$)/.test(part))
    .map((part) => words(part).slice(2));
}

interface Checked {
  deploys: number;
  written: string[];
}

async function check(commands: { args: string[]; env: Record<string, unknown> }[]): Promise<Checked> {
  assert.ok(commands.length >= 1, 'a build that deploys');
  const checked: Checked = { deploys: 0, written: [] };
  for (const { args, env } of commands) {
    const { values, positionals } = parseOptions(args);
    assert.not.ok(values.help || values['dry-run'], `${args.join(' ')}: a real run`);
    ciKind(values.ci, {});
    const prepared = await prepare({ file: path.join(ROOT, 'build.config.yaml'), sets: keyValues(values.set, '--set'), env: { PX_SRC: 'px-installer' } });
    const { selected } = planPhases(prepared.graph, positionals);
    assert.ok(selected.images.includes('cm-container') && selected.images.includes('px-oci-mon'), args.join(' '));
    if (values['metadata-file']) checked.written.push(values['metadata-file']);
    if (values.junit) checked.written.push(values.junit);
    if (positionals.includes('deploy')) {
      checked.deploys++;
      for (const c of prepared.credentials) {
        assert.ok(c.usernameVariable in env && c.passwordVariable in env, `the deploy has ${c.usernameVariable} and ${c.passwordVariable}`);
      }
    }
  }
  assert.is(checked.deploys, 1);
  return checked;
}

test('the GitHub Actions workflow: logs in, builds, deploys, sums up, keeps the metadata as an artifact', async () => {
  const workflow = block('.github/workflows/images.yml') as {
    jobs: Record<
      string,
      { env?: Record<string, unknown>; steps: { name?: string; run?: string; uses?: string; env?: Record<string, unknown>; with?: Record<string, unknown> }[] }
    >;
  };
  const [job] = Object.values(workflow.jobs);
  assert.ok(job, 'one job');
  const runs = job.steps.flatMap((step, i) => buildImagesCommands(step.run ?? '').map((args) => ({ i, args, env: { ...job.env, ...step.env } })));
  const checked = await check(runs);
  const index = (test: (s: (typeof job.steps)[number]) => boolean) => job.steps.findIndex(test);
  const login = index((s) => /docker login/.test(s.run ?? ''));
  const deploy = runs.find((r) => r.args.includes('deploy'))!.i;
  assert.ok(login >= 0 && login < deploy, 'docker login before the deploy');
  assert.ok(index((s) => s.name === 'summary' && /GITHUB_STEP_SUMMARY/.test(s.run ?? '')) > deploy, 'a summary after it');
  const upload = job.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'));
  assert.ok(upload, 'an artifact');
  const paths = String(upload.with?.['path']).split('\n').filter(Boolean);
  for (const file of checked.written) assert.ok(paths.includes(file), `${file} is kept`);
  assert.ok(paths.includes('images.json'));
  const report = job.steps.find((s) => s.uses?.startsWith('mikepenz/action-junit-report@'));
  assert.ok(report && checked.written.includes(String(report.with?.['report_paths'])), 'the JUnit report is shown');
});

test('the GitLab job: logs in, builds, deploys, keeps the metadata and the JUnit report', async () => {
  const pipeline = block('.gitlab-ci.yml') as Record<
    string,
    {
      variables?: Record<string, unknown>;
      before_script?: string[];
      script: string[];
      after_script?: string[];
      artifacts: { paths: string[]; reports: { junit: string } };
    }
  >;
  const [job] = Object.values(pipeline);
  assert.ok(job);
  const lines = [...(job.before_script ?? []), ...job.script, ...(job.after_script ?? [])];
  // GitLab passes its CI/CD variables (the secrets among them) as the environment: the job names the others.
  const env = { ...job.variables, DOCKER_HUB_USER: 'a CI/CD variable', DOCKER_HUB_PASSWD: 'a masked CI/CD variable' };
  const runs = lines.flatMap((line) => buildImagesCommands(line).map((args) => ({ args, env })));
  const checked = await check(runs);
  const login = lines.findIndex((l) => /docker login/.test(l));
  const deploy = lines.findIndex((l) => buildImagesCommands(l).some((args) => args.includes('deploy')));
  assert.ok(login >= 0 && login < deploy, 'docker login before the deploy');
  for (const file of checked.written) assert.ok(job.artifacts.paths.includes(file), `${file} is kept`);
  assert.ok(checked.written.includes(job.artifacts.reports.junit), 'the JUnit report is the one a command writes');
});

test('a command the CLI would refuse is caught', async () => {
  assert.throws(() => parseOptions(words('--metadata-fil images.json deploy')));
  const prepared = await prepare({ file: path.join(ROOT, 'build.config.yaml'), sets: {}, env: {} });
  assert.throws(() => planPhases(prepared.graph, ['px-containers']));
});

test.run();
