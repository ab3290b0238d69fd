// Just enough of the registry API to ask what a tag names: HEAD on its manifest, with the registry's
// basic or bearer challenge answered. Used before a push, so that a re-run pushes only what is missing.
// Any doubt (no answer, an unknown challenge) means "push": the check may only save work, never skip it.
import type { RegistryAuth } from '../engine/engine.ts';
import { splitReference } from '../engine/engine.ts';

const ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

/** registry host, repository path, tag, and the URL base the engine itself would use. */
export function registryLocation(ref: string): { host: string; repository: string; tag: string; base: string } {
  const { repo, tag } = splitReference(ref);
  const parts = repo.split('/');
  const explicit = parts.length > 1 && (/[.:]/.test(parts[0]!) || parts[0] === 'localhost');
  const host = explicit ? parts.shift()! : 'registry-1.docker.io';
  if (!explicit && parts.length === 1) parts.unshift('library');
  // The engine talks plain HTTP to registries on loopback (its default insecure range), HTTPS elsewhere.
  const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host);
  return { host, repository: parts.join('/'), tag, base: `${loopback ? 'http' : 'https'}://${host}` };
}

export async function remoteDigest(ref: string, auth: RegistryAuth | undefined, timeoutMs = 10_000): Promise<string | undefined> {
  const { repository, tag, base } = registryLocation(ref);
  const url = `${base}/v2/${repository}/manifests/${tag}`;
  const head = (authorization?: string) =>
    fetch(url, { method: 'HEAD', headers: { accept: ACCEPT, ...(authorization ? { authorization } : {}) }, signal: AbortSignal.timeout(timeoutMs) });
  try {
    let response = await head();
    if (response.status === 401) {
      const authorization = await answerChallenge(response.headers.get('www-authenticate') ?? '', auth, timeoutMs);
      if (!authorization) return undefined;
      response = await head(authorization);
    }
    return response.ok ? (response.headers.get('docker-content-digest') ?? undefined) : undefined;
  } catch {
    return undefined;
  }
}

async function answerChallenge(challenge: string, auth: RegistryAuth | undefined, timeoutMs: number): Promise<string | undefined> {
  const basic = auth && 'password' in auth ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` : undefined;
  if (/^basic/i.test(challenge)) return basic;
  if (!/^bearer/i.test(challenge)) return undefined;
  const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
  if (!params['realm']) return undefined;
  const tokenUrl = new URL(params['realm']);
  for (const key of ['service', 'scope']) if (params[key]) tokenUrl.searchParams.set(key, params[key]);
  const response = await fetch(tokenUrl, { headers: basic ? { authorization: basic } : {}, signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) return undefined;
  const body = (await response.json()) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  return token ? `Bearer ${token}` : undefined;
}
