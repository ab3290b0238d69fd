// The part of moby/buildkit's api/services/control/control.proto that a `moby.buildkit.trace` line carries:
// StatusResponse and its messages, decoded by hand (protobuf-wire.ts). Field numbers are the upstream ones;
// fields we do not read (progressGroup, a warning's source info and ranges) are skipped.
import { readMessage, type WireReader } from './protobuf-wire.ts';

export interface Timestamp {
  seconds: number;
  nanos: number;
}

export interface Vertex {
  digest: string;
  inputs: string[];
  name: string;
  cached: boolean;
  started?: Timestamp;
  completed?: Timestamp;
  error: string;
}

export interface VertexStatus {
  ID: string;
  vertex: string;
  name: string;
  current: number;
  total: number;
  timestamp?: Timestamp;
  started?: Timestamp;
  completed?: Timestamp;
}

export interface VertexLog {
  vertex: string;
  timestamp?: Timestamp;
  /** 1 stdout, 2 stderr. */
  stream: number;
  msg: Buffer;
}

export interface VertexWarning {
  vertex: string;
  level: number;
  short: Buffer;
  detail: Buffer[];
  url: string;
}

export interface StatusResponse {
  vertexes: Vertex[];
  statuses: VertexStatus[];
  logs: VertexLog[];
  warnings: VertexWarning[];
}

/** Decodes the protobuf bytes of one trace line; throws on bytes that are not a StatusResponse. */
export function decodeStatus(bytes: Uint8Array): StatusResponse {
  const status: StatusResponse = { vertexes: [], statuses: [], logs: [], warnings: [] };
  readMessage(bytes, (r, field, wire) => {
    if (wire !== LEN) return false;
    if (field === 1) status.vertexes.push(vertex(r.bytesField()));
    else if (field === 2) status.statuses.push(vertexStatus(r.bytesField()));
    else if (field === 3) status.logs.push(vertexLog(r.bytesField()));
    else if (field === 4) status.warnings.push(vertexWarning(r.bytesField()));
    else return false;
    return true;
  });
  return status;
}

export function timestampMs(t: Timestamp | undefined): number | undefined {
  return t ? t.seconds * 1000 + Math.floor(t.nanos / 1e6) : undefined;
}

const VARINT = 0;
const LEN = 2;

/** Reads a field of one of the kinds a message declares; a field sent with another wire type is skipped. */
type Fields = Record<number, [wire: typeof VARINT | typeof LEN, read: (r: WireReader) => void]>;

function decode(bytes: Uint8Array, fields: Fields): void {
  readMessage(bytes, (r, field, wire) => {
    const known = fields[field];
    if (!known || known[0] !== wire) return false;
    known[1](r);
    return true;
  });
}

function timestamp(bytes: Uint8Array): Timestamp {
  const t: Timestamp = { seconds: 0, nanos: 0 };
  decode(bytes, { 1: [VARINT, (r) => (t.seconds = r.int64())], 2: [VARINT, (r) => (t.nanos = r.int32())] });
  return t;
}

function vertex(bytes: Uint8Array): Vertex {
  const v: Vertex = { digest: '', inputs: [], name: '', cached: false, error: '' };
  decode(bytes, {
    1: [LEN, (r) => (v.digest = r.string())],
    2: [LEN, (r) => v.inputs.push(r.string())],
    3: [LEN, (r) => (v.name = r.string())],
    4: [VARINT, (r) => (v.cached = r.bool())],
    5: [LEN, (r) => (v.started = timestamp(r.bytesField()))],
    6: [LEN, (r) => (v.completed = timestamp(r.bytesField()))],
    7: [LEN, (r) => (v.error = r.string())],
  });
  return v;
}

function vertexStatus(bytes: Uint8Array): VertexStatus {
  const s: VertexStatus = { ID: '', vertex: '', name: '', current: 0, total: 0 };
  decode(bytes, {
    1: [LEN, (r) => (s.ID = r.string())],
    2: [LEN, (r) => (s.vertex = r.string())],
    3: [LEN, (r) => (s.name = r.string())],
    4: [VARINT, (r) => (s.current = r.int64())],
    5: [VARINT, (r) => (s.total = r.int64())],
    6: [LEN, (r) => (s.timestamp = timestamp(r.bytesField()))],
    7: [LEN, (r) => (s.started = timestamp(r.bytesField()))],
    8: [LEN, (r) => (s.completed = timestamp(r.bytesField()))],
  });
  return s;
}

function vertexLog(bytes: Uint8Array): VertexLog {
  const l: VertexLog = { vertex: '', stream: 0, msg: Buffer.alloc(0) };
  decode(bytes, {
    1: [LEN, (r) => (l.vertex = r.string())],
    2: [LEN, (r) => (l.timestamp = timestamp(r.bytesField()))],
    3: [VARINT, (r) => (l.stream = r.int64())],
    4: [LEN, (r) => (l.msg = asBuffer(r.bytesField()))],
  });
  return l;
}

function vertexWarning(bytes: Uint8Array): VertexWarning {
  const w: VertexWarning = { vertex: '', level: 0, short: Buffer.alloc(0), detail: [], url: '' };
  decode(bytes, {
    1: [LEN, (r) => (w.vertex = r.string())],
    2: [VARINT, (r) => (w.level = r.int64())],
    3: [LEN, (r) => (w.short = asBuffer(r.bytesField()))],
    4: [LEN, (r) => w.detail.push(asBuffer(r.bytesField()))],
    5: [LEN, (r) => (w.url = r.string())],
  });
  return w;
}

const asBuffer = (view: Uint8Array) => Buffer.from(view.buffer, view.byteOffset, view.byteLength);
