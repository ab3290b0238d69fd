// How a standalone buildkitd is reached, as buildx's remote driver reaches it: its unix socket or a TCP
// port, speaking gRPC with prior knowledge, or over mutual TLS that negotiates h2 by ALPN (buildkitd's
// `--addr tcp://0.0.0.0:1234 --tlscacert … --tlscert … --tlskey …`). There is no Engine API in between.
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { controlOn, type ControlConnection } from '../buildkit/control-dial.ts';
import type { ConnectionOptions } from '../docker/connection.ts';

/** A new connection to the daemon's Control API, each time it is called. */
export function buildkitdDialer(connection: ConnectionOptions): () => Promise<ControlConnection> {
  return async () => controlOn(await connected(connection));
}

function connected(connection: ConnectionOptions): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket =
      'socketPath' in connection
        ? net.connect(connection.socketPath)
        : connection.protocol === 'https'
          ? tls.connect({
              host: connection.host,
              port: connection.port,
              ca: connection.ca,
              cert: connection.cert,
              key: connection.key,
              ALPNProtocols: ['h2'],
              // An address is checked against the certificate's IP names; SNI takes host names only.
              ...(net.isIP(connection.host) ? {} : { servername: connection.host }),
            })
          : net.connect(connection.port, connection.host);
    const ready = socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect';
    socket.once(ready, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
