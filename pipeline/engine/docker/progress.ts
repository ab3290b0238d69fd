// The engine's progress stream is NDJSON in a 200 answer: a failing RUN, an unpullable base and a refused
// push all arrive as {"error": ...} lines, which docker-modem's followProgress reports as success, and it
// crashes on a line that is not JSON. So we read it ourselves, a line at a time.
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

export interface ProgressMessage {
  stream?: string;
  status?: string;
  progress?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Tag?: string; Digest?: string };
}

export interface ProgressResult {
  error?: string;
  aux: NonNullable<ProgressMessage['aux']>[];
}

export async function readProgress(stream: Readable, onLine: (line: string) => void): Promise<ProgressResult> {
  const result: ProgressResult = { aux: [] };
  for await (const raw of createInterface({ input: stream, crlfDelay: Infinity })) {
    if (!raw.trim()) continue;
    let message: ProgressMessage;
    try {
      message = JSON.parse(raw) as ProgressMessage;
    } catch {
      onLine(raw);
      continue;
    }
    if (message.error || message.errorDetail) {
      result.error = message.errorDetail?.message ?? message.error;
      continue;
    }
    if (message.aux) result.aux.push(message.aux);
    const text = message.stream ?? [message.id, message.status, message.progress].filter(Boolean).join(' ');
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      onLine(line.trimEnd());
    }
  }
  return result;
}
