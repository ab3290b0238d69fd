// What crossed the recording proxy in front of the benchmark's registry (test/support/registry.ts's
// flakyProxy, which never fails here), as the benchmark reports it: requests, bytes pulled and uploaded
// (a blob GET answered 401 moves no layer).
import { flakyProxy, type Exchange, type RecordingProxy } from '../support/registry.ts';

export type { Exchange };

export interface Traffic {
  requests: number;
  /** Bytes of blob GETs answered 200: layers and config blobs pulled. */
  pulled: number;
  /** Bytes of blob upload bodies (PATCH, PUT): layers and configs pushed. */
  uploaded: number;
}

export type CountingProxy = Pick<RecordingProxy, 'address' | 'exchanges' | 'stop'>;

export const countingProxy = (target: string): Promise<CountingProxy> => flakyProxy(target, { failOnce: false });

export function traffic(exchanges: Exchange[]): Traffic {
  const blob = (e: Exchange) => /\/blobs\/sha256:/.test(e.url);
  return {
    requests: exchanges.length,
    pulled: exchanges.filter((e) => e.method === 'GET' && blob(e) && e.status === 200).reduce((n, e) => n + e.received, 0),
    uploaded: exchanges.filter((e) => /^(PATCH|PUT)$/.test(e.method) && /\/blobs\/uploads\//.test(e.url)).reduce((n, e) => n + e.sent, 0),
  };
}
