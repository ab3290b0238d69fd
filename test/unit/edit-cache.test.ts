// A base image's file edited the same way as last run is not edited again: the result is remembered by the
// bytes and the edit, privately, and an edit that fails is not remembered.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { editNow, rememberingEdits, type ApplyEdit } from '../../pipeline/context/edit-cache.ts';
import type { FileEdit } from '../../pipeline/model/file-edit.ts';
import { tempDir } from '../support/temp.ts';

const RULES: FileEdit = { kind: 'prepend-to-list', at: ['rules'], items: [{ 'http://www.getcloudify.org/spec': 'file:///opt/manager/resources/spec' }] };
const CONFIG = Buffer.from("rules:\n  - {'http://example.org': 'file:///x'}\n");

/** The real edit, counted. */
function counted(): ApplyEdit & { calls: number } {
  const edit = Object.assign(
    async (...args: Parameters<ApplyEdit>) => {
      edit.calls++;
      return editNow(...args);
    },
    { calls: 0 },
  );
  return edit;
}

test('the same bytes edited the same way are edited once, and the next run gets the same text', async () => {
  const dir = path.join(await tempDir('bi-edits-'), 'edited-files');
  const edit = counted();
  const first = await rememberingEdits(dir, edit)('/etc/cloudify/config.yaml', CONFIG, 0o640, RULES);
  const again = await rememberingEdits(dir, edit)('/etc/cloudify/config.yaml', CONFIG, 0o640, RULES);
  assert.equal(again, first);
  assert.is(edit.calls, 1);
  assert.ok(first.text.startsWith("rules:\n  - {'http://www.getcloudify.org/spec': 'file:///opt/manager/resources/spec'}\n"), first.text);
  const [file] = await readdir(dir);
  assert.is((await stat(path.join(dir, file!))).mode & 0o777, 0o600, "the user's alone: a base's files may be private");
});

test('other bytes, another mode or another edit are edited afresh', async () => {
  const dir = await tempDir('bi-edits-');
  const edit = counted();
  const remembering = rememberingEdits(dir, edit);
  await remembering('/etc/cloudify/config.yaml', CONFIG, 0o640, RULES);
  await remembering('/etc/cloudify/config.yaml', Buffer.concat([CONFIG, Buffer.from('# changed\n')]), 0o640, RULES);
  await remembering('/etc/cloudify/config.yaml', CONFIG, 0o644, RULES);
  await remembering('/etc/cloudify/config.yaml', CONFIG, 0o640, { ...RULES, items: [{ a: 'b' }] });
  assert.is(edit.calls, 4);
});

test('an edit that fails fails again next time: nothing is remembered of it', async () => {
  const dir = await tempDir('bi-edits-');
  const remembering = rememberingEdits(dir);
  const missing: FileEdit = { kind: 'prepend-to-list', at: ['no', 'such'], items: [{ a: 'b' }] };
  for (let run = 0; run < 2; run++) {
    const err = await remembering('/etc/cloudify/config.yaml', CONFIG, 0o640, missing).catch((e: Error) => e);
    assert.match(String(err), 'no.such does not exist');
  }
  assert.equal(await readdir(dir), []);
});

test('an item given with --set or by the environment is kept as a placeholder, and put back for the same values only', async () => {
  const dir = await tempDir('bi-edits-');
  const edit = counted();
  const given = [['TYPE_REPO', 'https://types.example/tok-3d9a']] as const;
  const change: FileEdit = { ...RULES, items: [{ 'https://types.example/tok-3d9a': 'file:///types' }] };
  const first = await rememberingEdits(dir, edit, given)('/etc/cloudify/config.yaml', CONFIG, 0o640, change);
  assert.match(first.text, 'tok-3d9a');
  const [file] = await readdir(dir);
  assert.not.match(await readFile(path.join(dir, file!), 'utf8'), 'tok-3d9a');
  const again = await rememberingEdits(dir, edit, given)('/etc/cloudify/config.yaml', CONFIG, 0o640, change);
  assert.equal(again, first);
  assert.is(edit.calls, 1);
  await rememberingEdits(dir, edit, [['TYPE_REPO', 'other']])('/etc/cloudify/config.yaml', CONFIG, 0o640, change);
  assert.is(edit.calls, 2, 'other values: edited afresh');
});

test.run();
