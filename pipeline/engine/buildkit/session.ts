// A BuildKit session, run inside the Control API's `Control.Session` stream as buildx runs it: the stream's
// BytesMessages carry an HTTP/2 connection on which the daemon is the client and we serve gRPC
// (grpc-server.ts). The session's name, shared key and methods go as the call's metadata, the headers that
// `POST /session` took. 20.10 checks grpc.health.v1.Health/Check about every second and drops a session that
// fails it. The daemon waits up to 5 s for a session named in a build, so the session is open before the
// build is posted; a session opened this way serves `POST /build?session=` as well as `Control.Solve`.
import { createHash, randomUUID } from 'node:crypto';
import { bytesMessageDuplex } from './bytes-stream.ts';
import type { ControlConnection, ControlRoute } from './control-dial.ts';
import { CONTROL } from './control-proto.ts';
import { serveDiffCopy, type SessionFile } from './file-sync.ts';
import { openCall } from './grpc-client.ts';
import { GRPC_STATUS, GrpcError, serveGrpc, unaryCall, type CallHandler } from './grpc-server.ts';
import { contentMethods, contentRoutes, type ContentStores } from './content-store.ts';
import { FILE_SEND_DIFFCOPY, fileSendHandler, type FileTarget } from './file-send.ts';
import { authService, fileSyncService, healthService, methodsOf, secretsService, SERVING } from './session-services.ts';
import type { Credentials } from '../../model/credentials.ts';
import type { BuildRequest } from '../engine.ts';

export interface Session {
  /** Passed as the build's `session=`. */
  readonly id: string;
  /** How the engine's Control API was reached. */
  readonly route: ControlRoute;
  close(): void;
}

export type SessionSources = Pick<BuildRequest, 'credentials' | 'secrets'> & {
  /** The context, when it goes through the session instead of the request body. */
  files?: readonly SessionFile[];
  /** How a file's bytes are read for the daemon (checked against what was digested); a plain read without. */
  read?: (file: SessionFile) => AsyncIterable<Uint8Array>;
  /** Names the context across runs (BuildContext's key): the daemon diffs a new one against the last under it. */
  contextKey?: string;
  /** Told of the first failure to send the context, which the daemon reports only in its own words. */
  onContextError?: (err: Error) => void;
  /** Cache directories the daemon reads and writes blobs of, by store id (`local:` + path). */
  contentStores?: ContentStores;
  /** Where an exporter that writes a file (`docker`) sends it. */
  exportTo?: FileTarget;
};

/** Opens a session on a connection to the Control API; closing the session leaves the connection open. */
export function openSession(control: ControlConnection, sources: SessionSources, name = 'build-images'): Session {
  const id = randomUUID();
  const services = sources.files ? [healthService, authService, secretsService, fileSyncService] : [healthService, authService, secretsService];
  const call = openCall(control.session, CONTROL.session, {
    'x-docker-expose-session-uuid': id,
    'x-docker-expose-session-name': name,
    // The daemon keeps the last context synced under this key and sends for only what changed since. The
    // CLI puts a hash of the context directory here; one key for every image made each image's rebuild
    // a diff against whichever image was built last.
    'x-docker-expose-session-sharedkey': sources.contextKey === undefined ? name : createHash('sha256').update(sources.contextKey).digest('hex'),
    'x-docker-expose-session-grpc-method': [
      ...methodsOf(...services),
      ...(sources.contentStores?.size ? contentMethods : []),
      ...(sources.exportTo ? [FILE_SEND_DIFFCOPY] : []),
    ],
  });
  // The daemon ends the stream when the build is over; a reset then is expected, not an error to raise.
  call.on('error', () => {});

  const routes = new Map<string, CallHandler>([
    [healthService.Check.path, unaryCall(async () => healthService.Check.responseSerialize({ status: SERVING }))],
    [authService.Credentials.path, unaryCall((request) => credentialsFor(sources, authService.Credentials.requestDeserialize(request).Host))],
    [secretsService.GetSecret.path, unaryCall((request) => secretFor(sources, secretsService.GetSecret.requestDeserialize(request).ID))],
  ]);
  const files = sources.files;
  if (files) {
    routes.set(fileSyncService.DiffCopy.path, (stream, headers) =>
      serveDiffCopy(stream, headers, files, { read: sources.read, onError: sources.onContextError }),
    );
  }
  if (sources.exportTo) routes.set(FILE_SEND_DIFFCOPY, fileSendHandler(sources.exportTo));
  if (sources.contentStores?.size) for (const [route, handler] of contentRoutes(sources.contentStores)) routes.set(route, handler);
  const tunnel = bytesMessageDuplex(call);
  tunnel.on('error', () => {});
  const connection = serveGrpc(tunnel, routes);

  let closed = false;
  return {
    id,
    route: control.route,
    close() {
      if (closed) return;
      closed = true;
      connection.destroy();
      tunnel.destroy();
    },
  };
}

/** BuildKit asks for Docker Hub as registry-1.docker.io; our credential sources know it as docker.io. */
export function registryOf(host: string): string {
  return host === 'registry-1.docker.io' || host === 'index.docker.io' ? 'docker.io' : host;
}

async function credentialsFor(sources: SessionSources, host: string): Promise<Buffer> {
  // The reason may name a credential helper's output: keep it out of the daemon's logs.
  const found = await sources.credentials(registryOf(host)).catch(() => {
    throw new GrpcError(GRPC_STATUS.UNAVAILABLE, `no credentials could be read for ${host}`);
  });
  return authService.Credentials.responseSerialize(answer(found));
}

async function secretFor(sources: SessionSources, id: string): Promise<Buffer> {
  const read = sources.secrets.get(id);
  if (!read) throw new GrpcError(GRPC_STATUS.NOT_FOUND, `secret ${id} not found`);
  const data = await read().catch(() => {
    throw new GrpcError(GRPC_STATUS.UNAVAILABLE, `secret ${id} could not be read`);
  });
  return secretsService.GetSecret.responseSerialize({ data });
}

/** An identity token goes as the secret with no user name, as the docker CLI answers. */
function answer(found: Credentials | undefined): { Username: string; Secret: string } {
  if (!found) return { Username: '', Secret: '' };
  return 'identityToken' in found ? { Username: '', Secret: found.identityToken } : { Username: found.username, Secret: found.password };
}
