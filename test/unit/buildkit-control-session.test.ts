// Control.Session's tunnel: the session's HTTP/2 connection carried as BytesMessages on one gRPC call, driven
// against a node:http2 server on a unix socket that plays the daemon's end (moby's Control service).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { bytesMessageData, bytesMessageDuplex, messageHeader } from '../../pipeline/engine/buildkit/bytes-stream.ts';
import { controlOn, dialControl } from '../../pipeline/engine/buildkit/control-dial.ts';
import { callStatus, connectGrpc, GrpcCallError, openCall, unary } from '../../pipeline/engine/buildkit/grpc-client.ts';
import { endWithStatus, frame, onMessages, respond } from '../../pipeline/engine/buildkit/grpc-server.ts';
import { reference } from '../support/protobuf-reference.ts';
import { FILE_SEND_DIFFCOPY, fileSendHandler } from '../../pipeline/engine/buildkit/file-send.ts';
import { Writable } from 'node:stream';

const BytesMessage = reference('BytesMessage');

async function withServer(
  onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void,
  run: (client: http2.ClientHttp2Session) => Promise<void>,
) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-control-'));
  const socketPath = path.join(dir, 'control.sock');
  const server = http2.createServer();
  server.on('stream', onStream);
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  let client: http2.ClientHttp2Session | undefined;
  try {
    client = await connectGrpc(net.connect(socketPath));
    await run(client);
  } finally {
    client?.destroy();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
}

test('a BytesMessage header and its data decode as protobufjs reads a BytesMessage, any length', () => {
  for (const length of [0, 1, 127, 128, 16_393, 1 << 20]) {
    const data = randomBytes(length);
    const wire = Buffer.concat([messageHeader(length), data]);
    assert.is(wire.readUInt32BE(1), wire.length - 5, `prefix of ${length}`);
    const decoded = BytesMessage.decode(wire.subarray(5)) as { data: Uint8Array };
    assert.ok(Buffer.from(decoded.data).equals(data), `${length} bytes`);
    assert.ok(bytesMessageData(BytesMessage.encode({ data })).equals(data));
  }
});

test('the tunnel carries bytes both ways as BytesMessages of at most 1 MiB, with the metadata as headers', async () => {
  const sent = randomBytes(3 * 1024 * 1024 + 17);
  const received: Buffer[] = [];
  const sizes: number[] = [];
  let metadata: http2.IncomingHttpHeaders = {};
  await withServer(
    (stream, headers) => {
      metadata = headers;
      respond(stream);
      onMessages(stream, (message) => {
        sizes.push(message.length);
        received.push(Buffer.from(BytesMessage.decode(message)['data'] as Uint8Array));
      });
      stream.on('end', () => {
        stream.write(frame(BytesMessage.encode({ data: Buffer.from('from the daemon') })));
        stream.end();
      });
    },
    async (client) => {
      const call = openCall(client, '/moby.buildkit.v1.Control/Session', {
        'x-docker-expose-session-uuid': 'u1',
        'x-docker-expose-session-grpc-method': ['/a/B', '/c/D'],
      });
      const tunnel = bytesMessageDuplex(call);
      const back: Buffer[] = [];
      tunnel.on('data', (chunk: Buffer) => back.push(chunk));
      const ended = new Promise((resolve) => tunnel.on('end', resolve));
      tunnel.write(sent.subarray(0, 10));
      tunnel.end(sent.subarray(10));
      await ended;
      assert.is(Buffer.concat(back).toString(), 'from the daemon');
    },
  );
  assert.ok(Buffer.concat(received).equals(sent), 'every byte, in order');
  assert.ok(Math.max(...sizes) <= 1024 * 1024 + 6, `largest message ${Math.max(...sizes)}`);
  assert.is(metadata['x-docker-expose-session-uuid'], 'u1');
  assert.is(metadata['x-docker-expose-session-grpc-method'], '/a/B, /c/D');
});

test('a unary call returns the answer; a failing status rejects with its code and decoded message', async () => {
  await withServer(
    (stream, headers) => {
      if (headers[':path'] === '/x.Y/Fails') {
        endWithStatus(stream, 12, 'unknown service x.Y: ünïcode');
        return;
      }
      onMessages(stream, (message) => {
        respond(stream);
        stream.end(frame(Buffer.concat([Buffer.from('echo:'), message])));
      });
    },
    async (client) => {
      assert.is((await unary(client, '/x.Y/Echo', Buffer.from('hi'))).toString(), 'echo:hi');
      const err = await unary(client, '/x.Y/Fails', Buffer.alloc(0)).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.instance(err, GrpcCallError);
      assert.equal([(err as GrpcCallError).code, (err as GrpcCallError).message], [12, 'unknown service x.Y: ünïcode']);
    },
  );
});

test('connecting to something that answers HTTP/1.1 fails at once, not at the timeout', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-control-'));
  const socketPath = path.join(dir, 'http1.sock');
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  try {
    const started = Date.now();
    const err = await connectGrpc(net.connect(socketPath), 5000).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(err, Error);
    assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
});

test('callStatus rejects a call that ends with no status', async () => {
  await withServer(
    (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.end();
    },
    async (client) => {
      const call = openCall(client, '/x.Y/Nothing');
      call.resume();
      call.end();
      const err = await callStatus(call, '/x.Y/Nothing').then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.instance(err, GrpcCallError);
    },
  );
});

test('the Control API is reached natively where the socket speaks HTTP/2, else by POST /grpc, and native is not tried again', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-control-'));
  const h2Path = path.join(dir, 'h2.sock');
  const h1Path = path.join(dir, 'h1.sock');
  const h2 = http2.createServer();
  const sockets = new Set<net.Socket>();
  const h1 = net.createServer((socket) => {
    sockets.add(socket);
    socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve) => h2.listen(h2Path, resolve));
  await new Promise<void>((resolve) => h1.listen(h1Path, resolve));
  const engine = (nativePath: string) => {
    const calls = { dial: 0, upgrade: [] as string[] };
    const api = {
      request: () => Promise.reject(new Error('not used')),
      stream: () => Promise.reject(new Error('not used')),
      dial: () => {
        calls.dial++;
        return net.connect(nativePath);
      },
      upgrade: async (request: { path: string }) => {
        calls.upgrade.push(request.path);
        return net.connect(h2Path);
      },
    };
    return { api, calls };
  };
  try {
    const modern = engine(h2Path);
    const native = await dialControl(modern.api);
    native.close();
    assert.equal([native.route, modern.calls.dial, modern.calls.upgrade], ['native', 1, []]);

    // A buildkitd's socket (or any connection the caller opened) gives the same connection.
    const direct = await controlOn(net.connect(h2Path));
    assert.is(direct.route, 'direct');
    direct.close();

    const older = engine(h1Path);
    const first = await dialControl(older.api);
    first.close();
    const second = await dialControl(older.api);
    second.close();
    assert.equal([first.route, second.route, older.calls.dial, older.calls.upgrade], ['grpc-upgrade', 'grpc-upgrade', 1, ['/grpc', '/grpc']]);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => h2.close(resolve));
    await new Promise((resolve) => h1.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();

test('an exported file arrives through FileSend whole and in order, at the pace of a slow target, with the exporter metadata; a second is refused', async () => {
  const sent = randomBytes(5 * 1024 * 1024 + 3);
  const chunks: Buffer[] = [];
  let metadata: Record<string, string> = {};
  // A target that takes 64 KiB at a time, slowly: the call waits for it rather than pile the file up.
  const target = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      setImmediate(done);
    },
  });
  const handler = fileSendHandler({
    open(md) {
      metadata = md;
      return target;
    },
  });
  await withServer(handler, async (client) => {
    const call = openCall(client, FILE_SEND_DIFFCOPY, { 'exporter-md-containerimage.digest': 'sha256:abc' });
    const ended = callStatus(call, FILE_SEND_DIFFCOPY);
    for (let at = 0; at < sent.length; at += 1024 * 1024) call.write(frame(BytesMessage.encode({ data: sent.subarray(at, at + 1024 * 1024) })));
    call.end();
    await ended;
    const second = openCall(client, FILE_SEND_DIFFCOPY);
    const refused = callStatus(second, FILE_SEND_DIFFCOPY);
    second.end();
    await refused.then(
      () => assert.unreachable('one file per build'),
      (err: GrpcCallError) => assert.is(err.code, 6),
    );
  });
  assert.ok(Buffer.concat(chunks).equals(sent), 'the same bytes');
  assert.equal(metadata, { 'containerimage.digest': 'sha256:abc' });
  assert.ok(target.writableFinished, 'the target was ended before the call was answered');
});
