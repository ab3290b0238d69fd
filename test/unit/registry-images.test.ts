// What a registry holds under a tag, read over real HTTP on loopback from a small registry of our own: an
// index resolved to this platform's manifest and its config's labels; and what a hostile one may not do.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostPlatform, remoteImage } from '../../pipeline/registry/registry-images.ts';

const sha = (body: string) => `sha256:${createHash('sha256').update(body).digest('hex')}`;

/** Serves `documents` by path under /v2/app/, with their media types. */
async function registry(documents: Record<string, { body: string; type: string }>) {
  const server = http.createServer((req, res) => {
    const doc = documents[(req.url ?? '').replace('/v2/app/', '')];
    if (!doc) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': doc.type, 'content-length': Buffer.byteLength(doc.body) }).end(doc.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

test("an index is resolved to this platform's manifest; its config's labels are read; the tag's target is the index", async () => {
  const config = JSON.stringify({ config: { Labels: { 'build-images.digest': 'sha256:abc' } } });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { digest: sha(config) },
    layers: [{ digest: sha('layer') }],
  });
  const { os, architecture } = hostPlatform();
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { digest: sha('attestation'), platform: { os: 'unknown', architecture: 'unknown' } },
      { digest: sha(manifest), mediaType: 'application/vnd.oci.image.manifest.v1+json', platform: { os, architecture } },
    ],
  });
  const served = await registry({
    'manifests/1': { body: index, type: 'application/vnd.oci.image.index.v1+json' },
    [`manifests/${sha(manifest)}`]: { body: manifest, type: 'application/vnd.oci.image.manifest.v1+json' },
    [`blobs/${sha(config)}`]: { body: config, type: 'application/octet-stream' },
  });
  try {
    const held = await remoteImage(`${served.host}/app:1`, undefined);
    assert.is(held!.target, sha(index));
    assert.is(held!.digest, sha(manifest));
    assert.is(held!.configDigest, sha(config));
    assert.equal(held!.blobs, [sha(config), sha('layer')]);
    assert.equal(held!.labels, { 'build-images.digest': 'sha256:abc' });
    assert.is(await remoteImage(`${served.host}/app:2`, undefined), undefined, 'a tag the registry lacks');
  } finally {
    await served.close();
  }
});

test('a digest that is not one (a path, say) is refused before it reaches a request', async () => {
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { digest: '../../../v2/other/blobs/x' },
    layers: [],
  });
  const served = await registry({ 'manifests/1': { body: manifest, type: 'application/vnd.oci.image.manifest.v1+json' } });
  try {
    const err = await remoteImage(`${served.host}/app:1`, undefined).catch((e: Error) => e);
    assert.instance(err, Error);
    assert.match((err as Error).message, /names a malformed digest/);
  } finally {
    await served.close();
  }
});

test.run();
