// Just enough of the registry API to ask what a tag names: HEAD on its manifest, with the registry's
// basic or bearer challenge answered (authorizedFetch, which registry-images.ts speaks through too). Used
// before a push, so that a re-run pushes only what is missing. Any doubt (no answer, an unknown challenge)
// means "push": the check may only save work, never skip it.
import type { Credentials } from '../model/credentials.ts';
import { apiLocation, imageRef, tagOf } from '../model/image-ref.ts';

const ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

export async function remoteDigest(ref: string, auth: Credentials | undefined, timeoutMs = 10_000): Promise<string | undefined> {
  const parsed = imageRef(ref);
  const { repository, base } = apiLocation(parsed);
  const tag = parsed.digest ?? tagOf(parsed);
  try {
    const response = await authorizedFetch(
      `${base}/v2/${repository}/manifests/${tag}`,
      { method: 'HEAD', headers: { accept: ACCEPT } },
      auth,
      undefined,
      timeoutMs,
    );
    return response.ok ? (response.headers.get('docker-content-digest') ?? undefined) : undefined;
  } catch {
    return undefined;
  }
}

/** Bearer tokens got in this process, by realm, service and scope: a run asks the token service once each. */
const tokens = new Map<string, Promise<string | undefined>>();
/**
 * The Authorization that a registry last took for a repository and kind of request (read, or write), sent
 * at once the next time: each request's 401 and answer again would double a run's round trips.
 */
const accepted = new Map<string, string>();
const acceptedKey = (url: string, init: RequestInit) => {
  const { origin, pathname } = new URL(url);
  const repository = pathname.replace(/\/(manifests|blobs|tags)\/.*$/, '');
  return `${origin}${repository}\0${init.method === 'PUT' || init.method === 'POST' || init.method === 'PATCH' ? 'write' : 'read'}`;
};

/**
 * A request to a registry, its 401 challenge answered once (basic, or a bearer token for `scope`, by default
 * the one the challenge names). The answer is returned as it is: a 401 after the answer means refused.
 */
export async function authorizedFetch(url: string, init: RequestInit, auth: Credentials | undefined, scope?: string, timeoutMs = 10_000): Promise<Response> {
  const send = (authorization?: string) =>
    fetch(url, {
      ...init,
      headers: { ...(init.headers as Record<string, string> | undefined), ...(authorization ? { authorization } : {}) },
      signal: AbortSignal.timeout(timeoutMs),
    });
  const key = acceptedKey(url, init);
  const known = accepted.get(key);
  const response = await send(known);
  if (response.status !== 401) return response;
  await response.body?.cancel();
  if (known) accepted.delete(key);
  const authorization = await answerChallenge(response.headers.get('www-authenticate') ?? '', auth, timeoutMs, scope);
  if (!authorization) return response;
  const answered = await send(authorization);
  if (answered.status !== 401) accepted.set(key, authorization);
  return answered;
}

async function answerChallenge(challenge: string, auth: Credentials | undefined, timeoutMs: number, scope?: string): Promise<string | undefined> {
  const basic = auth && 'password' in auth ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` : undefined;
  if (/^basic/i.test(challenge)) return basic;
  if (!/^bearer/i.test(challenge)) return undefined;
  const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
  if (!params['realm']) return undefined;
  const tokenUrl = new URL(params['realm']);
  if (params['service']) tokenUrl.searchParams.set('service', params['service']);
  for (const one of (scope ?? params['scope'] ?? '').split(' ').filter(Boolean)) tokenUrl.searchParams.append('scope', one);
  const key = `${tokenUrl.href}\0${basic ?? ''}`;
  let token = tokens.get(key);
  if (!token) {
    token = requestToken(tokenUrl, basic, timeoutMs);
    tokens.set(key, token);
    token.catch(() => tokens.delete(key));
  }
  const value = await token;
  return value ? `Bearer ${value}` : undefined;
}

async function requestToken(tokenUrl: URL, basic: string | undefined, timeoutMs: number): Promise<string | undefined> {
  const response = await fetch(tokenUrl, { headers: basic ? { authorization: basic } : {}, signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) return undefined;
  const body = (await response.json()) as { token?: string; access_token?: string };
  return body.token ?? body.access_token;
}
