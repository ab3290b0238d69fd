// The reports a run leaves in files (--metadata-file, --junit, GitHub's job summary): gathered from the
// events and written when the run ends, whatever its end: done, failed, a config error, or interrupted. A
// second Ctrl-C exits at once (process.exit), so what is not written by then is written from the exit hook,
// which is why writing is synchronous. Each file is written beside itself and renamed over it: a reader
// (the next CI step, a dashboard) sees the old file or the whole new one, never half of one.
import { appendFileSync, closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { RunError, type Problem } from '../model/errors.ts';
import type { Reporter } from '../run/events.ts';
import { runRecorder, type RunResult } from './run-record.ts';

/** One file made from the run's result. Synchronous: it may run in the exit hook. */
export type RunSink = (run: RunResult) => void;

export interface RecordedOutputs extends Reporter {
  /** The images the line builds, once planned. */
  select(images: readonly string[]): void;
  /** Config errors, which end the run before it starts (or are found as an image is built). */
  problems(problems: readonly Problem[]): void;
  /** What ended the run otherwise (an engine that does not answer). */
  failure(message: string): void;
}

export function recordedOutputs(sinks: readonly RunSink[], now: () => number = Date.now): RecordedOutputs {
  const recorder = runRecorder([], now);
  let written = false;
  const write = (exitCode?: number) => {
    if (written) return;
    written = true;
    process.off('exit', onExit);
    const run = recorder.result({ exitCode });
    const failures: unknown[] = [];
    for (const sink of sinks) {
      try {
        sink(run);
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length > 0) throw failures[0];
  };
  const onExit = (code: number) => {
    try {
      write(code);
    } catch (err) {
      process.stderr.write(`the run's report files could not be written: ${(err as Error).message}\n`);
    }
  };
  if (sinks.length > 0) process.once('exit', onExit);
  return {
    select: (images) => recorder.select(images),
    emit: (event) => recorder.emit(event),
    problems: (list) => recorder.problems(list),
    failure: (message) => recorder.failure(message),
    close: async () => write(),
  };
}

/** Writes `text` to `file` whole: a temporary file in the same directory, synced, renamed over it. */
export function writeWhole(file: string, text: string): void {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  try {
    const fd = openSync(temporary, 'wx', 0o644);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
  } catch (err) {
    rmSync(temporary, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    throw new RunError(`cannot write ${file}${code ? ` (${code})` : ''}`, code === 'ENOENT' ? 'its directory must exist' : undefined);
  }
}

/** Appends `text` to `file` in one write (GitHub's job summary file is the runner's, shared by the job's steps). */
export function appendWhole(file: string, text: string): void {
  try {
    appendFileSync(file, text);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RunError(`cannot append to ${file}${code ? ` (${code})` : ''}`);
  }
}
