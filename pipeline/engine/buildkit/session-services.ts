// The gRPC services a build session serves to the daemon: each method's path and how its messages are
// encoded, over protobufjs reflection types (no .proto file to ship). Messages and field numbers as upstream
// defines them: grpc/health/v1/health.proto, moby/buildkit session/auth/auth.proto, session/secrets/secrets.proto.
import protobuf from 'protobufjs';

const root = protobuf.Root.fromJSON({
  nested: {
    HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
    // status: 0 UNKNOWN, 1 SERVING, 2 NOT_SERVING
    HealthCheckResponse: { fields: { status: { type: 'int32', id: 1 } } },
    CredentialsRequest: { fields: { Host: { type: 'string', id: 1 } } },
    CredentialsResponse: { fields: { Username: { type: 'string', id: 1 }, Secret: { type: 'string', id: 2 } } },
    // Field 2, a map of annotations, is not read: decoding skips it.
    GetSecretRequest: { fields: { ID: { type: 'string', id: 1 } } },
    GetSecretResponse: { fields: { data: { type: 'bytes', id: 1 } } },
    // tonistiigi/fsutil types/wire.proto and stat.proto (xattrs, field 10, never sent).
    Packet: {
      fields: { type: { type: 'int32', id: 1 }, stat: { type: 'Stat', id: 2 }, ID: { type: 'uint32', id: 3 }, data: { type: 'bytes', id: 4 } },
    },
    Stat: {
      fields: {
        path: { type: 'string', id: 1 },
        mode: { type: 'uint32', id: 2 },
        uid: { type: 'uint32', id: 3 },
        gid: { type: 'uint32', id: 4 },
        size: { type: 'int64', id: 5 },
        modTime: { type: 'int64', id: 6 },
        linkname: { type: 'string', id: 7 },
        devmajor: { type: 'int64', id: 8 },
        devminor: { type: 'int64', id: 9 },
      },
    },
  },
});

/** A method of a service: its path, and its messages to and from bytes. */
export interface MethodDefinition<Req, Res> {
  path: string;
  requestSerialize(value: Req): Buffer;
  requestDeserialize(bytes: Buffer): Req;
  responseSerialize(value: Res): Buffer;
  responseDeserialize(bytes: Buffer): Res;
}

/** A service: its methods by name; the daemon is told their paths. */
export type ServiceDefinition = Record<string, { path: string }>;

function method<Req extends object, Res extends object>(path: string, request: string, response: string): MethodDefinition<Req, Res> {
  const req = root.lookupType(request);
  const res = root.lookupType(response);
  return {
    path,
    requestSerialize: (value: Req) => Buffer.from(req.encode(req.fromObject(value)).finish()),
    requestDeserialize: (bytes: Buffer) => req.toObject(req.decode(bytes), { defaults: true, longs: Number }) as Req,
    responseSerialize: (value: Res) => Buffer.from(res.encode(res.fromObject(value)).finish()),
    responseDeserialize: (bytes: Buffer) => res.toObject(res.decode(bytes), { defaults: true, longs: Number }) as Res,
  };
}

export const SERVING = 1;

export const healthService = {
  Check: method<{ service: string }, { status: number }>('/grpc.health.v1.Health/Check', 'HealthCheckRequest', 'HealthCheckResponse'),
} satisfies ServiceDefinition;

export const authService = {
  Credentials: method<{ Host: string }, { Username: string; Secret: string }>(
    '/moby.filesync.v1.Auth/Credentials',
    'CredentialsRequest',
    'CredentialsResponse',
  ),
} satisfies ServiceDefinition;

export const secretsService = {
  GetSecret: method<{ ID: string }, { data: Buffer }>('/moby.buildkit.secrets.v1.Secrets/GetSecret', 'GetSecretRequest', 'GetSecretResponse'),
} satisfies ServiceDefinition;

export interface Stat {
  path: string;
  /** Go's os.FileMode: permission bits, plus 1<<31 for a directory and 1<<27 for a symbolic link. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** ns since the epoch. */
  modTime: number;
  linkname: string;
}

export const PACKET = { STAT: 0, REQ: 1, DATA: 2, FIN: 3, ERR: 4 } as const;

export interface Packet {
  type: number;
  stat?: Stat;
  ID: number;
  data?: Uint8Array;
}

/** The context through the session: a bidirectional stream of fsutil packets. */
export const fileSyncService = {
  DiffCopy: method<Packet, Packet>('/moby.filesync.v1.FileSync/DiffCopy', 'Packet', 'Packet'),
} satisfies ServiceDefinition;

/** The methods of services, as the daemon is told them in X-Docker-Expose-Session-Grpc-Method headers. */
export function methodsOf(...services: ServiceDefinition[]): string[] {
  return services.flatMap((s) => Object.values(s).map((m) => m.path));
}

/**
 * The bytes of a DATA packet up to its data, which follow unchanged: the packet, without copying a chunk of
 * the context into a message of its own. Fields in number order: type (1, varint), ID (3, varint), data (4,
 * length-delimited); a zero ID and empty data are left out, as proto3 encoders do (fsutil's included).
 */
export function dataPacketHead(id: number, length: number): Buffer {
  const bytes = [0x08, PACKET.DATA];
  if (id !== 0) bytes.push(0x18, ...varint(id));
  if (length > 0) bytes.push(0x22, ...varint(length));
  return Buffer.from(bytes);
}

/**
 * STAT packets written directly, framed as gRPC messages, many to a buffer: the listing sends one per entry
 * of the context, and building each as an array of numbers, then a Buffer, then a framed copy, took ~20 µs
 * an entry (2,000 entries: ~40 ms the daemon waits for before it asks for a file). Fields in number order,
 * zeros and empty strings left out as proto3 encoders do; int64 values as two's-complement varints. A STAT
 * packet without a stat (the end of the listing) is the type alone.
 */
export class StatFrames {
  private out = new ByteWriter(64 * 1024);
  private body = new ByteWriter(1024);

  /** Bytes written and not yet taken. */
  get pending(): number {
    return this.out.length;
  }

  add(stat: Stat | undefined): void {
    if (!stat) {
      this.frame(0);
      return;
    }
    const body = this.body;
    body.reset();
    body.text(1, stat.path);
    body.number(2, stat.mode);
    body.number(3, stat.uid);
    body.number(4, stat.gid);
    body.number(5, stat.size);
    body.number(6, stat.modTime);
    body.text(7, stat.linkname);
    this.frame(body.length);
  }

  /** The frames written so far; the next are written into new memory. */
  take(): Buffer {
    return this.out.take();
  }

  /** The frame's prefix, the packet's type (STAT), then the stat's field (2) with its bytes. */
  private frame(bodyLength: number): void {
    const packetLength = 2 + (bodyLength === 0 ? 0 : 1 + varintLength(bodyLength) + bodyLength);
    const out = this.out;
    out.room(5 + packetLength);
    out.byte(0);
    out.uint32(packetLength);
    out.byte(0x08);
    out.byte(PACKET.STAT);
    if (bodyLength === 0) return;
    out.byte(0x12);
    out.varint(bodyLength);
    out.bytes(this.body.view());
  }
}

/** One STAT packet's bytes, unframed. */
export function statPacket(stat: Stat | undefined): Buffer {
  const frames = new StatFrames();
  frames.add(stat);
  return frames.take().subarray(5);
}

/** Bytes written one field at a time into memory that grows as needed. */
class ByteWriter {
  private buffer: Buffer;
  private at = 0;

  constructor(private readonly size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  get length(): number {
    return this.at;
  }

  reset(): void {
    this.at = 0;
  }

  view(): Buffer {
    return this.buffer.subarray(0, this.at);
  }

  take(): Buffer {
    const taken = this.view();
    this.buffer = Buffer.allocUnsafe(Math.max(this.size, this.buffer.length));
    this.at = 0;
    return taken;
  }

  room(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.at + bytes));
    this.buffer.copy(bigger, 0, 0, this.at);
    this.buffer = bigger;
  }

  byte(value: number): void {
    this.buffer[this.at++] = value;
  }

  uint32(value: number): void {
    this.buffer.writeUInt32BE(value, this.at);
    this.at += 4;
  }

  bytes(value: Uint8Array): void {
    this.room(value.length);
    this.buffer.set(value, this.at);
    this.at += value.length;
  }

  /** A string field; an empty one is left out. */
  text(field: number, value: string): void {
    if (value === '') return;
    const length = Buffer.byteLength(value);
    this.room(11 + length);
    this.byte((field << 3) | 2);
    this.varint(length);
    this.at += this.buffer.write(value, this.at, length, 'utf8');
  }

  /** An integer field (varint); zero is left out. */
  number(field: number, value: number): void {
    if (value === 0) return;
    this.room(11);
    this.byte(field << 3);
    this.varint(value);
  }

  /**
   * An int64's varint from the integer a double holds (nanoseconds pass 2^53, and the double's value is the
   * one sent), in two 32-bit halves; a negative one as 2^64 + value.
   */
  varint(value: number): void {
    if (value >= 0 && value < 2 ** 32 && Number.isInteger(value)) {
      let v = value;
      while (v > 0x7f) {
        this.byte((v & 0x7f) | 0x80);
        v >>>= 7;
      }
      this.byte(v);
      return;
    }
    if (value >= 0 && value < 2 ** 64 && Number.isInteger(value)) {
      // Both halves are exact: a remainder and a division by a power of two lose nothing.
      let low = value % 2 ** 32;
      let high = (value - low) / 2 ** 32;
      while (high !== 0 || low > 0x7f) {
        this.byte((low & 0x7f) | 0x80);
        low = ((low >>> 7) | ((high & 0x7f) << 25)) >>> 0;
        high >>>= 7;
      }
      this.byte(low);
      return;
    }
    let v = BigInt.asUintN(64, BigInt(Math.trunc(value)));
    while (v > 0x7fn) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }
}

function varintLength(value: number): number {
  let length = 1;
  for (let v = value; v > 0x7f; v = Math.floor(v / 0x80)) length++;
  return length;
}

function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}
