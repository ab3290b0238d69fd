// Just enough of the registry API to ask what a tag names: HEAD on its manifest, with the registry's
// basic or bearer challenge answered. Used before a push, so that a re-run pushes only what is missing.
// Any doubt (no answer, an unknown challenge) means "push": the check may only save work, never skip it.
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

async function answerChallenge(challenge: string, auth: Credentials | undefined, timeoutMs: number): Promise<string | undefined> {
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
