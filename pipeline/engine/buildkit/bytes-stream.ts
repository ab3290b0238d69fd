// Control.Session carries the session's own HTTP/2 connection as a stream of BytesMessage
// (control.proto: `message BytesMessage { bytes data = 1; }`), one gRPC message per piece of that
// connection's bytes, as BuildKit's grpchijack does on both ends. This turns such a call into a duplex the
// session's gRPC server (grpc-server.ts) is served on: the daemon is that connection's HTTP/2 client.
import http2 from 'node:http2';
import { Duplex } from 'node:stream';
import { onMessages } from './grpc-server.ts';
import { readMessage, varintLength } from './protobuf-wire.ts';

// gRPC servers refuse messages over 4 MiB by default; pieces are joined up to this much and no further.
const MAX_MESSAGE = 1024 * 1024;

/** The duplex whose bytes are the `data` of the call's BytesMessages, both ways. */
export function bytesMessageDuplex(call: http2.ClientHttp2Stream): Duplex {
  const duplex = new Duplex({
    writev(chunks, callback) {
      writeMessages(
        call,
        chunks.map(({ chunk }) => chunk as Buffer),
        callback,
      );
    },
    final(callback) {
      call.end();
      callback();
    },
    read() {
      call.resume();
    },
    destroy(err, callback) {
      if (!call.destroyed) call.close(http2.constants.NGHTTP2_CANCEL);
      callback(err);
    },
  });
  onMessages(call, (message) => {
    const data = bytesMessageData(message);
    if (data.length > 0 && !duplex.push(data)) call.pause();
  });
  call.on('end', () => duplex.push(null));
  call.on('error', (err) => duplex.destroy(err));
  call.on('close', () => duplex.destroy());
  return duplex;
}

/** Writes the chunks as BytesMessages of up to MAX_MESSAGE bytes each, without copying them. */
function writeMessages(call: http2.ClientHttp2Stream, chunks: readonly Buffer[], callback: (err?: Error | null) => void): void {
  if (call.destroyed || call.writableEnded) {
    callback();
    return;
  }
  let group: Buffer[] = [];
  let size = 0;
  const out: Buffer[] = [];
  const flush = () => {
    if (size === 0) return;
    out.push(messageHeader(size), ...group);
    group = [];
    size = 0;
  };
  for (const chunk of chunks) {
    for (let at = 0; at < chunk.length;) {
      const piece = chunk.subarray(at, at + Math.min(chunk.length - at, MAX_MESSAGE - size));
      group.push(piece);
      size += piece.length;
      at += piece.length;
      if (size === MAX_MESSAGE) flush();
    }
  }
  flush();
  if (out.length === 0) {
    callback();
    return;
  }
  out.forEach((buffer, i) => call.write(buffer, i === out.length - 1 ? (err) => callback(err ?? null) : undefined));
}

/** gRPC's prefix (no compression, the message's length) and the BytesMessage's tag and length of `data`. */
export function messageHeader(dataLength: number): Buffer {
  const tagged = 1 + varintLength(dataLength);
  const header = Buffer.allocUnsafe(5 + tagged);
  header[0] = 0;
  header.writeUInt32BE(tagged + dataLength, 1);
  header[5] = 0x0a;
  let at = 6;
  let v = dataLength;
  while (v > 0x7f) {
    header[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  header[at] = v;
  return header;
}

/** The `data` of a BytesMessage, as a view of its bytes; the last occurrence wins, as proto3 reads it. */
export function bytesMessageData(message: Uint8Array): Buffer {
  let data: Uint8Array = Buffer.alloc(0);
  readMessage(message, (r, field, wire) => field === 1 && wire === 2 && ((data = r.bytesField()), true));
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
