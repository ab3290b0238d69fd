// A real registry for push tests: Debian's docker-registry on 127.0.0.1, with htpasswd auth, storage in a
// temporary directory; and, in front of it when a test asks, a proxy that can answer 500 once.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { tempDir } from './temp.ts';
import { startTokenService, type TokenService } from './token-service.ts';

export interface Registry {
  /** host:port, as it goes in a tag. */
  address: string;
  /** GET on the registry's HTTP API, with the test user's credentials. */
  api(pathname: string): Promise<{ status: number; body: string }>;
  /**
   * The repository's image tags: without the tags that hold a pushed manifest's attestations (the referrers
   * index at `sha256-<hex>`, cosign's `sha256-<hex>.att`/`.sig`), which every deploy now writes.
   */
  tags(repository: string): Promise<string[]>;
  /** Every tag, those included. */
  allTags(repository: string): Promise<string[]>;
  /** The Authorization a consumer sends to read this path. */
  authorization(pathname: string): string;
  /** The bearer-token realm, when the registry was started with one. */
  tokens?: TokenService;
  /** The digest the registry gives the tag's manifest (or index), as a pull by digest would use. */
  digest(repository: string, tag: string): Promise<string>;
  stop(): Promise<void>;
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export const USER = 'pusher';
export const PASSWORD = 'S3cret-pa55-do-not-print';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** With `token`, the registry wants a bearer token from a loopback realm (token-service.ts) instead of basic auth. */
export async function startRegistry(options: { port?: number; user?: string; password?: string; token?: boolean } = {}): Promise<Registry> {
  const user = options.user ?? USER;
  const password = options.password ?? PASSWORD;
  if (!existsSync('/usr/bin/docker-registry')) throw new Error("docker-registry is missing: install Debian's docker-registry (.ci/run does)");
  const dir = await tempDir('bi-registry-');
  const hashed = spawnSync('htpasswd', ['-Bbn', user, password], { encoding: 'utf8' });
  if (hashed.status !== 0) throw new Error(`htpasswd failed: ${hashed.stderr} (install apache2-utils)`);
  await writeFile(path.join(dir, 'htpasswd'), hashed.stdout);
  const tokens = options.token ? await startTokenService(dir, user, password) : undefined;
  const port = options.port ?? (await freePort());
  const auth = tokens
    ? `auth: { token: { realm: '${tokens.realm}', service: ${tokens.service}, issuer: ${tokens.issuer}, rootcertbundle: ${tokens.certificate} } }`
    : `auth: { htpasswd: { realm: build-images-test, path: ${dir}/htpasswd } }`;
  await writeFile(
    path.join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log: { level: error }',
      `storage: { filesystem: { rootdirectory: ${dir}/data }, delete: { enabled: true } }`,
      `http: { addr: 127.0.0.1:${port} }`,
      auth,
    ].join('\n'),
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore' });
  const address = `127.0.0.1:${port}`;
  const basic = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  // A consumer's read: a token for the repository the path names (or the catalog), else basic.
  const authorizationFor = (pathname: string) => {
    if (!tokens) return basic;
    const repository = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(pathname)?.[1];
    return `Bearer ${tokens.tokenFor(repository ? [`repository:${repository}:pull`] : ['registry:catalog:*'])}`;
  };
  const api = async (pathname: string) => {
    const response = await fetch(`http://${address}${pathname}`, { headers: { authorization: authorizationFor(pathname) } });
    return { status: response.status, body: await response.text() };
  };
  const allTags = async (repository: string) => {
    const { status, body } = await api(`/v2/${repository}/tags/list`);
    return status === 200 ? ((JSON.parse(body) as { tags: string[] | null }).tags ?? []).sort() : [];
  };
  for (let i = 0; ; i++) {
    const up = await api('/v2/').then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) break;
    if (i > 100) throw new Error('docker-registry did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    address,
    api,
    async digest(repository, tag) {
      const response = await fetch(`http://${address}/v2/${repository}/manifests/${tag}`, {
        method: 'HEAD',
        headers: { authorization: authorizationFor(`/v2/${repository}/manifests/${tag}`), accept: MANIFEST_TYPES },
      });
      return response.headers.get('docker-content-digest') ?? `HTTP ${response.status}`;
    },
    allTags,
    tags: async (repository) => (await allTags(repository)).filter((tag) => !/^sha256-[0-9a-f]{64}(\.(att|sig))?$/.test(tag)),
    authorization: authorizationFor,
    tokens,
    stop: async () => {
      child.kill();
      await new Promise((r) => child.once('exit', r));
      await tokens?.stop();
    },
  };
}

/** One request through the proxy: what was asked, answered, and how many bytes went each way. */
export interface Exchange {
  method: string;
  url: string;
  status: number;
  /** Bytes of the request body (an upload) and of the answer's body. */
  sent: number;
  received: number;
  /** Date.now() when the request came and when its answer ended: where a run's time goes. */
  at: number;
  done?: number;
}

export interface RecordingProxy {
  address: string;
  failures(): number;
  authorizations(): string[];
  /** `METHOD /path?query` of every request, in order. */
  requests(): string[];
  exchanges(): Exchange[];
  stop(): Promise<void>;
}

/**
 * A proxy on loopback in front of the registry that fails the first manifest upload with a 500 (unless
 * told not to), and records every request, its Authorization header, its answer's status and the bytes
 * each way: what the registry was sent, and what was pulled and uploaded.
 */
export async function flakyProxy(target: string, { failOnce = true } = {}): Promise<RecordingProxy> {
  let failed = 0;
  const authorizations: string[] = [];
  const exchanges: Exchange[] = [];
  const server = http.createServer((req, res) => {
    if (req.headers.authorization) authorizations.push(req.headers.authorization);
    const exchange: Exchange = { method: req.method ?? '', url: req.url ?? '', status: 0, sent: 0, received: 0, at: Date.now() };
    res.on('finish', () => (exchange.done = Date.now()));
    exchanges.push(exchange);
    req.on('data', (chunk: Buffer) => (exchange.sent += chunk.length));
    if (failOnce && req.method === 'PUT' && req.url?.includes('/manifests/') && failed === 0) {
      failed++;
      req.resume();
      exchange.status = 500;
      res.writeHead(500, { 'content-type': 'text/plain' }).end('injected failure');
      return;
    }
    const [host, port] = target.split(':');
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
    failures: () => failed,
    authorizations: () => [...authorizations],
    requests: () => exchanges.map((e) => `${e.method} ${e.url}`),
    exchanges: () => [...exchanges],
    // Kept-alive connections of the engine would keep close() waiting, and the test file with it.
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export { freePort };
