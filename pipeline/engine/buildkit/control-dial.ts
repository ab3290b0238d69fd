// How the Control API of the engine's BuildKit is reached. From Engine 29.2 the daemon answers gRPC on its
// socket itself (HTTP/2 with prior knowledge); before, `POST /grpc` upgrades to h2c (Engine 19.03 and up,
// 20.10 included), deprecated by 29.2. Native is tried first, once per engine: an older engine answers
// HTTP/1.1 to the preface and the attempt fails at once. A daemon on TCP with TLS forces ALPN http/1.1, so
// there only the upgrade is tried.
import type http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { EngineApi } from '../docker/engine-api.ts';
import { hijack } from './engine-request.ts';
import { connectGrpc } from './grpc-client.ts';

/** native: the engine's socket; grpc-upgrade: POST /grpc; direct: a connection the caller opened (a buildkitd). */
export type ControlRoute = 'native' | 'grpc-upgrade' | 'direct';

export interface ControlConnection {
  readonly session: http2.ClientHttp2Session;
  readonly route: ControlRoute;
  close(): void;
}

// Whether native gRPC worked on this engine, once it was tried: an older engine is not asked again.
const nativeWorks = new WeakMap<EngineApi, boolean>();

/** Opens a connection to the engine's Control API, by the first route that works. */
export async function dialControl(engine: EngineApi): Promise<ControlConnection> {
  if (engine.dial && nativeWorks.get(engine) !== false) {
    const native = await connectGrpc(engine.dial(), 2000).then(
      (session) => session,
      () => undefined,
    );
    nativeWorks.set(engine, native !== undefined);
    if (native) return connection(native, 'native');
  }
  const socket = await hijack(engine, { method: 'POST', path: '/grpc', headers: { Upgrade: 'h2c' } });
  return connection(await connectGrpc(asHttp2(socket)), 'grpc-upgrade');
}

/**
 * The Control API on a connection the caller opened: a buildkitd's unix socket, a TLS socket that negotiated
 * h2 (mutual TLS, as buildx's remote driver), or a duplex already upgraded. Sessions and solves on it are
 * the same as on an engine's.
 */
export async function controlOn(socket: Duplex, route: ControlRoute = 'direct'): Promise<ControlConnection> {
  return connection(await connectGrpc(asHttp2(socket)), route);
}

function connection(session: http2.ClientHttp2Session, route: ControlRoute): ControlConnection {
  return {
    session,
    route,
    close() {
      session.destroy();
    },
  };
}

/**
 * Over TLS (DOCKER_TLS_VERIFY) the upgraded socket is a TLSSocket that negotiated no ALPN; what it carries
 * after the upgrade is HTTP/2 all the same: say so, or Node treats the connection as HTTP/1.1.
 */
function asHttp2(socket: Duplex): Duplex {
  // The engine closes its end when it is done; a reset then is expected, not an error to raise.
  socket.on('error', () => {});
  if ('alpnProtocol' in socket && (socket as { alpnProtocol?: string | false }).alpnProtocol === false) {
    (socket as { alpnProtocol?: string | false }).alpnProtocol = 'h2';
  }
  return socket;
}
