// The gRPC services a build session serves to the daemon: each method's path and how its messages are
// encoded, by hand (protobuf-wire.ts). Messages and field numbers as upstream defines them:
// grpc/health/v1/health.proto, moby/buildkit session/auth/auth.proto, session/secrets/secrets.proto, and
// tonistiigi/fsutil types/wire.proto and stat.proto.
import { readMessage, WireWriter, varintLength, type WireReader } from './protobuf-wire.ts';

/** A message to and from its bytes. */
interface Codec<T> {
  encode(value: T): Buffer;
  decode(bytes: Uint8Array): T;
}

const VARINT = 0;
const LEN = 2;

/** A message of string fields, by field number. */
function strings<T extends Record<string, string>>(fields: Record<keyof T & string, number>): Codec<T> {
  const names = Object.entries(fields) as [keyof T & string, number][];
  return {
    encode(value) {
      const w = new WireWriter();
      for (const [name, field] of names) w.string(field, value[name]);
      return w.take();
    },
    decode(bytes) {
      const value = Object.fromEntries(names.map(([name]) => [name, ''])) as Record<string, string>;
      readMessage(bytes, (r, field, wire) => {
        const name = names.find(([, f]) => f === field)?.[0];
        if (name === undefined || wire !== LEN) return false;
        value[name] = r.string();
        return true;
      });
      return value as T;
    },
  };
}

/** A message of one field, numbered 1, of this name: read as `read` reads it when it comes with this wire type. */
function oneField<K extends string, V>(
  name: K,
  absent: V,
  wire: number,
  write: (w: WireWriter, value: V) => void,
  read: (r: WireReader) => V,
): Codec<Record<K, V>> {
  return {
    encode(value) {
      const w = new WireWriter();
      write(w, value[name]);
      return w.take();
    },
    decode(bytes) {
      let value = absent;
      readMessage(bytes, (r, field, type) => field === 1 && type === wire && ((value = read(r)), true));
      return { [name]: value } as Record<K, V>;
    },
  };
}

/** Decoded bytes, in memory of their own: a message's buffer may be reused once it is read. */
const copy = (view: Uint8Array) => Buffer.from(view);
const EMPTY = Buffer.alloc(0);

// status: 0 UNKNOWN, 1 SERVING, 2 NOT_SERVING
const healthCheckResponse = oneField(
  'status',
  0,
  VARINT,
  (w, status) => w.number(1, status),
  (r) => r.int32(),
);
// Field 2 of GetSecretRequest, a map of annotations, is not read: decoding skips it.
const getSecretResponse = oneField<'data', Uint8Array>(
  'data',
  EMPTY,
  LEN,
  (w, data) => w.bytes(1, data),
  (r) => copy(r.bytesField()),
);

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

function method<Req, Res>(path: string, request: Codec<Req>, response: Codec<Res>): MethodDefinition<Req, Res> {
  return {
    path,
    requestSerialize: (value) => request.encode(value),
    requestDeserialize: (bytes) => request.decode(bytes),
    responseSerialize: (value) => response.encode(value),
    responseDeserialize: (bytes) => response.decode(bytes),
  };
}

export const SERVING = 1;

export const healthService = {
  Check: method('/grpc.health.v1.Health/Check', strings<{ service: string }>({ service: 1 }), healthCheckResponse),
} satisfies ServiceDefinition;

export const authService = {
  Credentials: method(
    '/moby.filesync.v1.Auth/Credentials',
    strings<{ Host: string }>({ Host: 1 }),
    strings<{ Username: string; Secret: string }>({ Username: 1, Secret: 2 }),
  ),
} satisfies ServiceDefinition;

export const secretsService = {
  GetSecret: method('/moby.buildkit.secrets.v1.Secrets/GetSecret', strings<{ ID: string }>({ ID: 1 }), getSecretResponse),
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
  DiffCopy: method('/moby.filesync.v1.FileSync/DiffCopy', packetCodec(), packetCodec()),
} satisfies ServiceDefinition;

/** The methods of services, as the daemon is told them in X-Docker-Expose-Session-Grpc-Method headers. */
export function methodsOf(...services: ServiceDefinition[]): string[] {
  return services.flatMap((s) => Object.values(s).map((m) => m.path));
}

/** Packets both ways: the daemon's REQ, FIN and ERR; our STAT, DATA, FIN and ERR. */
function packetCodec(): Codec<Packet> {
  return {
    encode(packet) {
      const w = new WireWriter();
      w.number(1, packet.type);
      if (packet.stat) {
        const body = encodeStat(new WireWriter(), packet.stat);
        w.byte(0x12);
        w.varint(body.length);
        w.raw(body.view());
      }
      w.number(3, packet.ID);
      w.bytes(4, packet.data);
      return w.take();
    },
    decode(bytes) {
      const packet: Packet = { type: 0, ID: 0, data: EMPTY };
      readMessage(bytes, (r, field, wire) => {
        if (field === 1 && wire === VARINT) packet.type = r.int32();
        else if (field === 2 && wire === LEN) packet.stat = decodeStat(r.bytesField());
        else if (field === 3 && wire === VARINT) packet.ID = r.varint() >>> 0;
        else if (field === 4 && wire === LEN) packet.data = copy(r.bytesField());
        else return false;
        return true;
      });
      return packet;
    },
  };
}

/** A Stat's fields, in number order, into `w`. Device numbers (8, 9) and xattrs (10) are never sent. */
function encodeStat(w: WireWriter, stat: Stat): WireWriter {
  w.string(1, stat.path);
  w.number(2, stat.mode);
  w.number(3, stat.uid);
  w.number(4, stat.gid);
  w.number(5, stat.size);
  w.number(6, stat.modTime);
  w.string(7, stat.linkname);
  return w;
}

function decodeStat(bytes: Uint8Array): Stat {
  const stat: Stat = { path: '', mode: 0, uid: 0, gid: 0, size: 0, modTime: 0, linkname: '' };
  readMessage(bytes, (r, field, wire) => {
    if (wire === LEN && field === 1) stat.path = r.string();
    else if (wire === LEN && field === 7) stat.linkname = r.string();
    else if (wire !== VARINT) return false;
    else if (field === 2) stat.mode = r.varint() >>> 0;
    else if (field === 3) stat.uid = r.varint() >>> 0;
    else if (field === 4) stat.gid = r.varint() >>> 0;
    else if (field === 5) stat.size = r.int64();
    else if (field === 6) stat.modTime = r.int64();
    else return false;
    return true;
  });
  return stat;
}

/**
 * The bytes of a DATA packet up to its data, which follow unchanged: the packet, without copying a chunk of
 * the context into a message of its own. Fields in number order: type (1, varint), ID (3, varint), data (4,
 * length-delimited); a zero ID and empty data are left out, as proto3 encoders do (fsutil's included).
 */
export function dataPacketHead(id: number, length: number): Buffer {
  const w = new WireWriter(16);
  w.number(1, PACKET.DATA);
  w.number(3, id);
  if (length > 0) {
    w.byte(0x22);
    w.varint(length);
  }
  return w.take();
}

/**
 * STAT packets written directly, framed as gRPC messages, many to a buffer: the listing sends one per entry
 * of the context, and building each as an array of numbers, then a Buffer, then a framed copy, took ~20 µs
 * an entry (2,000 entries: ~40 ms the daemon waits for before it asks for a file). The packet's type is
 * written though it is zero, as before; the rest as encodeStat writes it.
 */
export class StatFrames {
  private out = new WireWriter(64 * 1024);
  private body = new WireWriter(1024);

  /** Bytes written and not yet taken. */
  get pending(): number {
    return this.out.length;
  }

  add(stat: Stat | undefined): void {
    this.body.reset();
    if (stat) encodeStat(this.body, stat);
    const bodyLength = this.body.length;
    const packetLength = 2 + (stat ? 1 + varintLength(bodyLength) + bodyLength : 0);
    const out = this.out;
    out.byte(0);
    out.uint32BE(packetLength);
    out.byte(0x08);
    out.byte(PACKET.STAT);
    if (!stat) return;
    out.byte(0x12);
    out.varint(bodyLength);
    out.raw(this.body.view());
  }

  /** The frames written so far; the next are written into new memory. */
  take(): Buffer {
    return this.out.take();
  }
}

/** One STAT packet's bytes, unframed. */
export function statPacket(stat: Stat | undefined): Buffer {
  const frames = new StatFrames();
  frames.add(stat);
  return frames.take().subarray(5);
}
