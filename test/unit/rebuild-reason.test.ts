import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ARGS_LABEL } from '../../pipeline/plan/labels.ts';
import { DOCKERFILE_KEY, INPUTS_LABEL_MAX, rebuildReason, recordLabels, type InputsRecord } from '../../pipeline/plan/rebuild-reason.ts';

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

test.run();
