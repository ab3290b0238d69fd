// A stand-in for a standalone buildkitd's endpoints, since no buildkitd can be had here (no Debian package,
// no module proxy): a private engine's own BuildKit, reached through its `POST /grpc` upgrade and offered
// bare, as buildkitd offers its Control API: on a unix socket, and on a TCP port with mutual TLS that
// negotiates h2 by ALPN (buildkitd's --tlscacert/--tlscert/--tlskey). Bytes are piped, never read: what the
// tool says and hears is what it would say to buildkitd. What differs from a real one is the daemon behind
// it: dockerd's BuildKit worker, which also looks in that engine's own image store (kept empty by the test,
// so that bases come from the registry, as a buildkitd's do).
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { tempDir } from './temp.ts';

export interface BuildkitdStandIn {
  /** unix:///…/buildkitd.sock */
  unix: string;
  /** The TLS port on 127.0.0.1. */
  port: number;
  /** Connections taken so far. */
  connections(): number;
  stop(): Promise<void>;
}

/** certs: a directory of makeCerts() (ca.pem, server.pem, server-key.pem). */
export async function startBuildkitdStandIn(engineSocket: string, certs: string): Promise<BuildkitdStandIn> {
  let taken = 0;
  const open = new Set<Duplex>();
  const serve = (client: Duplex) => {
    taken++;
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    upgraded(engineSocket).then(
      (engine) => {
        open.add(engine);
        engine.on('close', () => {
          open.delete(engine);
          client.destroy();
        });
        engine.on('error', () => engine.destroy());
        client.on('close', () => engine.destroy());
        client.pipe(engine).pipe(client);
      },
      () => client.destroy(),
    );
  };
  const socketPath = path.join(await tempDir('bi-buildkitd-'), 'buildkitd.sock');
  const onUnix = net.createServer(serve);
  await new Promise<void>((resolve) => onUnix.listen(socketPath, resolve));
  const read = (name: string) => readFileSync(path.join(certs, name));
  const onTls = tls.createServer(
    { ca: read('ca.pem'), cert: read('server.pem'), key: read('server-key.pem'), requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] },
    serve,
  );
  onTls.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => onTls.listen(0, '127.0.0.1', resolve));
  return {
    unix: `unix://${socketPath}`,
    port: (onTls.address() as net.AddressInfo).port,
    connections: () => taken,
    async stop() {
      for (const socket of open) socket.destroy();
      await Promise.all([onUnix, onTls].map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}

/** A connection to the engine's BuildKit: `POST /grpc` upgraded to h2c; what follows the 101 is gRPC. */
function upgraded(engineSocket: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(engineSocket);
    let head = Buffer.alloc(0);
    socket.once('error', reject);
    socket.write('POST /grpc HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 0\r\n\r\n');
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.off('error', reject);
      if (!/^HTTP\/1\.1 101/.test(head.toString('latin1'))) {
        socket.destroy();
        reject(new Error(`the engine did not upgrade: ${head.toString('latin1', 0, end)}`));
        return;
      }
      socket.pause();
      const rest = head.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    socket.on('data', onData);
  });
}
