// The corpus of broken configs: test/corpus/config/<case>.yaml beside <case>.expected, which holds the
// exit code on its first line and then the first lines of stderr, exactly. Each config goes through what
// the CLI runs before it touches an engine (prepare, then the targets of a bare command line) and its
// error is rendered by the CLI's formatter. A new case is two files; the README says how.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT, formatProblem, RunError, UserError } from '../../pipeline/model/errors.ts';
import { prepare } from '../../pipeline/config/prepare.ts';
import { planPhases } from '../../pipeline/plan/phases.ts';

const CORPUS = fileURLToPath(new URL('../corpus/config/', import.meta.url));
// Fixed, so that defaults such as ${USER} give the same message on every machine.
const ENV = { USER: 'corpus' };
const NOW = new Date('2026-01-01T00:00:00Z');

/** What the CLI would print on stderr, and its exit code, for `build-images --dry-run -f <file>`. */
async function runCase(file: string): Promise<{ code: number; stderr: string }> {
  try {
    const prepared = await prepare({ file, sets: {}, env: ENV, cwd: CORPUS, now: NOW });
    planPhases(prepared.graph, []);
    return { code: EXIT.ok, stderr: '' };
  } catch (err) {
    if (err instanceof UserError) return { code: EXIT.usage, stderr: `${err.problems.map(formatProblem).join('\n')}\n` };
    if (err instanceof RunError) return { code: EXIT.failed, stderr: `${formatProblem({ message: err.message, hint: err.hint })}\n` };
    return { code: EXIT.failed, stderr: `internal error (a bug in build-images, please report it):\n${(err as Error)?.stack ?? String(err)}\n` };
  }
}

const cases = readdirSync(CORPUS)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

test('every case has its expected outcome beside it', () => {
  const missing = cases.filter((f) => !readdirSync(CORPUS).includes(f.replace(/\.yaml$/, '.expected')));
  assert.equal(missing, []);
});

for (const file of cases) {
  test(file.replace(/\.yaml$/, ''), async () => {
    const [code, ...lines] = readFileSync(path.join(CORPUS, file.replace(/\.yaml$/, '.expected')), 'utf8')
      .replace(/\n$/, '')
      .split('\n');
    const actual = await runCase(file);
    assert.is(actual.stderr.split('\n').slice(0, lines.length).join('\n'), lines.join('\n'));
    assert.is(actual.code, Number(code));
  });
}

test.run();
