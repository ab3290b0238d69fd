import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cacheFromOption, cacheToOption, parseSize } from '../../pipeline/cli/options.ts';
import { UserError } from '../../pipeline/model/errors.ts';

test('a size is bytes, k, m, g or t (powers of 1024), or off', () => {
  assert.is(parseSize('1024', '--cache-limit'), 1024);
  assert.is(parseSize('4g', '--cache-limit'), 4 * 1024 ** 3);
  assert.is(parseSize('500M', '--cache-limit'), 500 * 1024 ** 2);
  assert.is(parseSize('1.5GiB', '--cache-limit'), 1.5 * 1024 ** 3);
  assert.is(parseSize('off', '--cache-limit'), undefined);
  assert.throws(
    () => parseSize('four', '--cache-limit'),
    (err: unknown) => err instanceof UserError && /--cache-limit four: expected a size/.test(err.message),
  );
});

test("--cache-from takes a reference or buildx's type=registry,ref=; --cache-to inline or none, a registry export refused with why", () => {
  assert.equal(cacheFromOption(['r.test/a:1', 'type=registry,ref=r.test/a:cache']), ['r.test/a:1', 'r.test/a:cache']);
  assert.throws(
    () => cacheFromOption(['type=local,src=/tmp/c']),
    (err: Error) => err instanceof UserError && /--cache-from type=local,src=\/tmp\/c/.test(err.message),
  );
  assert.is(cacheToOption('inline'), true);
  assert.is(cacheToOption('type=inline'), true);
  assert.is(cacheToOption('none'), false);
  assert.is(cacheToOption(undefined), undefined);
  assert.throws(
    () => cacheToOption('type=registry,ref=r.test/a:cache,mode=max'),
    (err: Error) => err instanceof UserError && /not offered yet/.test(err.message),
  );
});

test.run();
