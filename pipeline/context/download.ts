// One HTTP download into a temporary file of the cache, hashed as it streams. Bounded in time: a server
// that does not answer within the connect timeout, or that sends less than 1 KiB in an idle timeout, fails
// the fetch (Node's fetch alone would wait 300 s for headers and for ever for a body dripping a byte every
// few seconds). The second rule is curl's --speed-limit 1024 --speed-time N: a byte now and then is no
// progress.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DEFAULT_FETCH_TIMEOUTS } from '../model/context-entries.ts';
import { Interrupted, RunError } from '../model/errors.ts';
import { redactUrl } from '../model/url.ts';
import { isWriteProblem, writeFailure } from './disk-errors.ts';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

export interface Timeouts {
  /** Seconds until the answer's headers have come. */
  connect: number;
  /** Seconds in which the body must bring at least PROGRESS_BYTES. */
  idle: number;
}

const PROGRESS_BYTES = 1024;

export interface Downloaded {
  path: string;
  sha256: string;
  size: number;
  contentType: string;
}

export async function download(url: string, cacheDir: string, signal: AbortSignal, timeouts: Timeouts = DEFAULT_FETCH_TIMEOUTS): Promise<Downloaded> {
  const shown = redactUrl(url);
  const controller = new AbortController();
  const cancel = () => controller.abort();
  signal.addEventListener('abort', cancel, { once: true });
  let timedOut: RunError | undefined;
  let timer: NodeJS.Timeout | undefined;
  const arm = (seconds: number, why: string, hint: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = new RunError(`fetching ${shown} timed out: ${why}`, hint);
      controller.abort();
    }, seconds * 1000);
  };
  const tmp = path.join(cacheDir, 'tmp', randomUUID());
  try {
    arm(
      timeouts.connect,
      `no answer within ${timeouts.connect} s`,
      'check that the server is up and reachable; a slow one may be given more with connectTimeout on the step',
    );
    let response: Response;
    try {
      response = await fetch(url, { redirect: 'follow', signal: controller.signal });
    } catch (err) {
      if (timedOut) throw timedOut;
      if (signal.aborted) throw new Interrupted();
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new RunError(`fetching ${shown} failed: ${cause?.code ?? cause?.message ?? (err as Error).message}`, 'check the URL and the network');
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel().catch(() => {});
      throw new RunError(
        `fetching ${shown} failed: HTTP ${response.status} ${response.statusText}`.trimEnd(),
        'check the URL: nothing is embedded from an answer that is not a success',
      );
    }
    let progress = 0;
    const idle = () => {
      progress = 0;
      arm(timeouts.idle, `less than 1 KiB came in ${timeouts.idle} s`, 'the server stalled; a slow one may be given more with idleTimeout on the step');
    };
    idle();
    await mkdir(path.dirname(tmp), { recursive: true }).catch((err: unknown) => {
      throw writeFailure(path.dirname(tmp), err);
    });
    const hash = createHash('sha256');
    let size = 0;
    try {
      await pipeline(
        Readable.fromWeb(response.body as WebReadableStream),
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            progress += chunk.length;
            if (progress >= PROGRESS_BYTES) idle();
            hash.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        }),
        createWriteStream(tmp),
      );
    } catch (err) {
      if (timedOut) throw timedOut;
      if (signal.aborted) throw new Interrupted();
      if (isWriteProblem(err)) throw writeFailure(tmp, err);
      throw new RunError(`fetching ${shown} failed while reading: ${(err as Error).message}`);
    }
    return { path: tmp, sha256: hash.digest('hex'), size, contentType: response.headers.get('content-type') ?? '' };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', cancel);
  }
}
