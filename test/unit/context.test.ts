import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { chmod, mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import tar from 'tar-stream';
import type { PlainSource } from '../../pipeline/model/context-entries.ts';
import { compileIgnore, isIgnored } from '../../pipeline/context/dockerignore.ts';
import { loadDigestCache } from '../../pipeline/context/digest-cache.ts';
import { digestContext, listEntries, packEntries } from '../../pipeline/context/pack-context.ts';
import { tempDir } from '../support/temp.ts';

async function tree(): Promise<string> {
  const root = await tempDir('bi-ctx-');
  await mkdir(path.join(root, 'conf/sub'), { recursive: true });
  await writeFile(path.join(root, 'conf/b.yaml'), 'b: 1\n');
  await writeFile(path.join(root, 'conf/a.yaml'), 'a: 1\n');
  await writeFile(path.join(root, 'conf/README.md'), 'docs\n');
  await writeFile(path.join(root, 'conf/sub/run.sh'), '#!/bin/sh\n');
  await chmod(path.join(root, 'conf/sub/run.sh'), 0o755);
  await symlink('a.yaml', path.join(root, 'conf/link.yaml'));
  return root;
}

const sources = (root: string, excludes: string[] = []): PlainSource[] => [
  { kind: 'bytes', name: 'Dockerfile', data: 'FROM x\n', mode: 0o644 },
  { kind: 'path', name: 's00-copy/conf', path: path.join(root, 'conf'), origin: 'conf', excludes },
];

async function tarOf(srcs: PlainSource[]) {
  const bytes = await buffer(packEntries(await listEntries(srcs)));
  const entries: { name: string; mode: number; mtime: number; uid: number; type: string; linkname?: string | null }[] = [];
  const extract = tar.extract();
  extract.on('entry', (h, stream, next) => {
    entries.push({ name: h.name, mode: h.mode!, mtime: h.mtime!.getTime(), uid: h.uid!, type: h.type!, linkname: h.linkname });
    stream.on('end', next);
    stream.resume();
  });
  await new Promise((resolve, reject) => {
    extract.on('finish', () => resolve(undefined)).on('error', reject);
    extract.end(bytes);
  });
  return { bytes, entries, sha: createHash('sha256').update(bytes).digest('hex') };
}

test('entries are sorted by byte order, with fixed mtimes and owners and modes kept', async () => {
  const { entries } = await tarOf(sources(await tree()));
  assert.equal(
    entries.map((e) => e.name),
    [
      'Dockerfile',
      's00-copy/conf/',
      's00-copy/conf/README.md',
      's00-copy/conf/a.yaml',
      's00-copy/conf/b.yaml',
      's00-copy/conf/link.yaml',
      's00-copy/conf/sub/',
      's00-copy/conf/sub/run.sh',
    ],
  );
  assert.ok(entries.every((e) => e.mtime === 0 && e.uid === 0));
  assert.is(entries.find((e) => e.name.endsWith('run.sh'))!.mode, 0o755);
  const link = entries.find((e) => e.name.endsWith('link.yaml'))!;
  assert.is(link.type, 'symlink');
  assert.is(link.linkname, 'a.yaml');
});

test('the same inputs give a byte-identical context, whatever the files’ times', async () => {
  const root = await tree();
  const first = await tarOf(sources(root));
  await utimes(path.join(root, 'conf/a.yaml'), new Date(2001, 1, 1), new Date(2001, 1, 1));
  const second = await tarOf(sources(root));
  assert.is(second.sha, first.sha);
  const other = await tree();
  assert.is((await tarOf(sources(other))).sha, first.sha, 'another copy of the tree, made at another time');
});

test('a changed byte or mode changes the context digest and that entry’s digest only', async () => {
  const root = await tree();
  const before = await digestContext(await listEntries(sources(root)));
  await writeFile(path.join(root, 'conf/b.yaml'), 'b: 2\n');
  const after = await digestContext(await listEntries(sources(root)));
  assert.is.not(after.sha256, before.sha256);
  const changed = Object.keys(after.manifest).filter((k) => after.manifest[k] !== before.manifest[k]);
  assert.equal(changed, ['conf/b.yaml']);
});

test('the digest follows content, the executable bit and link target, not file times nor the umask of a checkout', async () => {
  const root = await tree();
  const digest = async () => (await digestContext(await listEntries(sources(root)))).sha256;
  const first = await digest();
  await utimes(path.join(root, 'conf/a.yaml'), new Date(2001, 1, 1), new Date(2001, 1, 1));
  assert.is(await digest(), first);
  // What a checkout under umask 0002 or 0077 makes of the same files and folders.
  await chmod(path.join(root, 'conf/a.yaml'), 0o664);
  await chmod(path.join(root, 'conf/sub'), 0o775);
  assert.is(await digest(), first);
  await chmod(path.join(root, 'conf/a.yaml'), 0o600);
  await chmod(path.join(root, 'conf/sub'), 0o700);
  assert.is(await digest(), first);
  await chmod(path.join(root, 'conf/a.yaml'), 0o744);
  const moded = await digest();
  assert.is.not(moded, first, 'executable now');
  await rm(path.join(root, 'conf/link.yaml'));
  await symlink('b.yaml', path.join(root, 'conf/link.yaml'));
  assert.is.not(await digest(), moded);
});

test('with the digest cache, a rebuild with nothing changed reads no file', async () => {
  const root = await tree();
  const old = new Date(Date.now() - 60_000);
  for (const f of ['a.yaml', 'b.yaml', 'README.md', 'sub/run.sh']) await utimes(path.join(root, 'conf', f), old, old);
  const cacheFile = path.join(root, 'state/digests.json');
  const entries = await listEntries(sources(root));
  const first = await loadDigestCache(cacheFile);
  const digest = await digestContext(entries, first);
  await first.save();
  // The files are gone: only the cache can answer now.
  await rm(path.join(root, 'conf'), { recursive: true });
  assert.equal(await digestContext(entries, await loadDigestCache(cacheFile)), digest);
});

test('a file changed in the last two seconds is not cached (a second change in the same tick would hide)', async () => {
  const root = await tree();
  const cache = await loadDigestCache(path.join(root, 'digests.json'));
  const entries = await listEntries(sources(root));
  await digestContext(entries, cache);
  assert.is(entries.filter((e) => e.type === 'file' && cache.get(e)).length, 0);
});

test('a directory copy honours excludes and the directory’s own .dockerignore', async () => {
  const root = await tree();
  await writeFile(path.join(root, 'conf/.dockerignore'), 'sub\n');
  const { entries } = await tarOf(sources(root, ['*.md']));
  assert.equal(
    entries.map((e) => e.name).filter((n) => n.startsWith('s00')),
    ['s00-copy/conf/', 's00-copy/conf/.dockerignore', 's00-copy/conf/a.yaml', 's00-copy/conf/b.yaml', 's00-copy/conf/link.yaml'],
  );
});

test('ignore patterns: globs within a segment, ** across, ! re-includes, last match wins', () => {
  const rules = compileIgnore(['**/*.log', 'build', '!build/keep.txt', 'docs/*.md']);
  assert.ok(isIgnored('a/b/c.log', rules));
  assert.ok(isIgnored('c.log', rules));
  assert.ok(isIgnored('build/out.o', rules));
  assert.not.ok(isIgnored('build/keep.txt', rules));
  assert.ok(isIgnored('docs/a.md', rules));
  assert.not.ok(isIgnored('docs/sub/a.md', rules));
  assert.not.ok(isIgnored('src/main.go', rules));
});

test("a wrapped file is the one entry of a directory of the source's name, under its own name", async () => {
  const root = await tree();
  await writeFile(path.join(root, 'conf/[id].tsx'), 'page\n');
  const source: PlainSource = {
    kind: 'path',
    name: 's00-copy/_id_.tsx',
    path: path.join(root, 'conf/[id].tsx'),
    origin: 'conf/[id].tsx',
    excludes: [],
    wrapFile: true,
  };
  assert.equal(
    (await listEntries([source])).map((e) => `${e.type} ${e.name}`),
    ['directory s00-copy/_id_.tsx/', 'file s00-copy/_id_.tsx/[id].tsx'],
  );
  const directory: PlainSource = { ...source, name: 's00-copy/conf', path: path.join(root, 'conf/sub'), origin: 'conf/sub' };
  assert.equal(
    (await listEntries([directory])).map((e) => e.name),
    ['s00-copy/conf/', 's00-copy/conf/run.sh'],
    'a directory goes in as it is',
  );
});

test('a missing source is a clear error naming the project path', async () => {
  const root = await tree();
  const err = await listEntries([{ kind: 'path', name: 'x', path: path.join(root, 'nope'), origin: 'bin/nope', excludes: [] }]).catch((e: Error) => e);
  assert.match(String(err), /'bin\/nope' does not exist/);
});

test('a context called off while it is packed (a build called off, Ctrl-C) ends quietly, as its reader is told', async () => {
  const root = await tree();
  // Entries larger than what the pack holds unread: one is half written when the reader calls it off.
  const big = (name: string): PlainSource => ({ kind: 'bytes', name, data: 'x'.repeat(256 * 1024), mode: 0o644 });
  const uncaught: Error[] = [];
  const hear = (err: Error) => uncaught.push(err);
  process.on('uncaughtException', hear);
  try {
    const pack = packEntries(await listEntries([big('a.bin'), big('b.bin'), ...sources(root)]));
    const ended = new Promise<unknown>((resolve) => pack.on('error', resolve).on('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 10));
    pack.destroy(new Error('called off'));
    await ended;
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    process.off('uncaughtException', hear);
  }
  assert.equal(uncaught, []);
});

test.run();
