// Fault tests of the build context and the tool's state files: links that lead out of the project, files
// that change, vanish or cannot be read while the context is packed, a damaged digest cache, concurrent
// writers. Each says what the user sees.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { appendFile, chmod, chown, mkdir, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { UserError } from '../../pipeline/model/errors.ts';
import type { PlainSource } from '../../pipeline/model/context-entries.ts';
import { loadDigestCache } from '../../pipeline/context/digest-cache.ts';
import { checkCopies, digestContext, listEntries, packEntries } from '../../pipeline/context/pack-context.ts';
import { updateStateFile, writeStateFile } from '../../pipeline/context/state-file.ts';
import { removeAtExit, tempDir } from '../support/temp.ts';
import { rejection } from '../support/fetch.ts';

const test = suite('faults: context and state files');

async function project(): Promise<string> {
  const dir = await tempDir('bi-faults-ctx-');
  await mkdir(path.join(dir, 'conf'), { recursive: true });
  await writeFile(path.join(dir, 'conf/a.yaml'), 'a: 1\n');
  return dir;
}

const copy = (root: string, from: string): Extract<PlainSource, { kind: 'path' }> => ({
  kind: 'path',
  name: 's00-copy/x',
  path: path.join(root, from),
  root,
  origin: from,
  excludes: [],
});

/** Packs the entries to the end, as the engine would read them. */
const packAll = async (entries: Awaited<ReturnType<typeof listEntries>>) => buffer(packEntries(entries));

test('copy through a link out of the project (escape -> /etc, from: escape/passwd) is refused, naming the path', async () => {
  const dir = await project();
  await symlink('/etc', path.join(dir, 'escape'));
  const err = await rejection(listEntries([copy(dir, 'escape/passwd')]));
  assert.instance(err, UserError);
  assert.match(err.message, "copy: 'escape/passwd' leads outside");
  assert.match(err.message, '/etc/passwd');
});

test('a link inside a copied directory that points inside it is packed as a link, never followed', async () => {
  const dir = await project();
  await mkdir(path.join(dir, 'conf/sub'));
  await symlink('a.yaml', path.join(dir, 'conf/current.yaml'));
  await symlink('../a.yaml', path.join(dir, 'conf/sub/up.yaml'));
  await symlink('sub', path.join(dir, 'conf/linked-dir'));
  const entries = await listEntries([copy(dir, 'conf')]);
  const links = entries.filter((e) => e.type === 'symlink').map((e) => [e.name, e.linkname, e.size]);
  assert.equal(links, [
    ['s00-copy/x/current.yaml', 'a.yaml', 0],
    ['s00-copy/x/linked-dir', 'sub', 0],
    ['s00-copy/x/sub/up.yaml', '../a.yaml', 0],
  ]);
  assert.ok(!entries.some((e) => e.name.startsWith('s00-copy/x/linked-dir/')), 'nothing below the link is listed');
});

for (const [what, target] of [
  ['/etc', '/etc'],
  ['/etc/passwd', '/etc/passwd'],
  ['out of the copied directory', '../../outside'],
] as const) {
  test(`a link inside a copied directory to ${what} is refused at the copy step, nothing packed`, async () => {
    const dir = await project();
    await symlink(target, path.join(dir, 'conf/escape'));
    const at = { file: 'build.config.yaml', line: 7, col: 15 };
    const err = await rejection(listEntries([{ ...copy(dir, 'conf'), at }]));
    assert.instance(err, UserError);
    assert.equal((err as UserError).problems[0]!.at, at);
    assert.match(err.message, `copy: 'conf/escape' is a symbolic link to ${target}, outside the copied 'conf'`);
  });
}

test('a project reached through a link copies as usual, the whole of it included', async () => {
  const dir = await project();
  const linked = removeAtExit(`${dir}-link`);
  await symlink(dir, linked);
  const entries = await listEntries([copy(linked, 'conf'), { ...copy(linked, '.'), name: 's01-copy/content' }]);
  assert.ok(entries.some((e) => e.name === 's00-copy/x/a.yaml'));
  assert.ok(entries.some((e) => e.name === 's01-copy/content/conf/a.yaml'));
});

test('the copied path itself may not be a link: refused, to /etc or inside the project, saying what to copy instead', async () => {
  const dir = await project();
  await symlink('/etc/passwd', path.join(dir, 'passwd'));
  await symlink('conf/a.yaml', path.join(dir, 'a-link.yaml'));
  await symlink('/etc', path.join(dir, 'etc'));
  await symlink('nowhere', path.join(dir, 'dangling'));
  const at = { file: 'build.config.yaml', line: 9, col: 15 };
  const cases = [
    ['passwd', "'passwd' is a symbolic link (to /etc/passwd)", /it points outside/],
    ['etc', "'etc' is a symbolic link (to /etc)", /it points outside/],
    ['a-link.yaml', "'a-link.yaml' is a symbolic link (to conf/a.yaml)", /copy what it points to: from: conf\/a.yaml/],
    ['dangling', "'dangling' is a symbolic link (to nowhere)", /it points to nothing/],
  ] as const;
  for (const [from, message, hint] of cases) {
    const err = await rejection(listEntries([{ ...copy(dir, from), at }]));
    assert.instance(err, UserError, from);
    const [problem] = (err as UserError).problems;
    assert.match(problem!.message, message);
    assert.match(problem!.hint!, hint);
    assert.equal(problem!.at, at);
  }
  // Checked as the run is planned, too: all of them at once.
  const err = await rejection(checkCopies(cases.map(([from]) => ({ ...copy(dir, from), at }))));
  assert.is((err as UserError).problems.length, 4);
});

test('a copy through a link out of the project is found as the run is planned; a path not made yet is not', async () => {
  const dir = await project();
  await symlink('/etc', path.join(dir, 'escape'));
  const at = { file: 'build.config.yaml', line: 8, col: 15 };
  const err = await rejection(checkCopies([{ ...copy(dir, 'escape/shadow'), at }, copy(dir, 'bin/not-built-yet')]));
  assert.equal((err as UserError).problems.length, 1);
  assert.equal((err as UserError).problems[0]!.at, at);
  assert.match(err.message, "copy: 'escape/shadow' leads outside");
  await checkCopies([copy(dir, 'bin/not-built-yet'), copy(dir, 'conf'), copy(dir, '.')]);
});

for (const size of [100, 2 * 1024 * 1024]) {
  const kind = size > 1024 * 1024 ? 'large (streamed)' : 'small';
  test(`a ${kind} file rewritten between digest and packing fails the build, naming it`, async () => {
    const dir = await project();
    const file = path.join(dir, 'conf/data.bin');
    await writeFile(file, Buffer.alloc(size, 'a'));
    const entries = await listEntries([copy(dir, 'conf')]);
    await digestContext(entries);
    await writeFile(file, Buffer.alloc(size, 'b'));
    const err = await rejection(packAll(entries));
    assert.match(err.message, "'conf/data.bin' changed while the context was being packed");
  });

  test(`a ${kind} file that grows while packed fails, and the tar never holds more than its header says`, async () => {
    const dir = await project();
    const file = path.join(dir, 'conf/data.bin');
    await writeFile(file, Buffer.alloc(size, 'a'));
    const entries = await listEntries([copy(dir, 'conf')]);
    await digestContext(entries);
    await appendFile(file, Buffer.alloc(4096));
    const err = await rejection(packAll(entries));
    assert.match(err.message, "'conf/data.bin' changed while the context was being packed");
  });
}

test('a file deleted between listing and packing is named as such, not as an engine problem', async () => {
  const dir = await project();
  const entries = await listEntries([copy(dir, 'conf')]);
  await digestContext(entries);
  await rm(path.join(dir, 'conf/a.yaml'));
  const err = await rejection(packAll(entries));
  assert.match(err.message, "'conf/a.yaml' disappeared while the context was being packed");
});

test('an unreadable file or directory in a copied folder is a clear error naming it', async () => {
  for (const [make, named] of [
    [
      async (dir: string) => {
        await writeFile(path.join(dir, 'conf/secret'), 's');
        await chmod(path.join(dir, 'conf/secret'), 0);
      },
      "cannot read the file 'conf/secret': permission denied",
    ],
    [
      async (dir: string) => {
        await mkdir(path.join(dir, 'conf/private'));
        await chmod(path.join(dir, 'conf/private'), 0);
      },
      "cannot read the directory 'conf/private': permission denied",
    ],
  ] as const) {
    const dir = await project();
    await make(dir);
    // Root reads everything: the check then runs as nobody, in a child process.
    const outcome = process.getuid?.() === 0 ? await packAsNobody(dir) : await packHere(dir);
    assert.equal(outcome, { ok: false, name: 'RunError', message: named });
  }
});

async function packHere(dir: string) {
  try {
    const entries = await listEntries([copy(dir, 'conf')]);
    await digestContext(entries);
    await packAll(entries);
    return { ok: true };
  } catch (err) {
    return { ok: false, name: (err as Error).name, message: (err as Error).message };
  }
}

async function packAsNobody(dir: string) {
  const NOBODY = 65534;
  for (const p of [dir, path.join(dir, 'conf'), path.join(dir, 'conf/a.yaml')]) await chown(p, NOBODY, NOBODY);
  // nobody may not reach the checkout (a clone in a 0700 directory, /root/...), its node_modules nor tsx:
  // the helper runs as one bundled file in a directory of its own that nobody can read.
  const { stdout } = await promisify(execFile)(process.execPath, [await helperBundle(), path.join(dir, 'conf'), 'conf'], {
    uid: NOBODY,
    gid: NOBODY,
    cwd: os.tmpdir(),
    env: { ...process.env, HOME: os.tmpdir() },
  });
  return JSON.parse(stdout) as unknown;
}

let bundled: Promise<string> | undefined;
/** test/support/pack-as-user.ts and what it imports as one ES module, in a fresh directory open to all. */
function helperBundle(): Promise<string> {
  return (bundled ??= (async () => {
    const { build } = await import('esbuild');
    const out = await tempDir('bi-pack-as-user-');
    await chmod(out, 0o755);
    const outfile = path.join(out, 'pack-as-user.mjs');
    await build({
      entryPoints: [fileURLToPath(new URL('../support/pack-as-user.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      logLevel: 'silent',
      // CommonJS dependencies (tar-stream) require Node's modules.
      banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
    });
    await chmod(outfile, 0o644);
    return outfile;
  })());
}

test('a truncated digest cache is set aside with a notice, and rewritten whole', async () => {
  const dir = await project();
  const file = path.join(dir, '.build-images/digests.json');
  await mkdir(path.dirname(file));
  await writeFile(file, '{"/p/a\\u00002\\u00001\\u00001": "abc');
  const notices: string[] = [];
  const cache = await loadDigestCache(file, { notice: (m) => notices.push(m) });
  assert.equal(notices, [
    '.build-images/digests.json is not a digest cache (cut short or damaged?): it is set aside, and the files it covered are digested again',
  ]);
  const entries = await listEntries([copy(dir, 'conf')]);
  const old = Date.now() / 1000 - 60;
  await utimes(path.join(dir, 'conf/a.yaml'), old, old);
  const fresh = await listEntries([copy(dir, 'conf')]);
  await digestContext(entries);
  await digestContext(fresh, cache);
  await cache.save();
  assert.is(Object.keys(JSON.parse(await readFile(file, 'utf8'))).length, 1);
});

test('a digest cache that is a directory is set aside with a notice, and saving says what is in the way', async () => {
  const dir = await project();
  const file = path.join(dir, '.build-images/digests.json');
  await mkdir(file, { recursive: true });
  const notices: string[] = [];
  const cache = await loadDigestCache(file, { notice: (m) => notices.push(m) });
  assert.match(notices[0]!, '.build-images/digests.json cannot be read (EISDIR)');
  const err = await rejection(cache.save());
  assert.is(err.message, `cannot read ${file}: it is a directory`);
});

test('digest caches saved at once by several runs keep every digest', async () => {
  const dir = await project();
  const file = path.join(dir, '.build-images/digests.json');
  const old = Date.now() / 1000 - 60;
  const caches = await Promise.all([1, 2, 3, 4, 5].map(() => loadDigestCache(file)));
  await Promise.all(
    caches.map(async (cache, i) => {
      await writeFile(path.join(dir, `conf/f${i}`), `${i}`);
      await utimes(path.join(dir, `conf/f${i}`), old, old);
      const entries = await listEntries([{ kind: 'path', name: 'x', path: path.join(dir, `conf/f${i}`), origin: `f${i}`, excludes: [] }]);
      await digestContext(entries, cache);
      await cache.save();
    }),
  );
  assert.is(Object.keys(JSON.parse(await readFile(file, 'utf8'))).length, 5);
});

test('a lock file left by a run that died is taken over; a write that fails leaves no temporary file', async () => {
  const dir = await tempDir('bi-faults-state-');
  const file = path.join(dir, 'state.json');
  await writeFile(`${file}.lock`, '999999999');
  await updateStateFile(file, (current) => `${current ?? ''}x`, { isAlive: () => false });
  assert.is(await readFile(file, 'utf8'), 'x');
  await mkdir(path.join(dir, 'taken.json'));
  const err = await rejection(writeStateFile(path.join(dir, 'taken.json'), 'y'));
  assert.match(err.message, `cannot write ${path.join(dir, 'taken.json')}`);
  assert.equal((await readdir(dir)).sort(), ['state.json', 'taken.json']);
});

test.run();
