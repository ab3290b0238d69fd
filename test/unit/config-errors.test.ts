import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../pipeline/model/errors.ts';
import { loadConfig } from '../../pipeline/config/load-config.ts';
import { problemsOf, yaml } from '../support/config.ts';

const only = (problems: string[]) => {
  assert.is(problems.length, 1, problems.join('\n'));
  return problems[0]!;
};

test('a YAML syntax error names its line and column', () => {
  const [first] = problemsOf(yaml`
images:
  app:
    base: ubuntu
     tags: [x]
`);
  assert.match(first!, /^3:11 Nested mappings are not allowed/);
});

test('an unclosed quote says so, with a hint', () => {
  const p = only(problemsOf('images:\n  app:\n    base: "ubuntu\n'));
  assert.match(p, /Missing closing "quote \(a quote or bracket is not closed\)/);
});

test('a tab used for indentation is named, with a hint', () => {
  const p = only(problemsOf('images:\n\tapp:\n    base: x\n'));
  assert.match(p, /^2:1 /);
  assert.match(p, /spaces/);
});

test('a duplicate key is an error at the second one', () => {
  const p = only(problemsOf(yaml`
images:
  app:
    base: a
    base: b
    tags: [x]
`));
  assert.match(p, /^4:5 /);
  assert.match(p, /unique|duplicate/i);
});

test('an unknown key points at the key, with a did-you-mean', () => {
  const p = only(problemsOf(yaml`
images:
  app:
    base: ubuntu:16.04
    tgas: [x]
    tags: [x]
`));
  assert.is(p, "4:5 unknown key 'tgas' at images.app (did you mean 'tags'?)");
});

test('each unknown key of a map is named at its own line', () => {
  const problems = problemsOf(yaml`
images:
  app:
    base: ubuntu:16.04
    tags: [x]
    tagz: [y]
    labls: {}
`);
  assert.equal(problems, [
    "5:5 unknown key 'tagz' at images.app (did you mean 'tags'?)",
    "6:5 unknown key 'labls' at images.app (did you mean 'labels'?)",
  ]);
});

test('an unknown step kind is named with the nearest kind', () => {
  const p = only(problemsOf(yaml`
images:
  app:
    base: ubuntu:16.04
    tags: [x]
    steps:
      - cpy: { from: a, to: /a }
`));
  assert.is(p, "6:9 unknown step kind 'cpy' (did you mean 'copy'?)");
});

test('a step with two kinds is refused', () => {
  const p = only(problemsOf(yaml`
images:
  app:
    base: ubuntu:16.04
    tags: [x]
    steps:
      - { run: make, cmd: [a] }
`));
  assert.match(p, /^6:9 a step has exactly one kind/);
});

test('a wrong type names the value and what was expected', () => {
  const p = only(problemsOf(yaml`
images:
  app:
    base: ubuntu:16.04
    tags: x
`));
  assert.match(p, /^4:11 expected array, received string at images.app.tags/);
});

test('a number where a string belongs says to quote it', () => {
  const p = only(problemsOf(yaml`
variables:
  TAG: 1.10
images:
  app: { base: a, tags: [x] }
`));
  assert.match(p, /^2:8 expected a string at variables.TAG \(quote the value/);
});

test('a missing required key is named at its map', () => {
  const p = only(problemsOf(yaml`
images:
  app:
    base: ubuntu:16.04
`));
  assert.match(p, /^3:5 'tags' is missing at images.app/);
});

test('a reference to an image that does not exist has a did-you-mean', () => {
  const p = only(problemsOf(yaml`
images:
  base-image: { base: ubuntu:16.04, tags: [b] }
  app:
    base: { image: base-imag }
    tags: [a]
`));
  assert.is(p, "4:20 image 'base-imag' does not exist (did you mean 'base-image'?)");
});

test('a group member that is no target is an error at the member', () => {
  const p = only(problemsOf(yaml`
images:
  app: { base: a, tags: [x] }
groups:
  all: [app, ap2]
`));
  assert.match(p, /^4:14 target 'ap2' does not exist \(did you mean 'app'\?\)/);
});

test('a dependency cycle is spelled out', () => {
  const p = only(problemsOf(yaml`
images:
  a: { base: { image: c }, tags: [a] }
  b: { base: { image: a }, tags: [b] }
  c: { base: x, dependsOn: [b], tags: [c] }
`));
  assert.match(p, /images depend on each other in a cycle: a → c → b → a/);
});

test('an unknown variable is named where it is used, with a did-you-mean', () => {
  const p = only(problemsOf(yaml`
variables:
  TAG: latest
images:
  app: { base: a, tags: ['repo/app:\${TAGG}'] }
`));
  assert.match(p, /^4:26 unknown variable \$\{TAGG\} \(did you mean 'TAG'\?\)/);
});

test('a path that leaves the project directory is refused', () => {
  const p = only(problemsOf(yaml`
images:
  app:
    base: a
    tags: [x]
    steps:
      - copy: { from: ../secret, to: /s }
`));
  assert.match(p, /^6:23 '..\/secret' leaves the project directory/);
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

test('an invalid tag after interpolation is named', () => {
  const p = only(problemsOf(yaml`
variables:
  REPO: Alice
images:
  app: { base: a, tags: ['\${REPO}/app:1'] }
`));
  assert.match(p, /^4:26 tag 'Alice\/app:1' is not a valid image reference/);
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
  assert.equal(problemsOf(yaml`
images:
  app:
    base: a
    tags: ['repo/app:\${TAGG}']
    steps: [{ cpy: {} }]
`), ["4:12 unknown variable ${TAGG} (declare it under `variables:`)", "5:15 unknown step kind 'cpy' (did you mean 'copy'?)"]);
});

test('an empty file is an error at 1:1 with a hint', () => {
  assert.match(only(problemsOf('')), /^1:1 build.config.yaml is empty/);
  assert.match(only(problemsOf('# only a comment\n')), /is empty/);
});

test('a missing file is a user error naming it, with a hint', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-'));
  const err = await loadConfig('nope.yaml', dir).catch((e: unknown) => e);
  assert.instance(err, UserError);
  assert.match((err as UserError).message, /cannot read nope.yaml: no such file/);
  assert.match((err as UserError).message, /--file/);
  await writeFile(path.join(dir, 'ok.yaml'), 'images: {}\n');
  assert.ok(await loadConfig('ok.yaml', dir));
});

test.run();
