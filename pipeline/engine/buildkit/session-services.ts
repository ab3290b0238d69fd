// The gRPC services a build session serves to the daemon, as grpc-js service definitions over protobufjs
// reflection types (no .proto file to ship). Messages and field numbers as upstream defines them:
// grpc/health/v1/health.proto, moby/buildkit session/auth/auth.proto, session/secrets/secrets.proto.
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
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

function unary<Req extends object, Res extends object>(path: string, request: string, response: string, stream = false): MethodDefinition<Req, Res> {
  const req = root.lookupType(request);
  const res = root.lookupType(response);
  return {
    path,
    requestStream: stream,
    responseStream: stream,
    requestSerialize: (value: Req) => Buffer.from(req.encode(req.fromObject(value)).finish()),
    requestDeserialize: (bytes: Buffer) => req.toObject(req.decode(bytes), { defaults: true, longs: Number }) as Req,
    responseSerialize: (value: Res) => Buffer.from(res.encode(res.fromObject(value)).finish()),
    responseDeserialize: (bytes: Buffer) => res.toObject(res.decode(bytes), { defaults: true, longs: Number }) as Res,
  };
}

export const SERVING = 1;

export const healthService = {
  Check: unary<{ service: string }, { status: number }>('/grpc.health.v1.Health/Check', 'HealthCheckRequest', 'HealthCheckResponse'),
} satisfies ServiceDefinition;

export const authService = {
  Credentials: unary<{ Host: string }, { Username: string; Secret: string }>('/moby.filesync.v1.Auth/Credentials', 'CredentialsRequest', 'CredentialsResponse'),
} satisfies ServiceDefinition;

export const secretsService = {
  GetSecret: unary<{ ID: string }, { data: Buffer }>('/moby.buildkit.secrets.v1.Secrets/GetSecret', 'GetSecretRequest', 'GetSecretResponse'),
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
  DiffCopy: unary<Packet, Packet>('/moby.filesync.v1.FileSync/DiffCopy', 'Packet', 'Packet', true),
} satisfies ServiceDefinition;

/** The methods of services, as the daemon is told them in X-Docker-Expose-Session-Grpc-Method headers. */
export function methodsOf(...services: ServiceDefinition[]): string[] {
  return services.flatMap((s) => Object.values(s).map((m) => m.path));
}
