// Secrets: mounted by the run steps that name them, read only when a build asks, never by value in an error.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { secretReader } from '../../pipeline/run/secrets.ts';
import { prepareText, yaml } from '../support/config.ts';
import { tempDir } from '../support/temp.ts';

test('a run step that names secrets mounts each for that RUN only, and the image offers only those', () => {
  const { plan } = prepareText(yaml`
secrets:
  npm_token: { env: NPM_TOKEN }
  netrc: { file: ~/.netrc }
images:
  app:
    base: node:20
    tags: [app]
    steps:
      - run: { command: 'npm ci', secrets: [npm_token] }
      - run: echo done
`);
  const app = plan.images.get('app')!;
  assert.equal(app.secrets, ['npm_token']);
  const runs = app.dockerfile.split('\n').filter((l) => l.startsWith('RUN'));
  assert.equal(runs, ['RUN --mount=type=secret,id=npm_token,required=true ["/bin/sh", "-c", "npm ci"]', 'RUN ["/bin/sh", "-c", "echo done"]']);
});

test('a secret is read from its variable or its file when asked, and a missing one is named without a value', async () => {
  const dir = await tempDir('bi-secrets-');
  await writeFile(path.join(dir, 'token.txt'), 'file-value');
  const read = secretReader({ fromEnv: { env: 'TOKEN' }, fromFile: { file: 'token.txt' }, unset: { env: 'NOT_SET' }, gone: { file: 'missing.txt' } }, dir, {
    TOKEN: 'env-value',
  });
  assert.is((await read('fromEnv')()).toString(), 'env-value');
  assert.is((await read('fromFile')()).toString(), 'file-value');
  await read('unset')().then(
    () => assert.unreachable(),
    (err: Error) => assert.match(err.message, /the secret 'unset' comes from \$NOT_SET, which is not set/),
  );
  await read('gone')().then(
    () => assert.unreachable(),
    (err: Error) => assert.match(err.message, /the secret 'gone' cannot be read from .*missing.txt \(ENOENT\)/),
  );
});

test.run();
