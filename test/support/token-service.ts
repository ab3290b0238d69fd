// A bearer-token realm on loopback, as Docker Hub, GHCR or Harbor put in front of their registries: the
// registry answers 401 with `Bearer realm=…,service=…,scope=…`, the client asks this service for a token
// with its basic credentials, and the registry checks the token's signature (RS256, the certificate in the
// JWT's x5c chain, trusted through the registry's rootcertbundle) and the access it grants.
import { spawnSync } from 'node:child_process';
import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';

export interface TokenService {
  realm: string;
  service: string;
  issuer: string;
  /** The certificate the registry trusts (its rootcertbundle). */
  certificate: string;
  /** A token for these scopes, as a client with the right credentials gets one. */
  tokenFor(scopes: string[]): string;
  /** `scope` parameters of every token asked for, in order. */
  asked(): string[][];
  stop(): Promise<void>;
}

export async function startTokenService(dir: string, user: string, password: string): Promise<TokenService> {
  const key = path.join(dir, 'token.key');
  const certificate = path.join(dir, 'token.crt');
  const made = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', certificate, '-days', '1', '-subj', '/CN=bi-token'],
    {
      encoding: 'utf8',
    },
  );
  if (made.status !== 0) throw new Error(`openssl: ${made.stderr} (install openssl)`);
  const privateKey = createPrivateKey(await readFile(key));
  const chain = [new X509Certificate(await readFile(certificate)).raw.toString('base64')];
  const service = 'bi-test-registry';
  const issuer = 'bi-test-token-service';
  const asked: string[][] = [];
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  const tokenFor = (scopes: string[]) => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.flatMap((scope) => {
      const parts = scope.split(':');
      if (parts.length < 3) return [];
      return [{ type: parts[0], name: parts.slice(1, -1).join(':'), actions: parts.at(-1)!.split(',') }];
    });
    const payload = { iss: issuer, sub: user, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access };
    const signing = `${b64({ typ: 'JWT', alg: 'RS256', x5c: chain })}.${b64(payload)}`;
    return `${signing}.${sign('sha256', Buffer.from(signing), privateKey).toString('base64url')}`;
  };

  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token');
    if (url.pathname !== '/token') return void res.writeHead(404).end();
    if (req.headers.authorization !== expected) return void res.writeHead(401, { 'www-authenticate': 'Basic realm="bi-token"' }).end();
    const scopes = url.searchParams
      .getAll('scope')
      .flatMap((s) => s.split(' '))
      .filter(Boolean);
    asked.push(scopes);
    const token = tokenFor(scopes);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    realm: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/token`,
    service,
    issuer,
    certificate,
    tokenFor,
    asked: () => asked.map((a) => [...a]),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
