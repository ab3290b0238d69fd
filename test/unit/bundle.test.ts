// What every run loads of the bundle (npm run build): main.js and the command chunk it always imports, with
// their static imports. A run that finds everything up to date remembers its prepared config and never needs
// the schema: zod (a ~390 KB chunk, some 15 ms to compile) must not be among them. A zod-free export that
// came to live beside a schema once pulled it into every run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../../dist/pipeline/cli/', import.meta.url));

/** The file and everything it imports statically (`from "./x.js"`, not `import("./x.js")`). */
function staticClosure(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const [, imported] of readFileSync(path.join(DIST, file), 'utf8').matchAll(/\bfrom\s+"\.\/([^"]+\.js)"/g)) staticClosure(imported!, seen);
  return seen;
}

test('a run loads no zod until it must read a config afresh', () => {
  const main = readFileSync(path.join(DIST, 'main.js'), 'utf8');
  const command = /import\("\.\/(command-[A-Z0-9]+\.js)"\)/.exec(main)?.[1];
  assert.ok(command, 'main.js imports the command chunk (npm run build first)');
  const always = new Set([...staticClosure('main.js'), ...staticClosure(command)]);
  const withZod = [...always].filter((file) => readFileSync(path.join(DIST, file), 'utf8').includes('node_modules/zod/'));
  assert.equal(withZod, []);
});

test.run();
