import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  apiLocation,
  familiarName,
  formatRef,
  imageRef,
  parseImageRef,
  registryOf,
  repositoryDigests,
  repositoryOf,
  serverAddress,
  tagOf,
} from '../../pipeline/model/image-ref.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;

// What the docker CLI accepts, and how it reads it: [domain, path, tag, digest].
const ACCEPTED: [string, string, string, string | undefined, string | undefined][] = [
  ['ubuntu', 'docker.io', 'ubuntu', undefined, undefined],
  ['ubuntu:16.04', 'docker.io', 'ubuntu', '16.04', undefined],
  ['alicepx/oci-monitor:1.2.12', 'docker.io', 'alicepx/oci-monitor', '1.2.12', undefined],
  [
    'nexus3.onap.org:10003/onap/org.onap.dcaegen2.deployments.cm-container:1.5.0',
    'nexus3.onap.org:10003',
    'onap/org.onap.dcaegen2.deployments.cm-container',
    '1.5.0',
    undefined,
  ],
  ['localhost/app', 'localhost', 'app', undefined, undefined],
  ['localhost:5000/a/b/c:v1_x.y-z', 'localhost:5000', 'a/b/c', 'v1_x.y-z', undefined],
  ['127.0.0.1:5000/app:1', '127.0.0.1:5000', 'app', '1', undefined],
  [`ubuntu@${DIGEST}`, 'docker.io', 'ubuntu', undefined, DIGEST],
  [`reg.io/app:1@${DIGEST}`, 'reg.io', 'app', '1', DIGEST],
  ['a__b/c-d---e.f_g', 'docker.io', 'a__b/c-d---e.f_g', undefined, undefined],
  // The longest names Engine 20.10 tags (POST /images/{id}/tag), as it counts them: docker.io/library/… is 255.
  [`${'a'.repeat(237)}:t`, 'docker.io', 'a'.repeat(237), 't', undefined],
  [`u/${'a'.repeat(243)}:t`, 'docker.io', `u/${'a'.repeat(243)}`, 't', undefined],
  [`localhost:5000/${'a'.repeat(240)}:t`, 'localhost:5000', 'a'.repeat(240), 't', undefined],
];

const REJECTED: [string, RegExp][] = [
  ['', /empty/],
  ['Ubuntu', /lower-case/],
  // The docker CLI would read `Alice` as a registry host; a capital in ${USER} is the likelier story.
  ['Alice/app:1', /'Alice' must be lower-case/],
  ['ubuntu:', /tag ''/],
  ['ubuntu:-x', /tag '-x'/],
  [`ubuntu:${'t'.repeat(129)}`, /at most 128/],
  ['a//b', /empty path component/],
  ['a/b/', /empty path component/],
  ['app_/x', /'app_'/],
  ['-app', /'-app'/],
  ['ubuntu@sha256:abc', /not a digest|64/],
  [`ubuntu@sha256:${'A'.repeat(64)}`, /64 lower-case/],
  ['reg-.io/app', /not a registry host/],
  ['ubuntu 16.04', /white space/],
  ['app:1\nRUN x', /white space/],
  // One character more than each of the longest accepted: the engine answers 500, "repository name must
  // not be more than 255 characters".
  [`${'a'.repeat(238)}:t`, /256 characters long as the engine counts it \(docker.io\/library\/…\); it takes at most 255/],
  [`u/${'a'.repeat(244)}:t`, /256 characters long .*\(docker.io\/…\)/],
  [`localhost:5000/${'a'.repeat(241)}:t`, /256 characters long as the engine counts it; it takes at most 255/],
];

for (const [text, domain, path, tag, digest] of ACCEPTED) {
  test(`accepts ${text.length > 60 ? `${text.slice(0, 60)}…` : text}`, () => {
    const parsed = parseImageRef(text);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.problem);
    if (!parsed.ok) return;
    assert.equal([parsed.ref.domain, parsed.ref.path, parsed.ref.tag, parsed.ref.digest], [domain, path, tag, digest]);
    assert.is(formatRef(parsed.ref), text);
  });
}

for (const [text, problem] of REJECTED) {
  test(`rejects ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`, () => {
    const parsed = parseImageRef(text);
    assert.not.ok(parsed.ok);
    if (!parsed.ok) assert.match(parsed.problem, problem);
  });
}

test('the engine is given the repository as written and the tag, latest when none is written', () => {
  assert.equal([repositoryOf(imageRef('ubuntu')), tagOf(imageRef('ubuntu'))], ['ubuntu', 'latest']);
  assert.equal([repositoryOf(imageRef('127.0.0.1:5000/a/b:2')), tagOf(imageRef('127.0.0.1:5000/a/b:2'))], ['127.0.0.1:5000/a/b', '2']);
  // The old splitter made the repository `name@sha256` of this one.
  assert.is(repositoryOf(imageRef(`name@${DIGEST}`)), 'name');
});

test("a FROM's named context is keyed as BuildKit keys it: no docker.io/, no library/, no :latest", () => {
  assert.is(familiarName(imageRef('docker.io/library/alpine:latest')), 'alpine');
  assert.is(familiarName(imageRef('ubuntu:16.04')), 'ubuntu:16.04');
  assert.is(familiarName(imageRef('cloudifyplatform/community:18.7.23')), 'cloudifyplatform/community:18.7.23');
  assert.is(familiarName(imageRef('127.0.0.1:5000/px/base:latest')), '127.0.0.1:5000/px/base');
  assert.is(familiarName(imageRef(`alpine@${DIGEST}`)), `alpine@${DIGEST}`);
});

test('the registry is the one the reference names, as the docker CLI decides it', () => {
  assert.is(registryOf('alicepx/oci-monitor:1.0'), 'docker.io');
  assert.is(registryOf('nexus3.onap.org:10003/onap/cm:1.6'), 'nexus3.onap.org:10003');
  assert.is(registryOf('localhost/app:1'), 'localhost');
  assert.is(serverAddress('docker.io'), 'https://index.docker.io/v1/');
  assert.is(serverAddress('127.0.0.1:5000'), '127.0.0.1:5000');
});

test('a manifest is asked for where the engine would push it: https, or http on loopback', () => {
  assert.equal(apiLocation(imageRef('ubuntu:16.04')), { host: 'registry-1.docker.io', repository: 'library/ubuntu', base: 'https://registry-1.docker.io' });
  assert.equal(apiLocation(imageRef('alicepx/oci-monitor')), {
    host: 'registry-1.docker.io',
    repository: 'alicepx/oci-monitor',
    base: 'https://registry-1.docker.io',
  });
  assert.equal(apiLocation(imageRef('127.0.0.1:5000/a/b:2')), { host: '127.0.0.1:5000', repository: 'a/b', base: 'http://127.0.0.1:5000' });
});

test("a reference's repository digests: as written, and as Docker Hub's API names it; other repositories' not", () => {
  const listed = ['ubuntu@sha256:aa', 'docker.io/library/ubuntu@sha256:bb', 'registry-1.docker.io/library/ubuntu@sha256:cc', 'other@sha256:dd'];
  assert.equal(repositoryDigests(listed, imageRef('ubuntu:16.04')), ['sha256:aa', 'sha256:cc']);
  assert.equal(repositoryDigests(['127.0.0.1:5000/a/b@sha256:ee', '127.0.0.1:5000/a/bc@sha256:ff'], imageRef('127.0.0.1:5000/a/b:1')), ['sha256:ee']);
});

test.run();
