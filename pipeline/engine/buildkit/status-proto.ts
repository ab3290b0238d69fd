// The part of moby/buildkit's api/services/control/control.proto that a `moby.buildkit.trace` line carries:
// StatusResponse and its messages, declared here as a protobufjs reflection definition so that nothing has
// to be copied next to the compiled code (tsc does not copy .proto files) and no proto compiler is needed.
// Field numbers are the upstream ones; fields we do not read (progressGroup, warning source info) are left
// out, which protobuf decoding skips.
import protobuf from 'protobufjs';

const timestamp = { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } };

const root = protobuf.Root.fromJSON({
  nested: {
    google: { nested: { protobuf: { nested: { Timestamp: { fields: timestamp } } } } },
    moby: {
      nested: {
        buildkit: {
          nested: {
            v1: {
              nested: {
                StatusResponse: {
                  fields: {
                    vertexes: { rule: 'repeated', type: 'Vertex', id: 1 },
                    statuses: { rule: 'repeated', type: 'VertexStatus', id: 2 },
                    logs: { rule: 'repeated', type: 'VertexLog', id: 3 },
                    warnings: { rule: 'repeated', type: 'VertexWarning', id: 4 },
                  },
                },
                Vertex: {
                  fields: {
                    digest: { type: 'string', id: 1 },
                    inputs: { rule: 'repeated', type: 'string', id: 2 },
                    name: { type: 'string', id: 3 },
                    cached: { type: 'bool', id: 4 },
                    started: { type: 'google.protobuf.Timestamp', id: 5 },
                    completed: { type: 'google.protobuf.Timestamp', id: 6 },
                    error: { type: 'string', id: 7 },
                  },
                },
                VertexStatus: {
                  fields: {
                    ID: { type: 'string', id: 1 },
                    vertex: { type: 'string', id: 2 },
                    name: { type: 'string', id: 3 },
                    current: { type: 'int64', id: 4 },
                    total: { type: 'int64', id: 5 },
                    timestamp: { type: 'google.protobuf.Timestamp', id: 6 },
                    started: { type: 'google.protobuf.Timestamp', id: 7 },
                    completed: { type: 'google.protobuf.Timestamp', id: 8 },
                  },
                },
                VertexLog: {
                  fields: {
                    vertex: { type: 'string', id: 1 },
                    timestamp: { type: 'google.protobuf.Timestamp', id: 2 },
                    stream: { type: 'int64', id: 3 },
                    msg: { type: 'bytes', id: 4 },
                  },
                },
                VertexWarning: {
                  fields: {
                    vertex: { type: 'string', id: 1 },
                    level: { type: 'int64', id: 2 },
                    short: { type: 'bytes', id: 3 },
                    detail: { rule: 'repeated', type: 'bytes', id: 4 },
                    url: { type: 'string', id: 5 },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
});

const StatusResponse = root.lookupType('moby.buildkit.v1.StatusResponse');

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
  const message = StatusResponse.decode(bytes);
  // longs: Number — a timestamp's seconds and a byte count fit a double for a very long time.
  return StatusResponse.toObject(message, { longs: Number, defaults: true, arrays: true }) as StatusResponse;
}

export function timestampMs(t: Timestamp | undefined): number | undefined {
  return t ? t.seconds * 1000 + Math.floor(t.nanos / 1e6) : undefined;
}
