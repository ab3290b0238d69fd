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
  },
});

function unary<Req extends object, Res extends object>(path: string, request: string, response: string): MethodDefinition<Req, Res> {
  const req = root.lookupType(request);
  const res = root.lookupType(response);
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: (value: Req) => Buffer.from(req.encode(req.fromObject(value)).finish()),
    requestDeserialize: (bytes: Buffer) => req.toObject(req.decode(bytes), { defaults: true }) as Req,
    responseSerialize: (value: Res) => Buffer.from(res.encode(res.fromObject(value)).finish()),
    responseDeserialize: (bytes: Buffer) => res.toObject(res.decode(bytes), { defaults: true }) as Res,
  };
}

export const SERVING = 1;

export const healthService = {
  Check: unary<{ service: string }, { status: number }>('/grpc.health.v1.Health/Check', 'HealthCheckRequest', 'HealthCheckResponse'),
} satisfies ServiceDefinition;

export const authService = {
  Credentials: unary<{ Host: string }, { Username: string; Secret: string }>(
    '/moby.filesync.v1.Auth/Credentials',
    'CredentialsRequest',
    'CredentialsResponse',
  ),
} satisfies ServiceDefinition;

export const secretsService = {
  GetSecret: unary<{ ID: string }, { data: Buffer }>(
    '/moby.buildkit.secrets.v1.Secrets/GetSecret',
    'GetSecretRequest',
    'GetSecretResponse',
  ),
} satisfies ServiceDefinition;

/** Every method the session serves: the daemon is told them in X-Docker-Expose-Session-Grpc-Method headers. */
export const servedMethods = [healthService, authService, secretsService].flatMap((s) => Object.values(s).map((m) => m.path));
