// Names in byte order: the order of a context's entries, of the manifest in the labels and of digests.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareNames, sortByName } from '../../pipeline/model/context-entries.ts';

const byteOrder = (a: string, b: string) => Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));

test('names sort in the byte order of their UTF-8, across every kind of character', () => {
  // ASCII, two- and three-byte characters, the units either side of the surrogates, and four-byte ones.
  const characters = ['a', 'Z', '/', '.', '-', '0', 'é', '\u0800', '\ud7ff', '\ue000', '\ufffd', '\uffff', '😀', '\u{10000}', '\u{10FFFF}'];
  const names = characters.flatMap((x) => ['', ...characters].map((y) => `${x}${y}`));
  for (const a of names) for (const b of names) assert.is(Math.sign(compareNames(a, b)), byteOrder(a, b), JSON.stringify([a, b]));
});

test('a name sorts before the names it begins; then bytes decide, as tar and the digests want', () => {
  assert.ok(compareNames('files', 'files/a') < 0);
  assert.ok(compareNames('files.txt', 'files/') < 0, "'.' is 0x2e, '/' 0x2f");
});

test('sorting many names gives byte order, whether or not one has a unit from U+D800 up', () => {
  const pieces = ['a', 'b/', 'files/', 'd0/', 'f1.txt', '-', '.', 'é', '\ue000', '\uffff'];
  const random = () => Array.from({ length: 1 + Math.floor(Math.random() * 6) }, () => pieces[Math.floor(Math.random() * pieces.length)]).join('');
  const plain = Array.from({ length: 3000 }, random).filter((name) => !/[\ud800-\uffff]/.test(name));
  for (const names of [plain, [...plain, '😀', 'a\u{10000}', 'a\uffff']]) {
    const sorted = sortByName(
      names.map((name) => ({ name })),
      (item) => item.name,
    ).map((item) => item.name);
    assert.equal(
      sorted,
      [...names].sort((a, b) => byteOrder(a, b)),
    );
  }
});

test.run();
