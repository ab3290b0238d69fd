// A recording proxy in front of the benchmark's registry, as test/support/registry.ts's flakyProxy is for the
// tests, but counting what crossed it: each request's method, path, status and the bytes of its body and of
// the answer's. flakyProxy records no status and no size, and bytes pulled need both (a blob GET answered
// 401 moves no layer).
import http from 'node:http';
import type net from 'node:net';

export interface Exchange {
  method: string;
  url: string;
  status: number;
  /** Bytes of the request body (an upload) and of the answer's body. */
  sent: number;
  received: number;
}

export interface Traffic {
  requests: number;
  /** Bytes of blob GETs answered 200: layers and config blobs pulled. */
  pulled: number;
  /** Bytes of blob upload bodies (PATCH, PUT): layers and configs pushed. */
  uploaded: number;
}

export interface CountingProxy {
  address: string;
  exchanges(): Exchange[];
  stop(): Promise<void>;
}

export async function countingProxy(target: string): Promise<CountingProxy> {
  const exchanges: Exchange[] = [];
  const [host, port] = target.split(':');
  const server = http.createServer((req, res) => {
    const exchange: Exchange = { method: req.method ?? '', url: req.url ?? '', status: 0, sent: 0, received: 0 };
    exchanges.push(exchange);
    req.on('data', (chunk: Buffer) => (exchange.sent += chunk.length));
    const upstream = http.request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (answer) => {
      exchange.status = answer.statusCode ?? 502;
      res.writeHead(exchange.status, answer.headers);
      answer.on('data', (chunk: Buffer) => (exchange.received += chunk.length));
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    exchanges: () => [...exchanges],
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function traffic(exchanges: Exchange[]): Traffic {
  const blob = (e: Exchange) => /\/blobs\/sha256:/.test(e.url);
  return {
    requests: exchanges.length,
    pulled: exchanges.filter((e) => e.method === 'GET' && blob(e) && e.status === 200).reduce((n, e) => n + e.received, 0),
    uploaded: exchanges.filter((e) => /^(PATCH|PUT)$/.test(e.method) && /\/blobs\/uploads\//.test(e.url)).reduce((n, e) => n + e.sent, 0),
  };
}
