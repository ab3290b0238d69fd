// The session's own gRPC server, driven by a node:http2 client over a unix socket as the daemon drives it:
// framing, statuses, and a whole DiffCopy exchange (STATs, REQs, DATA, FIN).
import { test } from 'uvu';
import { randomBytes } from 'node:crypto';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { serveDiffCopy, type SessionFile } from '../../pipeline/engine/buildkit/file-sync.ts';
import { frame, onMessages, serveGrpc, unaryCall, type CallHandler } from '../../pipeline/engine/buildkit/grpc-server.ts';
import {
  dataPacketHead,
  fileSyncService,
  healthService,
  PACKET,
  StatFrames,
  statPacket,
  type Packet,
  type Stat,
} from '../../pipeline/engine/buildkit/session-services.ts';
import { reference } from '../support/protobuf-reference.ts';

const { DiffCopy } = fileSyncService;
// What protobufjs makes of a packet: the reference for the packets we write by hand.
const ReferencePacket = reference('Packet');

test('a DATA packet head followed by its bytes decodes as the packet', () => {
  for (const id of [0, 1, 127, 128, 300, 2 ** 31]) {
    for (const length of [0, 1, 127, 128, 300_000]) {
      const data = Buffer.alloc(length, 7);
      const decoded = DiffCopy.requestDeserialize(Buffer.concat([dataPacketHead(id, length), data]));
      assert.equal([decoded.type, decoded.ID, Buffer.from(decoded.data ?? []).equals(data)], [PACKET.DATA, id, true], `id ${id}, ${length} bytes`);
    }
  }
});

test('a STAT packet written directly decodes as the packet protobufjs encodes, nanosecond times past 2^53 included', () => {
  const stats: Stat[] = [
    { path: 'files/d0/f42.txt', mode: 0o644, uid: 0, gid: 0, size: 4096, modTime: 1796269656827123000, linkname: '' },
    { path: 'files/', mode: 2 ** 31 + 0o755, uid: 0, gid: 0, size: 0, modTime: 1796269656827.5 * 1e6, linkname: '' },
    { path: 'lib/libc.so', mode: 2 ** 27 + 0o777, uid: 1001, gid: 1001, size: 0, modTime: 0, linkname: '../x/libc.so.6' },
    { path: 'types/yaml/ünïcode-☃-𝄞.yaml', mode: 0o600, uid: 65534, gid: 65534, size: 64 * 1024 ** 3, modTime: 1, linkname: '' },
    { path: '', mode: 0, uid: 0, gid: 0, size: 0, modTime: -1, linkname: '' },
  ];
  for (const stat of stats) {
    const decoded = ReferencePacket.decode(statPacket(stat));
    assert.equal(decoded, ReferencePacket.decode(ReferencePacket.encode({ type: PACKET.STAT, ID: 0, stat })), stat.path);
    assert.equal(decoded.stat, { ...stat, devmajor: 0, devminor: 0, xattrs: {} }, stat.path);
  }
  const end = ReferencePacket.decode(statPacket(undefined));
  assert.equal([end.type, end.stat], [PACKET.STAT, null], 'the end of the listing');
});

test('many STAT packets framed into shared buffers decode one by one as protobufjs encodes them', () => {
  const random = (n: number) => Math.floor(Math.random() * n);
  const times = [0, 1, 127, 128, 2 ** 32 - 1, 2 ** 32, 2 ** 53 + 2, 1796269656827123000, 2 ** 63 - 2 ** 11, -1, -(2 ** 40)];
  const stats: Stat[] = Array.from({ length: 3000 }, (_, i) => ({
    path: `d${random(50)}/${'x'.repeat(i % 997 === 0 ? 5000 : random(40))}-${i}.txt`,
    mode: [0o644, 2 ** 31 + 0o755, 2 ** 27 + 0o777][i % 3]!,
    uid: random(70_000),
    gid: i % 2 ? 0 : random(70_000),
    size: [0, 1, random(2 ** 31), 64 * 1024 ** 3][i % 4]!,
    modTime: i < times.length ? times[i]! : (1.7e18 + random(1e12)) * (i % 2 ? 1 : 1.001),
    linkname: i % 5 === 0 ? `../t${i}` : '',
  }));
  const frames = new StatFrames();
  const buffers: Buffer[] = [];
  for (const stat of stats) {
    frames.add(stat);
    if (frames.pending > 20_000) buffers.push(frames.take());
  }
  frames.add(undefined);
  buffers.push(frames.take());
  const decoded: Record<string, unknown>[] = [];
  const stream = new PassThrough();
  onMessages(stream, (m) => decoded.push(ReferencePacket.decode(m)));
  for (const b of buffers) stream.write(b);
  assert.is(decoded.length, stats.length + 1);
  for (const [i, stat] of stats.entries()) {
    assert.equal(decoded[i], ReferencePacket.decode(ReferencePacket.encode({ type: PACKET.STAT, ID: 0, stat })), stat.path);
  }
  assert.equal([decoded.at(-1)!.type, decoded.at(-1)!.stat], [PACKET.STAT, null], 'the end of the listing');
});

/** A server on a unix socket with these routes, and an HTTP/2 client connected to it as the daemon would be. */
async function connected(routes: Map<string, CallHandler>) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-grpc-'));
  const socketPath = path.join(dir, 's');
  const server = net.createServer((socket) => serveGrpc(socket, routes));
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const client = http2.connect('http://localhost', { createConnection: () => net.connect(socketPath) });
  return {
    client,
    async close() {
      client.destroy();
      server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A call's answer: its messages, and its status from the trailers (or from the headers of a status-only answer). */
function call(client: http2.ClientHttp2Session, path: string, messages: Buffer[], extra: http2.OutgoingHttpHeaders = {}) {
  const stream = client.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...extra });
  const received: Buffer[] = [];
  onMessages(stream, (m) => received.push(Buffer.from(m)));
  const status = new Promise<string>((resolve) => {
    stream.on('response', (headers) => headers['grpc-status'] !== undefined && resolve(String(headers['grpc-status'])));
    stream.on('trailers', (trailers) => resolve(String(trailers['grpc-status'])));
  });
  for (const m of messages) stream.write(frame(m));
  return { stream, received, status };
}

test('a unary call is answered with its message and status 0; an unknown method with UNIMPLEMENTED', async () => {
  const routes = new Map([[healthService.Check.path, unaryCall(async () => healthService.Check.responseSerialize({ status: 1 }))]]);
  const { client, close } = await connected(routes);
  try {
    const health = call(client, healthService.Check.path, [healthService.Check.requestSerialize({ service: '' })]);
    health.stream.end();
    assert.is(await health.status, '0');
    assert.equal(
      health.received.map((m) => healthService.Check.responseDeserialize(m)),
      [{ status: 1 }],
    );
    const unknown = call(client, '/nope.v1.Nope/Call', []);
    unknown.stream.end();
    assert.is(await unknown.status, '12');
  } finally {
    await close();
  }
});

test('DiffCopy: the listing, then each asked file in DATA packets ending with an empty one, then FIN and status 0', async () => {
  const big = Buffer.alloc(600_000);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  const files: SessionFile[] = [
    { name: 'Dockerfile', type: 'file', mode: 0o644, size: 5, data: Buffer.from('FROM\n'), mtimeMs: 1000 },
    { name: 'dir/big', type: 'file', mode: 0o600, size: big.length, data: big, mtimeMs: 2000 },
    { name: 'dir/small', type: 'file', mode: 0o755, size: 2, data: Buffer.from('hi'), mtimeMs: 3000 },
  ];
  const routes = new Map<string, CallHandler>([[DiffCopy.path, (stream, headers) => serveDiffCopy(stream, headers, files)]]);
  const { client, close } = await connected(routes);
  try {
    const stream = client.request({ ':method': 'POST', ':path': DiffCopy.path, 'content-type': 'application/grpc', followpaths: 'dir' });
    const packets: Packet[] = [];
    let listed = 0;
    const status = new Promise<string>((resolve) => stream.on('trailers', (t) => resolve(String(t['grpc-status']))));
    onMessages(stream, (m) => {
      const p = DiffCopy.requestDeserialize(m);
      packets.push(p);
      // As the receiver does: a REQ per file of the listing, FIN once every file has ended.
      if (p.type === PACKET.STAT && p.stat) {
        if (p.stat.mode < 2 ** 31) stream.write(frame(DiffCopy.requestSerialize({ type: PACKET.REQ, ID: listed })));
        listed++;
      }
      const ended = packets.filter((q) => q.type === PACKET.DATA && q.data?.length === 0).length;
      if (p.type === PACKET.DATA && ended === 2) stream.write(frame(DiffCopy.requestSerialize({ type: PACKET.FIN, ID: 0 })));
    });
    assert.is(await status, '0');
    const stats = packets.filter((p) => p.type === PACKET.STAT);
    assert.equal(
      stats.map((p) => p.stat?.path ?? ''),
      ['dir', 'dir/big', 'dir/small', ''],
    );
    const content = (id: number) => Buffer.concat(packets.filter((p) => p.type === PACKET.DATA && p.ID === id).map((p) => Buffer.from(p.data ?? [])));
    assert.ok(content(1).equals(big), 'the big file arrives whole, in order');
    assert.is(content(2).toString(), 'hi');
    assert.ok(packets.filter((p) => p.type === PACKET.DATA && p.ID === 1).length > 2, 'a big file goes in several packets');
    assert.is(packets.at(-1)?.type, PACKET.FIN);
  } finally {
    await close();
  }
});

test('DiffCopy: a reader that reads each file into one buffer again and again still sends every file whole', async () => {
  const contents = [randomBytes(350_000), randomBytes(1), randomBytes(250_000), randomBytes(99_999)];
  const files: SessionFile[] = contents.map((data, i) => ({
    name: `f${i}`,
    type: 'file',
    mode: 0o644,
    size: data.length,
    path: `/nowhere/f${i}`,
    mtimeMs: 1000,
  }));
  // As fileChunksInPlace reads a large file: the next read of the same file goes into the last chunk's memory.
  async function* read(file: SessionFile) {
    const data = contents[Number(file.name.slice(1))]!;
    const buffer = Buffer.alloc(64 * 1024);
    for (let at = 0; at < data.length; at += buffer.length) {
      const n = data.copy(buffer, 0, at, at + buffer.length);
      yield buffer.subarray(0, n);
    }
  }
  const routes = new Map<string, CallHandler>([[DiffCopy.path, (stream, headers) => serveDiffCopy(stream, headers, files, { read })]]);
  const { client, close } = await connected(routes);
  try {
    const stream = client.request({ ':method': 'POST', ':path': DiffCopy.path, 'content-type': 'application/grpc' });
    const packets: Packet[] = [];
    const status = new Promise<string>((resolve) => stream.on('trailers', (t) => resolve(String(t['grpc-status']))));
    onMessages(stream, (m) => {
      const p = DiffCopy.requestDeserialize(m);
      packets.push(p);
      // Every file asked at once, as the daemon asks for a cold context's files while the listing comes.
      if (p.type === PACKET.STAT && !p.stat) for (const id of files.keys()) stream.write(frame(DiffCopy.requestSerialize({ type: PACKET.REQ, ID: id })));
      const ended = packets.filter((q) => q.type === PACKET.DATA && q.data?.length === 0).length;
      if (p.type === PACKET.DATA && ended === files.length) stream.write(frame(DiffCopy.requestSerialize({ type: PACKET.FIN, ID: 0 })));
    });
    assert.is(await status, '0');
    const content = (id: number) => Buffer.concat(packets.filter((p) => p.type === PACKET.DATA && p.ID === id).map((p) => Buffer.from(p.data ?? [])));
    for (const [id, data] of contents.entries()) assert.ok(content(id).equals(data), `f${id} arrives whole`);
  } finally {
    await close();
  }
});

test.run();
