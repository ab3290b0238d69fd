import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { sortedEntries } from '../../pipeline/model/context-entries.ts';
import { seededRandom } from '../support/random.ts';
import { ARGS_LABEL } from '../../pipeline/plan/labels.ts';
import { DOCKERFILE_KEY, INPUTS_LABEL_MAX, jsonLength, rebuildReason, recordLabels, type InputsRecord } from '../../pipeline/plan/rebuild-reason.ts';

const before: InputsRecord = {
  baseId: 'sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  args: { GO_VERSION: '1.19', TOKEN: 'hunter2' },
  manifest: { [DOCKERFILE_KEY]: 'd1', 'types-3.4/types.yaml': 't1', 'images/cm-container/setup-secret.sh': 's1' },
};
const labels = recordLabels(before);

test('no image under the tag yet', () => {
  assert.equal(rebuildReason(undefined, before), { reason: 'no image yet' });
});

test('a new base image names the old and new IDs', () => {
  assert.equal(rebuildReason(labels, { ...before, baseId: 'sha256:bbbbbbbbbbbbbbbbbbbbbbbb' }), { reason: 'base image changed (aaaaaaaaaaaa → bbbbbbbbbbbb)' });
});

test('changed build args are named, and their values are never recorded', () => {
  assert.equal(rebuildReason(labels, { ...before, args: { GO_VERSION: '1.20', TOKEN: 'hunter2' } }), { reason: 'build args changed (GO_VERSION)' });
  assert.not.ok(labels[ARGS_LABEL]!.includes('hunter2'));
  assert.equal(rebuildReason(labels, { ...before, args: { GO_VERSION: '1.19' } }), { reason: 'build args changed (TOKEN)' });
});

test('changed inputs are named, and only those', () => {
  const after = { ...before, manifest: { ...before.manifest, 'types-3.4/types.yaml': 't2', 'images/new.sh': 'n1' } };
  assert.equal(rebuildReason(labels, after), {
    reason: 'inputs changed (images/new.sh, types-3.4/types.yaml)',
    changed: ['images/new.sh', 'types-3.4/types.yaml'],
  });
});

test('a change of the steps alone shows as the generated Dockerfile', () => {
  assert.equal(rebuildReason(labels, { ...before, manifest: { ...before.manifest, [DOCKERFILE_KEY]: 'd2' } }), {
    reason: 'steps changed (the generated Dockerfile differs)',
  });
});

test('a context of 25,000 files is recorded by folder, small enough for the request line, and a change still named by its folder', () => {
  const manifest = Object.fromEntries(
    Array.from({ length: 25_000 }, (_, i) => [
      `files/dir${String(Math.floor(i / 100)).padStart(3, '0')}/file-with-a-longish-name-${i % 100}.txt`,
      `sha256:${'a'.repeat(64)}`,
    ]),
  );
  const many = { ...before, manifest: { ...manifest, [DOCKERFILE_KEY]: 'd1' } };
  const recorded = recordLabels(many);
  assert.ok(recorded['build-images.inputs'].length <= INPUTS_LABEL_MAX, `${recorded['build-images.inputs'].length} characters`);
  const inputs = JSON.parse(recorded['build-images.inputs']) as Record<string, string>;
  assert.is(Object.keys(inputs).length, 251, '250 folders and the Dockerfile');
  const changed = { ...many, manifest: { ...many.manifest, 'files/dir042/file-with-a-longish-name-7.txt': `sha256:${'b'.repeat(64)}` } };
  assert.equal(rebuildReason(recorded, changed), { reason: 'inputs changed (files/dir042/)', changed: ['files/dir042/'] });
  assert.equal(rebuildReason(recorded, many), { reason: 'labels changed' }, 'the same files give the same folders');
});

test('an image that build-images did not make says so', () => {
  assert.equal(rebuildReason({ maintainer: 'someone' }, before), { reason: 'the image was not built by build-images' });
});

test('the manifest is folded exactly where writing it out to measure it would fold it, whatever the names hold', () => {
  // The way it was done before it was counted: each candidate written out and measured.
  const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 16);
  const folder = (held: [string, string][]) => short(createHash('sha256').update(JSON.stringify(held)).digest('hex'));
  const byFolder = (entries: [string, string][], depth: number) => {
    const grouped = new Map<string, [string, string][]>();
    const kept: [string, string][] = [];
    for (const [path, digest] of entries) {
      const parts = path.split('/');
      if (parts.length <= depth) kept.push([path, short(digest)]);
      else {
        const name = depth === 0 ? '(all inputs)' : `${parts.slice(0, depth).join('/')}/`;
        grouped.set(name, [...(grouped.get(name) ?? []), [path, digest]]);
      }
    }
    return Object.fromEntries(sortedEntries(Object.fromEntries([...kept, ...[...grouped].map(([name, held]): [string, string] => [name, folder(held)])])));
  };
  const written = (manifest: Record<string, string>) => {
    const entries = sortedEntries(manifest);
    let out = Object.fromEntries(entries.map(([path, digest]) => [path, short(digest)]));
    for (let depth = Math.max(0, ...entries.map(([path]) => path.split('/').length)) - 1; depth >= 0; depth--) {
      if (JSON.stringify(out).length <= INPUTS_LABEL_MAX) return out;
      out = byFolder(entries, depth);
    }
    return out;
  };
  const random = seededRandom(11);
  const piece = () => ['a', 'dir', 'x"y', 'back\\slash', 'tab\t', 'ünï', '☃', '\ud800', 'files', 'd0', 'long-name-'.repeat(3)][random(11)]!;
  for (const size of [0, 1, 40, 300, 700, 1200, 2500, 6000]) {
    const manifest: Record<string, string> = {};
    for (let i = 0; i < size; i++)
      manifest[Array.from({ length: 1 + random(4) }, piece).join('/') + `-${i}`] = `sha256:${createHash('sha256').update(String(i)).digest('hex')}`;
    const counted = recordLabels({ ...before, manifest })['build-images.inputs'];
    assert.is(counted, JSON.stringify(written(manifest)), `${size} entries`);
    const shortened = Object.fromEntries(Object.entries(manifest).map(([path, digest]) => [path, short(digest)]));
    assert.is(jsonLength(shortened), JSON.stringify(shortened).length, `the length of ${size} entries, counted`);
  }
});

test.run();
