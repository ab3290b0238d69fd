// The messages of containerd's content service (api/services/content/v1/content.proto) that BuildKit's
// session content store asks for: Info, Read, Write, Status and Abort. BuildKit reaches a client-side store
// through them (session/content), with the store's id in the `buildkit-attachable-store-id` header; a local
// cache directory is the store `local:` + the path given as the cache's dest or src. By hand on
// protobuf-wire.ts, field numbers as upstream; checked against protobufjs in the unit tests.
import { readMessage, WireWriter } from './protobuf-wire.ts';

const SERVICE = '/containerd.services.content.v1.Content';
export const CONTENT = {
  info: `${SERVICE}/Info`,
  read: `${SERVICE}/Read`,
  status: `${SERVICE}/Status`,
  write: `${SERVICE}/Write`,
  abort: `${SERVICE}/Abort`,
} as const;

/** The header naming which of the session's stores a call is for. */
export const STORE_ID_HEADER = 'buildkit-attachable-store-id';
/** A local cache directory's store id is this and its path, as the daemon was given it. */
export const LOCAL_STORE_PREFIX = 'local:';

/** WriteAction: STAT asks where the write stands, WRITE adds data at an offset, COMMIT checks and stores it. */
export const WRITE_ACTION = { STAT: 0, WRITE: 1, COMMIT: 2 } as const;

const VARINT = 0;
const LEN = 2;

/** InfoRequest, ReadContentRequest, StatusRequest, AbortRequest: a digest or ref in field 1, more numbers after. */
export interface ReadRequest {
  digest: string;
  offset: number;
  /** 0: to the end. */
  size: number;
}

export function decodeReadRequest(bytes: Uint8Array): ReadRequest {
  const request: ReadRequest = { digest: '', offset: 0, size: 0 };
  readMessage(bytes, (r, field, wire) => {
    if (field === 1 && wire === LEN) request.digest = r.string();
    else if (field === 2 && wire === VARINT) request.offset = r.int64();
    else if (field === 3 && wire === VARINT) request.size = r.int64();
    else return false;
    return true;
  });
  return request;
}

/** The string in field 1 of InfoRequest (digest), StatusRequest and AbortRequest (ref). */
export function decodeFirstString(bytes: Uint8Array): string {
  let value = '';
  readMessage(bytes, (r, field, wire) => field === 1 && wire === LEN && ((value = r.string()), true));
  return value;
}

export interface WriteRequest {
  action: number;
  ref: string;
  /** 0: not checked. */
  total: number;
  /** '': not checked. */
  expected: string;
  offset: number;
  data: Uint8Array;
}

const NO_DATA = new Uint8Array(0);

/** WriteContentRequest; its labels (7) are not kept: a directory has nowhere to put them. */
export function decodeWriteRequest(bytes: Uint8Array): WriteRequest {
  const request: WriteRequest = { action: WRITE_ACTION.STAT, ref: '', total: 0, expected: '', offset: 0, data: NO_DATA };
  readMessage(bytes, (r, field, wire) => {
    if (field === 1 && wire === VARINT) request.action = r.int32();
    else if (field === 2 && wire === LEN) request.ref = r.string();
    else if (field === 3 && wire === VARINT) request.total = r.int64();
    else if (field === 4 && wire === LEN) request.expected = r.string();
    else if (field === 5 && wire === VARINT) request.offset = r.int64();
    // A view of the message's bytes: written out before the next message is read.
    else if (field === 6 && wire === LEN) request.data = r.bytesField();
    else return false;
    return true;
  });
  return request;
}

function timestamp(w: WireWriter, field: number, ms: number): void {
  const t = new WireWriter(16);
  t.number(1, Math.floor(ms / 1000));
  t.number(2, Math.round((ms % 1000) * 1e6));
  const bytes = t.view();
  w.byte((field << 3) | LEN);
  w.varint(bytes.length);
  w.raw(bytes);
}

export interface WriteResponse {
  action: number;
  startedAt: number;
  updatedAt: number;
  offset: number;
  total: number;
  digest: string;
}

/** WriteContentResponse: started_at 2 and updated_at 3 as google.protobuf.Timestamp (ms here). */
export function encodeWriteResponse(response: WriteResponse): Buffer {
  const w = new WireWriter(128);
  w.number(1, response.action);
  timestamp(w, 2, response.startedAt);
  timestamp(w, 3, response.updatedAt);
  w.number(4, response.offset);
  w.number(5, response.total);
  w.string(6, response.digest);
  return w.take();
}

/** InfoResponse { Info info = 1 { digest 1, size 2, created_at 3, updated_at 4 } }. */
export function encodeInfoResponse(info: { digest: string; size: number; createdAt: number; updatedAt: number }): Buffer {
  const inner = new WireWriter(128);
  inner.string(1, info.digest);
  inner.number(2, info.size);
  timestamp(inner, 3, info.createdAt);
  timestamp(inner, 4, info.updatedAt);
  const bytes = inner.view();
  const w = new WireWriter(bytes.length + 8);
  w.byte((1 << 3) | LEN);
  w.varint(bytes.length);
  w.raw(bytes);
  return w.take();
}

/**
 * A ReadContentResponse up to its data, which follows unchanged (offset 1, data 2): a chunk of a blob is
 * written as it was read, not copied into a message of its own.
 */
export function readResponseHead(offset: number, length: number): Buffer {
  const w = new WireWriter(24);
  w.number(1, offset);
  if (length > 0) {
    w.byte((2 << 3) | LEN);
    w.varint(length);
  }
  return w.take();
}
