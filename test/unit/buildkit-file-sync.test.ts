import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  compareWalkOrder,
  followed,
  goFileMode,
  listing,
  metadataList,
  modTimeNs,
  statOf,
  type SessionFile,
} from '../../pipeline/engine/buildkit/file-sync.ts';
import { seededRandom } from '../support/random.ts';

const file = (name: string, extra: Partial<SessionFile> = {}): SessionFile => ({ name, type: 'file', mode: 0o644, size: 1, data: Buffer.from('x'), ...extra });

test('entries go in filepath.Walk order, component by component', () => {
  const names = ['a.txt', 'a/b', 'a', 'B', 'a/b/c', 'a-b'].sort(compareWalkOrder);
  assert.equal(names, ['B', 'a', 'a/b', 'a/b/c', 'a-b', 'a.txt']);
});

test('every parent directory is listed before its children', () => {
  const names = listing([file('x/y/z.txt'), file('w.txt')]).map((f) => `${f.type} ${f.name}`);
  assert.equal(names, ['file w.txt', 'directory x', 'directory x/y', 'file x/y/z.txt']);
});

test('include patterns and followed paths choose entries; a chosen directory brings its contents', () => {
  const files = [file('Dockerfile'), file('src/a.go'), file('src/b.go'), file('docs/x.md'), file('main.go')];
  assert.equal(
    listing(files, ['Dockerfile']).map((f) => f.name),
    ['Dockerfile'],
  );
  assert.equal(
    listing(files, ['src', 'main.go']).map((f) => f.name),
    ['main.go', 'src', 'src/a.go', 'src/b.go'],
  );
  assert.equal(
    listing(files, ['src/*.go']).map((f) => f.name),
    ['src', 'src/a.go', 'src/b.go'],
  );
  assert.equal(
    listing(files, [], ['docs']).map((f) => f.name),
    ['Dockerfile', 'main.go', 'src', 'src/a.go', 'src/b.go'],
  );
  assert.equal(listing(files, ['.dockerignore']), []);
});

test('names without wildcards are looked up, and choose what matching every name would choose', () => {
  const files = [
    file('Dockerfile'),
    file('src/a.go'),
    file('src/sub/b.go'),
    { name: 'docs/', type: 'directory' as const, mode: 0o755, size: 0 },
    file('docs/x.md'),
    { name: 'conf', type: 'symlink' as const, mode: 0o777, size: 0, linkname: 'src/a.go' },
    file('./dot.txt'),
  ];
  const patterns = [
    ['Dockerfile', 'Dockerfile.dockerignore', 'dockerfile'],
    ['.dockerignore'],
    ['src/sub/b.go'],
    ['src'],
    ['docs'],
    ['conf', './dot.txt'],
    ['src/sub/'],
    ['nothing'],
  ];
  // A pattern with a wildcard that matches nothing sends the listing down the path that matches every name.
  for (const include of patterns) assert.equal(listing(files, include), listing(files, [...include, 'none*']), include.join(' '));
  assert.equal(
    listing(files, ['src/sub/b.go']).map((f) => f.name),
    ['src', 'src/sub', 'src/sub/b.go'],
  );
});

test('metadata that BuildKit URL-encoded (`<key>-encoded: 1`) is decoded; plain values are taken as sent', () => {
  // As Go's url.QueryEscape writes them: a space is '+', a '+' and a ',' are escaped.
  const headers = { 'exclude-patterns': 'ignor%C3%A9.txt, a+b%2B%2C+c, %E6%97%A5%E6%9C%AC/*', 'exclude-patterns-encoded': '1', followpaths: 'Dockerfile, a+b' };
  assert.equal(metadataList(headers, 'exclude-patterns'), ['ignoré.txt', 'a b+, c', '日本/*']);
  assert.equal(metadataList(headers, 'followpaths'), ['Dockerfile', 'a+b'], 'not encoded: a + stays');
  assert.equal(metadataList({ 'include-patterns': ['x%41', 'y'], 'include-patterns-encoded': 'true' }, 'include-patterns'), ['xA', 'y']);
  assert.equal(metadataList({ 'include-patterns': 'bad%E', 'include-patterns-encoded': '1' }, 'include-patterns'), ['bad%E']);
  assert.equal(metadataList({}, 'followpaths'), []);
  // Engine 20.10's BuildKit sends UTF-8 as it is, which node:http2 hands over one byte per character.
  assert.equal(metadataList({ followpaths: Buffer.from('日本語.txt, dir-é').toString('latin1') }, 'followpaths'), ['日本語.txt', 'dir-é']);
});

test('a followed symbolic link brings its target', () => {
  const files = [file('real/conf'), { name: 'conf', type: 'symlink' as const, mode: 0o777, size: 0, linkname: 'real/conf' }];
  assert.equal(followed(files, ['conf']), ['conf', 'real/conf']);
  assert.equal(followed(files, []), []);
});

test('modes travel as Go os.FileMode; times as ns; owners as root', () => {
  assert.is(goFileMode('file', 0o644), 0o644);
  assert.is(goFileMode('directory', 0o755), 2 ** 31 + 0o755);
  assert.is(goFileMode('symlink', 0o777), 2 ** 27 + 0o777);
  assert.is(goFileMode('file', 0o4755), 2 ** 23 + 0o755);
  assert.is(goFileMode('directory', 0o1777), 2 ** 31 + 2 ** 20 + 0o777);
  assert.equal(statOf(file('a', { size: 9 }), 1_500_000_000), { path: 'a', mode: 0o644, uid: 0, gid: 0, size: 9, modTime: 1_500_000_000, linkname: '' });
  assert.is(statOf({ name: 'l', type: 'symlink', mode: 0o777, size: 3, linkname: 'a' }, 0).size, 0);
});

test('a change of content shows in the stat even at the same size and without a time', async () => {
  assert.is(await modTimeNs(file('a', { mtimeMs: 1500 })), 1_500_000_000);
  assert.is(await modTimeNs(file('a', { stat: { mtimeMs: 2 } })), 2_000_000, "the context room's PackEntry.stat");
  const one = await modTimeNs(file('a', { data: Buffer.from('abc') }));
  const two = await modTimeNs(file('a', { data: Buffer.from('abd') }));
  assert.ok(one > 0 && two > 0 && one !== two);
  assert.is(await modTimeNs(file('a', { data: Buffer.from('abc') })), one, 'and stays put while the content does');
});

test('content is not touched while listing', () => {
  let reads = 0;
  const lazy = {
    name: 'big',
    type: 'file' as const,
    mode: 0o644,
    size: 3,
    get data() {
      reads++;
      return Buffer.from('abc');
    },
  };
  listing([lazy], ['big']).map((f) => statOf(f, 0));
  assert.is(reads, 0);
});

test("walk order is the old split-and-Buffer comparison's, on names with separators, dots, dashes and every kind of character", () => {
  const byComponents = (a: string, b: string) => {
    const pa = a.split('/');
    const pb = b.split('/');
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
      const c = Buffer.compare(Buffer.from(pa[i]!), Buffer.from(pb[i]!));
      if (c !== 0) return c;
    }
    return pa.length - pb.length;
  };
  const alphabet = ['a', 'b', '/', '.', '-', ' ', '0', 'Z', '~', '\u00e9', '\u20ac', '\ue000', '\uffff', '\u{1d11e}', '\u{10ffff}'];
  const random = seededRandom(42);
  const name = () => Array.from({ length: 1 + random(6) }, () => alphabet[random(alphabet.length)]).join('');
  for (let i = 0; i < 5000; i++) {
    const a = name();
    const b = name();
    assert.is(Math.sign(compareWalkOrder(a, b)), Math.sign(byComponents(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  }
  // A whole listing, sorted its own way, comes in the same order; without the units from U+D800 up too.
  for (const letters of [alphabet, alphabet.filter((c) => c < '\ud800')]) {
    const names = new Set(Array.from({ length: 3000 }, () => Array.from({ length: 1 + random(6) }, () => letters[random(letters.length)]).join('')));
    const files = [...names].filter((n) => !n.split('/').includes('')).map((n) => file(n));
    const listed = listing(files).map((f) => f.name);
    assert.equal(listed, [...listed].sort(compareWalkOrder));
  }
});

test.run();
