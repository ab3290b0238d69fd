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
 * A STAT packet's bytes, written directly: the listing sends one per file, and protobufjs' fromObject and
 * encode took ~15 µs each (30 ms for 2,000 files, which the daemon waits for). Fields in number order, zeros
 * and empty strings left out as proto3 encoders do; int64 values as two's-complement varints. A STAT packet
 * without a stat (the end of the listing) is the type alone.
 */
export function statPacket(stat: Stat | undefined): Buffer {
  const bytes: number[] = [0x08, PACKET.STAT];
  if (stat) {
    const body: number[] = [];
    const text = (field: number, value: string) => {
      if (value === '') return;
      const encoded = Buffer.from(value);
      body.push((field << 3) | 2, ...varint(encoded.length), ...encoded);
    };
    const number = (field: number, value: number) => {
      if (value !== 0) body.push(field << 3, ...varint64(value));
    };
    text(1, stat.path);
    number(2, stat.mode);
    number(3, stat.uid);
    number(4, stat.gid);
    number(5, stat.size);
    number(6, stat.modTime);
    text(7, stat.linkname);
    bytes.push(0x12, ...varint(body.length), ...body);
  }
  return Buffer.from(bytes);
}

/** An int64's varint: the integer the double holds (nanoseconds pass 2^53), negatives as 2^64 + value. */
function varint64(value: number): number[] {
  if (Number.isSafeInteger(value) && value >= 0) return varint(value);
  let v = BigInt.asUintN(64, BigInt(Math.trunc(value)));
  const out: number[] = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
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
