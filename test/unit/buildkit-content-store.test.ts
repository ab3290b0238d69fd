// The cache directory's content store as the daemon drives it over the session (containerd's content
// service: Info, Read, Write), by an HTTP/2 client on a unix socket; its messages against protobufjs; and the
// directory's index.json as BuildKit's client keeps it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  CONTENT,
  decodeReadRequest,
  decodeWriteRequest,
  encodeInfoResponse,
  encodeWriteResponse,
  readResponseHead,
  WRITE_ACTION,
} from '../../pipeline/engine/buildkit/content-proto.ts';
import { contentRoutes, type ContentDir } from '../../pipeline/engine/buildkit/content-store.ts';
import { frame, onMessages, serveGrpc } from '../../pipeline/engine/buildkit/grpc-server.ts';
import { parseIndex, readCacheManifest, taggedManifest, withTagged, writeCacheIndex } from '../../pipeline/engine/buildkit/oci-layout.ts';
import { reference } from '../support/protobuf-reference.ts';

const STATUS = { OK: '0', INVALID_ARGUMENT: '3', NOT_FOUND: '5', ALREADY_EXISTS: '6', PERMISSION_DENIED: '7', FAILED_PRECONDITION: '9', OUT_OF_RANGE: '11' };
const digestOf = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

test('content messages: requests as the daemon encodes them decode, answers decode in protobufjs', () => {
  const data = Buffer.from('blob bytes');
  const write = reference('WriteContentRequest').encode({
    action: WRITE_ACTION.COMMIT,
    ref: 'layer-sha256:ab',
    total: 5_000_000_000,
    expected: 'sha256:' + 'a'.repeat(64),
    offset: 4096,
    data,
    labels: { 'containerd.io/gc.ref': 'x' },
  });
  const decoded = decodeWriteRequest(write);
  assert.equal(
    { ...decoded, data: Buffer.from(decoded.data) },
    { action: 2, ref: 'layer-sha256:ab', total: 5_000_000_000, expected: 'sha256:' + 'a'.repeat(64), offset: 4096, data },
  );
  assert.equal(decodeReadRequest(reference('ReadContentRequest').encode({ digest: 'sha256:b', offset: 2 ** 40, size: 1024 })), {
    digest: 'sha256:b',
    offset: 2 ** 40,
    size: 1024,
  });
  assert.equal(
    reference('WriteContentResponse').decode(
      encodeWriteResponse({ action: 1, startedAt: 1_700_000_000_123, updatedAt: 1_700_000_001_000, offset: 2 ** 33, total: 0, digest: '' }),
    ),
    {
      action: 1,
      startedAt: { seconds: 1_700_000_000, nanos: 123_000_000 },
      updatedAt: { seconds: 1_700_000_001, nanos: 0 },
      offset: 2 ** 33,
      total: 0,
      digest: '',
    },
  );
  const info = reference('InfoResponse').decode(encodeInfoResponse({ digest: 'sha256:c', size: 7, createdAt: 1000, updatedAt: 2500 })) as {
    info: Record<string, unknown>;
  };
  assert.equal([info.info['digest'], info.info['size'], info.info['updatedAt']], ['sha256:c', 7, { seconds: 2, nanos: 500_000_000 }]);
  const chunk = Buffer.alloc(300, 9);
  assert.equal(reference('ReadContentResponse').decode(Buffer.concat([readResponseHead(2 ** 35, chunk.length), chunk])), { offset: 2 ** 35, data: chunk });
});

/** The store's routes on a unix socket, and an HTTP/2 client connected as the daemon is. */
async function served(stores: Map<string, ContentDir>) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-content-'));
  const socketPath = path.join(dir, 's');
  const server = net.createServer((socket) => serveGrpc(socket, new Map(contentRoutes(stores))));
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const client = http2.connect('http://localhost', { createConnection: () => net.connect(socketPath) });
  return {
    /** A call's answers and status: every message sent, then the end of the request. */
    async call(route: string, store: string | undefined, messages: Buffer[]) {
      const stream = client.request({
        ':method': 'POST',
        ':path': route,
        'content-type': 'application/grpc',
        te: 'trailers',
        ...(store ? { 'buildkit-attachable-store-id': store } : {}),
      });
      const received: Buffer[] = [];
      onMessages(stream, (m) => received.push(Buffer.from(m)));
      const status = new Promise<{ code: string; message: string }>((resolve) => {
        const done = (h: http2.IncomingHttpHeaders) =>
          resolve({ code: String(h['grpc-status']), message: decodeURIComponent(String(h['grpc-message'] ?? '')) });
        stream.on('response', (h) => h['grpc-status'] !== undefined && done(h));
        stream.on('trailers', done);
      });
      for (const m of messages) stream.write(frame(m));
      stream.end();
      return { ...(await status), received };
    },
    async close() {
      client.destroy();
      server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const writeRequest = (fields: Record<string, unknown>) => reference('WriteContentRequest').encode(fields);
const answers = (received: Buffer[]) => received.map((m) => reference('WriteContentResponse').decode(m));

test('Write: STAT, WRITEs at the offset, COMMIT with size and digest put the blob in blobs/sha256 and leave no ingest', async () => {
  const cache = await mkdtemp(path.join(os.tmpdir(), 'bi-cache-'));
  const { call, close } = await served(new Map([['local:' + cache, { dir: cache, writable: true }]]));
  try {
    const blob = Buffer.concat([Buffer.alloc(700_000, 1), Buffer.from('end')]);
    const digest = digestOf(blob);
    const [a, b] = [blob.subarray(0, 400_000), blob.subarray(400_000)];
    const written = await call(CONTENT.write, 'local:' + cache, [
      writeRequest({ action: WRITE_ACTION.STAT, ref: 'layer', total: blob.length, expected: digest }),
      writeRequest({ action: WRITE_ACTION.WRITE, offset: 0, data: a }),
      writeRequest({ action: WRITE_ACTION.WRITE, offset: a.length, data: b }),
      writeRequest({ action: WRITE_ACTION.COMMIT, total: blob.length, offset: blob.length, expected: digest }),
    ]);
    assert.is(written.code, STATUS.OK, written.message);
    assert.equal(
      answers(written.received).map((r) => [r['action'], r['offset'], r['digest']]),
      [
        [0, 0, ''],
        [1, 400_000, ''],
        [1, blob.length, ''],
        [2, blob.length, digest],
      ],
    );
    assert.ok((await readFile(path.join(cache, 'blobs/sha256', digest.slice(7)))).equals(blob));
    assert.equal(await readdir(path.join(cache, 'ingest')), []);

    // Written again, it is there already: ALREADY_EXISTS at once, which the daemon takes as done.
    const again = await call(CONTENT.write, 'local:' + cache, [
      writeRequest({ action: WRITE_ACTION.STAT, ref: 'layer', total: blob.length, expected: digest }),
    ]);
    assert.is(again.code, STATUS.ALREADY_EXISTS);

    // Info and Read, whole and in part, as the daemon reads an imported cache's blobs.
    const info = await call(CONTENT.info, 'local:' + cache, [reference('InfoRequest').encode({ digest })]);
    assert.is(info.code, STATUS.OK, info.message);
    assert.is((reference('InfoResponse').decode(info.received[0]!) as { info: { size: number } }).info.size, blob.length);
    const read = async (offset: number, size: number) => {
      const answer = await call(CONTENT.read, 'local:' + cache, [reference('ReadContentRequest').encode({ digest, offset, size })]);
      assert.is(answer.code, STATUS.OK, answer.message);
      const parts = answer.received.map((m) => reference('ReadContentResponse').decode(m) as { offset: number; data: Buffer });
      let at = offset;
      for (const p of parts) {
        assert.is(p.offset, at, 'each chunk says where it is');
        at += p.data.length;
      }
      return Buffer.concat(parts.map((p) => p.data));
    };
    assert.ok((await read(0, 0)).equals(blob), 'the whole blob');
    assert.ok((await read(699_998, 4)).equals(blob.subarray(699_998, 700_002)), 'a part');
    assert.ok((await read(700_000, 0)).equals(Buffer.from('end')), 'from an offset to the end');
    assert.ok((await read(blob.length - 1, 100)).equals(Buffer.from('d')), 'a size past the end stops at the end');
    assert.is(
      (await call(CONTENT.read, 'local:' + cache, [reference('ReadContentRequest').encode({ digest, offset: blob.length + 1 })])).code,
      STATUS.OUT_OF_RANGE,
    );
  } finally {
    await close();
    await rm(cache, { recursive: true, force: true });
  }
});

test('Write: a wrong digest, a wrong size or a gap fails the call and leaves neither blob nor ingest; a source store is never written', async () => {
  const cache = await mkdtemp(path.join(os.tmpdir(), 'bi-cache-'));
  const source = await mkdtemp(path.join(os.tmpdir(), 'bi-cache-src-'));
  const { call, close } = await served(
    new Map([
      ['local:' + cache, { dir: cache, writable: true }],
      ['local:' + source, { dir: source, writable: false }],
    ]),
  );
  try {
    const data = Buffer.from('some layer');
    const wrongDigest = await call(CONTENT.write, 'local:' + cache, [
      writeRequest({ action: WRITE_ACTION.STAT, ref: 'x', total: data.length, expected: digestOf(Buffer.from('other')) }),
      writeRequest({ action: WRITE_ACTION.COMMIT, data, total: data.length }),
    ]);
    assert.is(wrongDigest.code, STATUS.FAILED_PRECONDITION, wrongDigest.message);
    assert.match(wrongDigest.message, /unexpected commit digest/);
    const wrongSize = await call(CONTENT.write, 'local:' + cache, [
      writeRequest({ action: WRITE_ACTION.STAT, ref: 'y', total: 99 }),
      writeRequest({ action: WRITE_ACTION.COMMIT, data, expected: digestOf(data) }),
    ]);
    assert.is(wrongSize.code, STATUS.FAILED_PRECONDITION);
    const gap = await call(CONTENT.write, 'local:' + cache, [
      writeRequest({ action: WRITE_ACTION.STAT, ref: 'z' }),
      writeRequest({ action: WRITE_ACTION.WRITE, offset: 5, data }),
    ]);
    assert.is(gap.code, STATUS.OUT_OF_RANGE);
    const unfinished = await call(CONTENT.write, 'local:' + cache, [
      writeRequest({ action: WRITE_ACTION.STAT, ref: 'w' }),
      writeRequest({ action: WRITE_ACTION.WRITE, data }),
    ]);
    assert.is(unfinished.code, STATUS.OK, 'a stream may end before its commit');
    // Ingests are removed as their streams close.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await readdir(path.join(cache, 'ingest')), []);
    assert.equal(await readdir(path.join(cache, 'blobs')).catch(() => []), []);

    assert.is((await call(CONTENT.write, 'local:' + source, [writeRequest({ action: WRITE_ACTION.STAT, ref: 'v' })])).code, STATUS.PERMISSION_DENIED);
    assert.is((await call(CONTENT.write, 'local:/elsewhere', [writeRequest({ action: WRITE_ACTION.STAT, ref: 'v' })])).code, STATUS.NOT_FOUND);
    assert.is((await call(CONTENT.info, undefined, [reference('InfoRequest').encode({ digest: digestOf(data) })])).code, STATUS.INVALID_ARGUMENT);
    // A digest is never a path.
    assert.is(
      (await call(CONTENT.info, 'local:' + cache, [reference('InfoRequest').encode({ digest: 'sha256:../../etc/passwd' })])).code,
      STATUS.INVALID_ARGUMENT,
    );
    assert.is((await call(CONTENT.info, 'local:' + source, [reference('InfoRequest').encode({ digest: digestOf(data) })])).code, STATUS.NOT_FOUND);
  } finally {
    await close();
    await rm(cache, { recursive: true, force: true });
    await rm(source, { recursive: true, force: true });
  }
});

test('index.json: the cache manifest tagged latest replaces the last, other entries kept; what an import reads, or why it reads nothing', async () => {
  const old = {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: 'sha256:' + '1'.repeat(64),
    size: 10,
    annotations: { 'org.opencontainers.image.ref.name': 'latest' },
  };
  const other = {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: 'sha256:' + '2'.repeat(64),
    size: 11,
    annotations: { 'org.opencontainers.image.ref.name': 'v1' },
  };
  const next = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:' + '3'.repeat(64), size: 12 };
  const index = withTagged({ schemaVersion: 2, manifests: [old, other] }, next);
  assert.equal(index.manifests, [other, { ...next, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }]);
  assert.is(index.mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.is(taggedManifest(index)?.digest, next.digest);
  assert.is(parseIndex('{'), 'its index.json is not JSON');
  assert.is(parseIndex('{"manifests": [{"digest": 1}]}'), 'its index.json is not an OCI image index');

  const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-layout-'));
  try {
    assert.match(String(await readCacheManifest(path.join(dir, 'none'))), /no cache there yet/);
    await writeCacheIndex(dir, next);
    assert.equal(JSON.parse(await readFile(path.join(dir, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    assert.equal(await readCacheManifest(dir), { ...next, annotations: { 'org.opencontainers.image.ref.name': 'latest' } });
    assert.equal((await readdir(dir)).sort(), ['index.json', 'oci-layout'], 'no temporary file left');
    await writeFile(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [other] }));
    assert.match(String(await readCacheManifest(dir)), /no manifest tagged latest/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
