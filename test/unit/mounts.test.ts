// The test bed removes trees that may still have something mounted in them (a killed dockerd's netns, a
// stopped debootstrap's /proc or /dev): what is mounted there goes first, and what it shows is never deleted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { mountsUnder, removeTree } from '../support/mounts.ts';
import { tempDir } from '../support/temp.ts';

test('a tree with a directory bound into it is removed without touching what the binding showed', async () => {
  const outside = await tempDir('bi-outside-');
  await writeFile(path.join(outside, 'precious'), 'keep me');
  const tree = await tempDir('bi-tree-');
  await mkdir(path.join(tree, 'root/dev'), { recursive: true });
  await writeFile(path.join(tree, 'root/file'), 'x');
  const root = process.getuid?.() === 0;
  // Binding needs root; as another user the tree is removed all the same, with nothing mounted in it.
  if (root) execFileSync('mount', ['--bind', outside, path.join(tree, 'root/dev')]);
  assert.equal(mountsUnder(tree), root ? [path.join(tree, 'root/dev')] : []);
  await removeTree(tree);
  assert.not.ok(existsSync(tree));
  assert.is(await readFile(path.join(outside, 'precious'), 'utf8'), 'keep me');
});

test('mount points are read with the escapes of /proc/self/mountinfo (a space is \\040)', async () => {
  if (process.getuid?.() !== 0) return;
  const tree = await tempDir('bi-tree-');
  const spaced = path.join(tree, 'a dir');
  await mkdir(spaced);
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', spaced]);
  assert.equal(mountsUnder(tree), [spaced]);
  await removeTree(tree);
  assert.not.ok(existsSync(tree));
});

test.run();
