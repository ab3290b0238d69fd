// Config errors that take more than one file to show; single cases live in the corpus
// (test/corpus/config/, run by config-corpus.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../pipeline/model/errors.ts';
import { loadConfig } from '../../pipeline/config/load-config.ts';
import { problemsOf, yaml } from '../support/config.ts';
import { tempDir } from '../support/temp.ts';

const only = (problems: string[]) => {
  assert.is(problems.length, 1, problems.join('\n'));
  return problems[0]!;
};

test('each unknown key of a map is named at its own line', () => {
  const problems = problemsOf(yaml`
images:
  app:
    base: ubuntu:16.04
    tags: [x]
    tagz: [y]
    labls: {}
`);
  assert.equal(problems, ["5:5 unknown key 'tagz' at images.app (did you mean 'tags'?)", "6:5 unknown key 'labls' at images.app (did you mean 'labels'?)"]);
});

test('a path may leave the project through a named source, but not leave that source', () => {
  const text = (from: string) => yaml`
sources:
  px: ../px-installer
images:
  app:
    base: a
    tags: [x]
    steps:
      - copy: { from: '${from}', to: /s }
`;
  assert.equal(problemsOf(text('px:bin/tool')), []);
  assert.match(only(problemsOf(text('px:../../etc'))), /leaves the source 'px'/);
  assert.match(only(problemsOf(text('pz:bin/tool'))), /no source named 'pz' \(did you mean 'px'\?\)/);
});

test('all problems are reported at once', () => {
  const problems = problemsOf(yaml`
images:
  app:
    base: a
    tgas: [x]
  other:
    base: b
    tags: [y]
    steps: [{ bogus: 1 }]
`);
  // 'tags' is not also said to be missing: the did-you-mean of 'tgas' says so.
  assert.is(problems.length, 2, problems.join('\n'));
});

test('an unknown variable and a schema problem come out together, in file order', () => {
  assert.equal(
    problemsOf(yaml`
images:
  app:
    base: a
    tags: ['repo/app:\${TAGG}']
    steps: [{ cpy: {} }]
`),
    ['4:12 unknown variable ${TAGG} (declare it under `variables:`)', "5:15 unknown step kind 'cpy' (did you mean 'copy'?)"],
  );
});

test('a missing file is a user error naming it, with a hint', async () => {
  const dir = await tempDir('bi-');
  const err = await loadConfig('nope.yaml', dir).catch((e: unknown) => e);
  assert.instance(err, UserError);
  assert.match((err as UserError).message, /cannot read nope.yaml: no such file/);
  assert.match((err as UserError).message, /--file/);
  await writeFile(path.join(dir, 'ok.yaml'), 'images: {}\n');
  assert.ok(await loadConfig('ok.yaml', dir));
});

test('a long list of problems stops at 50, in file order, and says how many more there were', () => {
  const keys = Array.from({ length: 1000 }, (_, i) => `    k${i}: 1`).join('\n');
  const problems = problemsOf(`images:\n  app:\n    base: a\n    tags: [x]\n${keys}\n`);
  assert.is(problems.length, 51);
  assert.is(
    problems[0],
    "5:5 unknown key 'k0' at images.app (expected one of: description, base, tags, deployTags, aliases, dependsOn, version, labels, args, steps, platforms, cache, attestations)",
  );
  assert.match(problems[49]!, /^54:5 unknown key 'k49' /);
  assert.is(problems[50], '950 more problems are not listed (fix the ones above and run again: the rest are counted, not shown)');
});

test('a config larger than 1 MiB (a million unknown keys) is refused at once, before it is parsed', async () => {
  const dir = await tempDir('bi-');
  const keys = Array.from({ length: 1_000_000 }, (_, i) => `    k${i}: 1`).join('\n');
  await writeFile(path.join(dir, 'huge.yaml'), `images:\n  app:\n    base: a\n    tags: [x]\n${keys}\n`);
  const started = performance.now();
  const err = await loadConfig('huge.yaml', dir).catch((e: unknown) => e);
  const ms = performance.now() - started;
  assert.instance(err, UserError);
  assert.equal((err as UserError).problems.length, 1);
  assert.is((err as UserError).problems[0]!.message, 'huge.yaml is 14.2 MiB: a config is at most 1 MiB');
  assert.equal((err as UserError).problems[0]!.at, { file: 'huge.yaml', line: 1, col: 1 });
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
});

test('a reproducible command is a list: under sh -c the program that decides its outputs would be the shell', () => {
  const text = (run: string) => yaml`
images:
  app:
    base: a
    tags: [x]
    steps:
      - command: { run: ${run}, outputs: [bin/app], reproducible: true }
`;
  assert.equal(problemsOf(text('[go, build, -o, bin/app]')), []);
  assert.match(only(problemsOf(text("'go build -o bin/app'"))), /^6:\d+ a reproducible command is a list/);
});

test.run();
