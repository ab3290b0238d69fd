// The session's messages and BuildKit's StatusResponse as protobufjs reads them from their upstream field
// numbers: the reference our hand-written codecs (pipeline/engine/buildkit/protobuf-wire.ts) are checked against.
import protobuf from 'protobufjs';

const timestamp = { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } };

// Untyped: protobufjs' INamespace has no place for a map field's keyType, which it reads all the same.
const definitions = {
  nested: {
    Timestamp: { fields: timestamp },
    ProgressGroup: { fields: { id: { type: 'string', id: 1 }, name: { type: 'string', id: 2 }, weak: { type: 'bool', id: 3 } } },
    SourceInfo: { fields: { filename: { type: 'string', id: 1 }, data: { type: 'bytes', id: 2 }, language: { type: 'string', id: 4 } } },
    // moby/buildkit api/services/control/control.proto
    BytesMessage: { fields: { data: { type: 'bytes', id: 1 } } },
    SolveRequest: {
      fields: {
        Ref: { type: 'string', id: 1 },
        Exporter: { type: 'string', id: 3 },
        ExporterAttrs: { keyType: 'string', type: 'string', id: 4 },
        Session: { type: 'string', id: 5 },
        Frontend: { type: 'string', id: 6 },
        FrontendAttrs: { keyType: 'string', type: 'string', id: 7 },
        Cache: { type: 'CacheOptions', id: 8 },
        Exporters: { rule: 'repeated', type: 'ExporterEntry', id: 13 },
      },
    },
    ExporterEntry: { fields: { Type: { type: 'string', id: 1 }, Attrs: { keyType: 'string', type: 'string', id: 2 } } },
    CacheOptions: {
      fields: {
        ExportRefDeprecated: { type: 'string', id: 1 },
        ImportRefsDeprecated: { rule: 'repeated', type: 'string', id: 2 },
        ExportAttrsDeprecated: { keyType: 'string', type: 'string', id: 3 },
        Exports: { rule: 'repeated', type: 'CacheOptionsEntry', id: 4 },
        Imports: { rule: 'repeated', type: 'CacheOptionsEntry', id: 5 },
      },
    },
    CacheOptionsEntry: { fields: { Type: { type: 'string', id: 1 }, Attrs: { keyType: 'string', type: 'string', id: 2 } } },
    SolveResponse: { fields: { ExporterResponse: { keyType: 'string', type: 'string', id: 1 } } },
    StatusRequest: { fields: { Ref: { type: 'string', id: 1 } } },
    // moby/buildkit api/types/worker.proto and solver/pb/ops.proto's Platform
    ListWorkersResponse: { fields: { record: { rule: 'repeated', type: 'WorkerRecord', id: 1 } } },
    WorkerRecord: {
      fields: {
        ID: { type: 'string', id: 1 },
        Labels: { keyType: 'string', type: 'string', id: 2 },
        platforms: { rule: 'repeated', type: 'Platform', id: 3 },
      },
    },
    Platform: { fields: { Architecture: { type: 'string', id: 1 }, OS: { type: 'string', id: 2 }, Variant: { type: 'string', id: 3 } } },
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
        started: { type: 'Timestamp', id: 5 },
        completed: { type: 'Timestamp', id: 6 },
        error: { type: 'string', id: 7 },
        progressGroup: { type: 'ProgressGroup', id: 8 },
      },
    },
    VertexStatus: {
      fields: {
        ID: { type: 'string', id: 1 },
        vertex: { type: 'string', id: 2 },
        name: { type: 'string', id: 3 },
        current: { type: 'int64', id: 4 },
        total: { type: 'int64', id: 5 },
        timestamp: { type: 'Timestamp', id: 6 },
        started: { type: 'Timestamp', id: 7 },
        completed: { type: 'Timestamp', id: 8 },
      },
    },
    VertexLog: {
      fields: {
        vertex: { type: 'string', id: 1 },
        timestamp: { type: 'Timestamp', id: 2 },
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
        info: { type: 'SourceInfo', id: 6 },
      },
    },
    // grpc/health/v1/health.proto, moby/buildkit session/auth/auth.proto and session/secrets/secrets.proto
    HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
    HealthCheckResponse: { fields: { status: { type: 'int32', id: 1 } } },
    CredentialsRequest: { fields: { Host: { type: 'string', id: 1 } } },
    CredentialsResponse: { fields: { Username: { type: 'string', id: 1 }, Secret: { type: 'string', id: 2 } } },
    GetSecretRequest: { fields: { ID: { type: 'string', id: 1 }, annotations: { keyType: 'string', type: 'string', id: 2 } } },
    GetSecretResponse: { fields: { data: { type: 'bytes', id: 1 } } },
    // containerd api/services/content/v1/content.proto
    ContentInfo: {
      fields: {
        digest: { type: 'string', id: 1 },
        size: { type: 'int64', id: 2 },
        createdAt: { type: 'Timestamp', id: 3 },
        updatedAt: { type: 'Timestamp', id: 4 },
        labels: { keyType: 'string', type: 'string', id: 5 },
      },
    },
    InfoRequest: { fields: { digest: { type: 'string', id: 1 } } },
    InfoResponse: { fields: { info: { type: 'ContentInfo', id: 1 } } },
    ReadContentRequest: { fields: { digest: { type: 'string', id: 1 }, offset: { type: 'int64', id: 2 }, size: { type: 'int64', id: 3 } } },
    ReadContentResponse: { fields: { offset: { type: 'int64', id: 1 }, data: { type: 'bytes', id: 2 } } },
    WriteContentRequest: {
      fields: {
        action: { type: 'int32', id: 1 },
        ref: { type: 'string', id: 2 },
        total: { type: 'int64', id: 3 },
        expected: { type: 'string', id: 4 },
        offset: { type: 'int64', id: 5 },
        data: { type: 'bytes', id: 6 },
        labels: { keyType: 'string', type: 'string', id: 7 },
      },
    },
    WriteContentResponse: {
      fields: {
        action: { type: 'int32', id: 1 },
        startedAt: { type: 'Timestamp', id: 2 },
        updatedAt: { type: 'Timestamp', id: 3 },
        offset: { type: 'int64', id: 4 },
        total: { type: 'int64', id: 5 },
        digest: { type: 'string', id: 6 },
      },
    },
    // tonistiigi/fsutil types/wire.proto and stat.proto
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
        xattrs: { keyType: 'string', type: 'bytes', id: 10 },
      },
    },
  },
};
const root = protobuf.Root.fromJSON(definitions as protobuf.INamespace);

/** A message type by name: encode() to bytes, decode() to a plain object with numbers for int64 and defaults filled in. */
export function reference(name: string) {
  const type = root.lookupType(name);
  return {
    encode: (value: object): Buffer => Buffer.from(type.encode(type.fromObject(value)).finish()),
    decode: (bytes: Uint8Array): Record<string, unknown> => type.toObject(type.decode(bytes), { longs: Number, defaults: true, arrays: true }),
  };
}
