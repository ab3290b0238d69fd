// Which cache a build exports and which directories it reads: the command line over the config, and the
// refusals where the engine cannot (a graphdriver store, the classic builder), named at the config's field.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../../pipeline/model/errors.ts';
import { cacheUse } from '../../pipeline/run/cache-exports.ts';
import type { ImagePlan } from '../../pipeline/plan/plan.ts';

const at = { file: 'build.config.yaml', line: 7, col: 14 };
const image = (cache: Partial<ImagePlan['cache']>) => ({ name: 'app', cache: { from: [], fromDirs: [], inline: false, ...cache } }) as unknown as ImagePlan;
const engine = (builder: 'buildkit' | 'classic', ids: 'manifest' | 'config') => ({
  builder: { name: builder } as never,
  images: { imageIds: async () => ids } as never,
});
const containerd = engine('buildkit', 'manifest');

test("the config's local export and directories; --cache-to (any form) replaces the config's export, --cache-from adds directories", async () => {
  const planned = image({ local: { dest: '/p/.cache', mode: 'max', at }, fromDirs: [{ src: '/p/.cache', at }] });
  assert.equal(await cacheUse(planned, containerd, {}), { local: { dest: '/p/.cache', mode: 'max' }, fromDirs: ['/p/.cache'] });
  assert.equal(await cacheUse(planned, containerd, { inlineCache: true }), { fromDirs: ['/p/.cache'] });
  assert.equal(await cacheUse(planned, containerd, { inlineCache: false, registryCache: { ref: 'r/a:c', mode: 'min' } }), {
    registry: { ref: 'r/a:c', mode: 'min' },
    fromDirs: ['/p/.cache'],
  });
  assert.equal(
    await cacheUse(planned, containerd, { inlineCache: false, localCache: { dest: '/tmp/c', mode: 'min' }, cacheFromDirs: ['/tmp/c', '/p/.cache'] }),
    {
      local: { dest: '/tmp/c', mode: 'min' },
      fromDirs: ['/p/.cache', '/tmp/c'],
    },
  );
  assert.equal(await cacheUse(image({}), engine('classic', 'config'), {}), { fromDirs: [] }, 'nothing asked: nothing refused');
});

test('a graphdriver engine refuses exports, not directories read; the classic builder both, at the config field or naming the option', async () => {
  const refused = async (promise: Promise<unknown>, words: RegExp, where?: typeof at) => {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof UserError, String(err));
    assert.match(err.problems[0]!.message, words);
    assert.equal(err.problems[0]!.at, where);
  };
  const graphdriver = engine('buildkit', 'config');
  await refused(
    cacheUse(image({ local: { dest: '/p/c', mode: 'min', at } }), graphdriver, {}),
    /^app: cache\.to: \{type: local\}: .*exports a cache to a directory only from the containerd image store/,
    at,
  );
  await refused(
    cacheUse(image({}), graphdriver, { inlineCache: false, registryCache: { ref: 'r/a:c', mode: 'max' } }),
    /--cache-to type=registry,ref=r\/a:c: .*exports a registry cache only/,
  );
  assert.equal(await cacheUse(image({ fromDirs: [{ src: '/p/c', at }] }), graphdriver, { cacheFromDirs: ['/tmp/c'] }), { fromDirs: ['/p/c', '/tmp/c'] });
  const classic = engine('classic', 'manifest');
  await refused(
    cacheUse(image({}), classic, { inlineCache: false, localCache: { dest: '/tmp/c', mode: 'min' } }),
    /--cache-to type=local,dest=\/tmp\/c: the classic builder exports no cache and reads no cache directory/,
  );
  await refused(cacheUse(image({ fromDirs: [{ src: '/p/c', at }] }), classic, {}), /cache\.from: \{type: local, src: \/p\/c\}: the classic builder/, at);
});

test.run();
