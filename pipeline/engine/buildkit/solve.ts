// A build through the Control API, as buildx's docker driver makes it: Control.Solve with the Dockerfile
// frontend reading the context and the Dockerfile from the session (FileSync's "context" and "dockerfile"),
// and Control.Status streaming the same StatusResponse messages POST /build wraps in its trace lines. The
// image is named by the exporter's answer (`containerimage.digest`), as POST /build's `moby.image.id` is.
import { randomUUID } from 'node:crypto';
import type { ControlConnection } from './control-dial.ts';
import { CONTROL, decodeSolveResponse, encodeSolveRequest, encodeStatusRequest, type CacheEntry } from './control-proto.ts';
import { callStatus, openCall, unary } from './grpc-client.ts';
import { frame, onMessages } from './grpc-server.ts';
import { decodeStatus, type StatusResponse } from './status-proto.ts';
import type { LocalCacheImport } from './local-cache.ts';
import type { BuildRequest } from '../engine.ts';

export type SolveSpec = Pick<BuildRequest, 'buildargs' | 'labels' | 'noCache' | 'cache' | 'signal' | 'platforms' | 'contexts'> & {
  session: string;
  /** The cache directories to import, each with the manifest digest its index.json names. */
  localImports?: readonly LocalCacheImport[];
  /** dockerd's own (`moby`) unless given: a buildkitd's builds export a `docker` tarball through the session. */
  exporter?: CacheEntry;
};

/**
 * The Dockerfile frontend's options, as POST /build's parameters become them in the daemon. Cache sources go
 * to the frontend too: it solves the Dockerfile itself and imports only what its own options name (as
 * `cache-imports`, and as `cache-from` for the frontend of BuildKit 0.8, Engine 20.10), as buildx sends them.
 */
export function frontendAttrs(
  spec: Pick<SolveSpec, 'buildargs' | 'labels' | 'noCache' | 'cache' | 'localImports' | 'platforms' | 'contexts'>,
): Record<string, string> {
  const { imports } = cacheEntries(spec.cache, spec.localImports);
  const refs = imports.filter((e) => e.type === 'registry').map((e) => e.attrs['ref']);
  return {
    filename: 'Dockerfile',
    // The engines we drive run with --bridge=none; RUN steps get no network, as with POST /build.
    'force-network-mode': 'none',
    ...(spec.noCache ? { 'no-cache': '' } : {}),
    // As buildx sends --platform: the frontend builds the stage once per platform and, for several, the
    // exporter stores them as one image index under the name.
    ...(spec.platforms?.length ? { platform: spec.platforms.join(',') } : {}),
    ...Object.fromEntries(Object.entries(spec.buildargs).map(([k, v]) => [`build-arg:${k}`, v])),
    ...Object.fromEntries(Object.entries(spec.labels).map(([k, v]) => [`label:${k}`, v])),
    ...Object.fromEntries(Object.entries(spec.contexts ?? {}).map(([name, source]) => [`context:${name}`, source])),
    ...(imports.length
      ? {
          'cache-imports': JSON.stringify(imports.map((e) => ({ Type: e.type, Attrs: e.attrs }))),
          ...(refs.length ? { 'cache-from': refs.join(',') } : {}),
        }
      : {}),
  };
}

/**
 * Cache exports and imports as buildx sends them: inline metadata in the image, the cache to a registry tag
 * (its manifest assembled in the containerd store's content store: the caller refuses it elsewhere) or to a
 * directory (`dest`, which names the session's content store it is written to), layers from the images or
 * exported caches named and from directories (`src` names the store, `digest` the manifest to read).
 */
export function cacheEntries(cache: SolveSpec['cache'], localImports: readonly LocalCacheImport[] = []): { exports: CacheEntry[]; imports: CacheEntry[] } {
  return {
    exports: [
      ...(cache?.inline ? [{ type: 'inline', attrs: {} }] : []),
      ...(cache?.registry ? [{ type: 'registry', attrs: { ref: cache.registry.ref, mode: cache.registry.mode } }] : []),
      ...(cache?.local ? [{ type: 'local', attrs: { dest: cache.local.dest, mode: cache.local.mode } }] : []),
    ],
    imports: [
      ...(cache?.from ?? []).map((ref) => ({ type: 'registry', attrs: { ref } })),
      ...localImports.map(({ src, digest }) => ({ type: 'local', attrs: { src, digest } })),
    ],
  };
}

export interface SolveOutcome {
  exporterResponse: Record<string, string>;
}

/**
 * Solves, streaming the build's status to `onStatus` until it ends; rejects with the call's error (a
 * GrpcCallError carrying the daemon's words) when the build fails.
 */
export async function solve(control: ControlConnection, spec: SolveSpec, onStatus: (status: StatusResponse) => void): Promise<SolveOutcome> {
  const ref = randomUUID().replace(/-/g, '');
  const status = openCall(control.session, CONTROL.status, {}, spec.signal);
  onMessages(status, (message) => onStatus(decodeStatus(message)));
  const statusEnded = callStatus(status, CONTROL.status).catch(() => {});
  status.end(frame(encodeStatusRequest(ref)));
  const { exports, imports } = cacheEntries(spec.cache, spec.localImports);
  const request = encodeSolveRequest({
    ref,
    session: spec.session,
    frontend: 'dockerfile.v0',
    frontendAttrs: frontendAttrs(spec),
    exporter: spec.exporter ?? { type: 'moby', attrs: {} },
    cacheExports: exports,
    cacheImports: imports,
  });
  // The last status messages (the export's, the failing step's) may still be on their way when Solve
  // answers: Status ends once it has sent them.
  const drained = () => Promise.race([statusEnded, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  try {
    const answer = await unary(control.session, CONTROL.solve, request, spec.signal);
    await drained();
    return { exporterResponse: decodeSolveResponse(answer) };
  } catch (err) {
    if (!spec.signal.aborted) await drained();
    throw err;
  } finally {
    if (!status.destroyed) status.close();
  }
}
