// HTTP servers on 127.0.0.1 that misbehave on purpose, for fault tests: each answers with one of the
// behaviours below (or a handler of the test's own), counts its requests, and is closed by the test.
// To add a fault: write a Behaviour here and use it from a test in test/*/faults-*.test.ts.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Behaviour = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface Loopback {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, as a registry host in an image reference. */
  address: string;
  requests: () => number;
  close(): Promise<void>;
}

export async function loopback(behaviour: Behaviour): Promise<Loopback> {
  let requests = 0;
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    requests++;
    behaviour(req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        // A hanging answer would keep close() waiting: its sockets are ended with it.
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** 200 with this body and content type. */
export const answer =
  (body: string | Buffer, contentType = 'application/octet-stream'): Behaviour =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) }).end(body);
  };

/** The same status to every request, like a registry that is down. */
export const status =
  (code: number, body = 'injected failure'): Behaviour =>
  (req, res) => {
    req.resume();
    res.writeHead(code, { 'content-type': 'text/plain' }).end(body);
  };

/** Accepts the request and never answers. */
export const silent: Behaviour = (req) => {
  req.resume();
};

/** Sends the headers, then one byte every `everyMs` (never finishing within a test's time). */
export const drip =
  (everyMs: number): Behaviour =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 1000 });
    res.write('x');
    const timer = setInterval(() => res.write('x'), everyMs);
    res.on('close', () => clearInterval(timer));
  };

/** Pick a behaviour by the request's path; anything else is a 404. */
export const routes =
  (table: Record<string, Behaviour>): Behaviour =>
  (req, res) =>
    (table[new URL(req.url ?? '/', 'http://x').pathname] ?? status(404, 'not found'))(req, res);
