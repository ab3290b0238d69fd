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

test("--cache-from takes a reference, buildx's type=registry,ref= or type=local,src=DIR (from where it runs)", () => {
  assert.equal(cacheFromOption(['r.test/a:1', 'type=registry,ref=r.test/a:cache', 'type=local,src=c/d', 'type=local,src=/tmp/c'], '/work/p'), {
    refs: ['r.test/a:1', 'r.test/a:cache'],
    dirs: ['/work/p/c/d', '/tmp/c'],
  });
  const refused = (item: string, words: RegExp) =>
    assert.throws(
      () => cacheFromOption([item]),
      (err: Error) => err instanceof UserError && err.problems[0]!.message.startsWith(`--cache-from ${item}: `) && words.test(err.message),
    );
  refused('type=local', /needs src=DIR/);
  refused('type=local,src=/tmp/c,digest=sha256:' + 'a'.repeat(64), /digest: not offered \(src is\)/);
  refused('type=gha,url=x', /expected an image reference, type=registry,ref=REF or type=local,src=DIR/);
});

test('--cache-to inline, none, type=registry,ref=,mode= or type=local,dest=,mode=; anything else refused with why', () => {
  assert.equal(cacheToOption('inline'), { inline: true });
  assert.equal(cacheToOption('type=inline'), { inline: true });
  assert.equal(cacheToOption('none'), { inline: false });
  assert.is(cacheToOption(undefined), undefined);
  assert.equal(cacheToOption('type=registry,ref=r.test/a:cache,mode=max'), { inline: false, registry: { ref: 'r.test/a:cache', mode: 'max' } });
  assert.equal(cacheToOption('type=registry,ref=r.test/a:cache'), { inline: false, registry: { ref: 'r.test/a:cache', mode: 'min' } });
  assert.equal(cacheToOption('type=local,dest=.cache/a,mode=max', '/work/p'), { inline: false, local: { dest: '/work/p/.cache/a', mode: 'max' } });
  assert.equal(cacheToOption('type=local,dest=/tmp/c', '/work/p'), { inline: false, local: { dest: '/tmp/c', mode: 'min' } });
  const refused = (item: string, words: RegExp) =>
    assert.throws(
      () => cacheToOption(item),
      (err: Error) => err instanceof UserError && err.problems[0]!.message.startsWith(`--cache-to ${item}: `) && words.test(err.message),
    );
  refused('type=registry', /needs ref=/);
  refused('type=registry,ref=r.test/A:cache', /not a valid image reference/);
  refused('type=registry,ref=r.test/a@sha256:' + 'a'.repeat(64), /not a valid image reference|not a digest/);
  refused('type=registry,ref=r.test/a:cache,mode=all', /mode=all: expected min or max/);
  refused('type=registry,ref=r.test/a:cache,compression=zstd', /compression: not offered \(ref and mode are\)/);
  refused('type=registry,ref=r.test/a:cache,dest=/tmp/c', /dest: not offered/);
  refused('type=local', /needs dest=DIR/);
  refused('type=local,dest=/tmp/c,mode=all', /mode=all: expected min or max/);
  refused('type=local,dest=/tmp/c,tag=x', /tag: not offered \(dest and mode are\)/);
  refused('type=gha', /expected inline, none, type=registry.* or type=local,dest=DIR/);
});

test.run();
