// Reads the NDJSON answer of POST /build?version=2. BuildKit's progress comes as `moby.buildkit.trace` lines,
// each a base64 protobuf StatusResponse; the image ID as `moby.image.id`; a failure as the usual
// {"errorDetail"} line, after the failing vertex has been sent with its `error`. There are no "Step N/M"
// lines: the vertex names ("[3/5] RUN make") are the steps.
import type { BuildProgress, BuildStep } from '../engine.ts';
import { decodeStatus, timestampMs, type StatusResponse } from './status-proto.ts';

export interface TraceOutcome {
  imageId?: string;
  /** The engine's message of a failed build. */
  error?: string;
  /** The vertex that failed, when one did. */
  failedStep?: BuildStep;
}

interface Message {
  id?: string;
  aux?: unknown;
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

export interface TraceReader {
  /** One line of the answer, as read. */
  line(raw: string): void;
  /** One message of Control.Status, as decoded. */
  status(decoded: StatusResponse): void;
  /** The build failed with this message (Control.Solve's error); a failing step's own error is preferred. */
  fail(message: string): void;
  /** The answer has ended: flushes unfinished log lines and says how the build ended. */
  end(): TraceOutcome;
}

export function createTraceReader(onProgress: (event: BuildProgress) => void): TraceReader {
  const steps = new Map<string, BuildStep>();
  const sent = new Map<string, string>();
  // RUN output arrives in chunks that need not end at a newline: keep the tail per vertex and stream.
  const partial = new Map<string, { stepId: string; text: string }>();
  const outcome: TraceOutcome = {};
  let solveError: string | undefined;

  const stepName = (id: string) => steps.get(id)?.name ?? id;

  const emitLines = (stepId: string, text: string) => {
    for (const line of text.split('\n')) {
      const clean = line.replace(/\r$/, '');
      if (clean.trim()) onProgress({ kind: 'log', stepId, line: clean });
    }
  };

  const flush = (stepId?: string) => {
    for (const [key, tail] of partial) {
      if (stepId !== undefined && tail.stepId !== stepId) continue;
      partial.delete(key);
      emitLines(tail.stepId, tail.text);
    }
  };

  const status = (s: StatusResponse) => {
    for (const log of s.logs) {
      const key = `${log.vertex} ${log.stream}`;
      const text = (partial.get(key)?.text ?? '') + Buffer.from(log.msg).toString('utf8');
      const cut = text.lastIndexOf('\n');
      if (cut >= 0) emitLines(log.vertex, text.slice(0, cut));
      const rest = text.slice(cut + 1);
      if (rest) partial.set(key, { stepId: log.vertex, text: rest });
      else partial.delete(key);
    }
    for (const v of s.vertexes) {
      const step: BuildStep = { id: v.digest, name: v.name, cached: v.cached };
      const started = timestampMs(v.started ?? undefined);
      const completed = timestampMs(v.completed ?? undefined);
      if (started !== undefined) step.started = started;
      if (completed !== undefined) step.completed = completed;
      if (v.error) step.error = v.error;
      steps.set(step.id, step);
      if (step.completed !== undefined) flush(step.id);
      if (step.error) outcome.failedStep = step;
      const key = JSON.stringify(step);
      if (sent.get(step.id) === key) continue;
      sent.set(step.id, key);
      onProgress({ kind: 'step', step });
    }
    for (const st of s.statuses) {
      // Sub-progress of a vertex (layers pulled, exported): shown once, when it is done.
      if (st.completed) onProgress({ kind: 'log', line: `${stepName(st.vertex)}: ${st.name || st.ID} done` });
    }
    for (const w of s.warnings) {
      onProgress({ kind: 'log', line: `warning: ${stepName(w.vertex)}: ${Buffer.from(w.short).toString('utf8')}` });
    }
  };

  return {
    status,
    fail(message) {
      solveError ??= message;
    },
    line(raw) {
      if (!raw.trim()) return;
      let message: Message;
      try {
        message = JSON.parse(raw) as Message;
      } catch {
        onProgress({ kind: 'log', line: raw });
        return;
      }
      if (message.errorDetail || message.error) {
        outcome.error = message.errorDetail?.message ?? message.error;
        return;
      }
      if (message.id === 'moby.buildkit.trace' && typeof message.aux === 'string') {
        let decoded: StatusResponse;
        try {
          decoded = decodeStatus(Buffer.from(message.aux, 'base64'));
        } catch (err) {
          onProgress({ kind: 'log', line: `unreadable BuildKit progress: ${(err as Error).message}` });
          return;
        }
        status(decoded);
        return;
      }
      if (message.id === 'moby.image.id') {
        const id = (message.aux as { ID?: unknown } | undefined)?.ID;
        if (typeof id === 'string') outcome.imageId = id;
        return;
      }
      const text = message.stream ?? message.status;
      if (text) for (const line of text.split('\n')) if (line.trim()) onProgress({ kind: 'log', line: line.trimEnd() });
    },
    end() {
      flush();
      if (solveError !== undefined && !outcome.failedStep) outcome.error ??= solveError;
      return outcome;
    },
  };
}

/** The message a failed build rejects with: the failing step, then the engine's words. */
export function failureMessage(outcome: TraceOutcome): string {
  const error = outcome.error ?? outcome.failedStep?.error ?? 'the build failed';
  return outcome.failedStep ? `${outcome.failedStep.name}: ${error}` : error;
}
