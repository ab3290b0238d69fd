// What a run did, image by image and host command by host command, gathered from its events for the
// reports that are files or summaries (--metadata-file, --junit, GitHub's job summary). Events in, a value
// out; the clock is the only thing it asks, and a test gives its own.
import type { Problem } from '../model/errors.ts';
import type { RunEvent } from '../run/events.ts';

/** What became of an image, in the words the metadata file and the summaries use. */
export type OutcomeStatus = 'built' | 'up to date' | 'up to date in registry' | 'failed' | 'skipped';

type Push = Extract<RunEvent, { type: 'push' }>;
type Finish = Extract<RunEvent, { type: 'finish' }>;

export interface PushRecord {
  tag: string;
  status: Push['status'];
  /** The manifest's digest in the registry (absent when the engine did not say). */
  digest?: string;
  /** attestations: {storage: index}: the digest of the index the tag names, which holds that manifest. */
  index?: string;
  error?: string;
}

export interface ImageRecord {
  name: string;
  status: OutcomeStatus;
  /** Why it was built, why it is up to date, what failed, or why it was not built. */
  reason?: string;
  hint?: string;
  id?: string;
  tags: readonly string[];
  pushes: PushRecord[];
  /** Up to date in this registry: the manifest's digest there. */
  registry?: { name: string; digest: string };
  base?: Finish['base'];
  /** The configured builder whose engine built or holds it. */
  builder?: string;
  /** Milliseconds since the epoch, as the events arrived. */
  started?: number;
  finished?: number;
  seconds: number;
  /** Its last lines of output (build log, failed step): what a failure report shows. */
  tail: string[];
  /** Its supply-chain documents written next to the metadata file, or why they were not. */
  documents?: { files: string[]; subject: string; error?: string };
}

export interface CommandRecord {
  image: string;
  name?: string;
  command: string;
  status: 'ran' | 'fresh' | 'failed';
  reason?: string;
  output: string[];
  hint?: string;
  seconds: number;
  finished: number;
}

export interface RunResult {
  started: number;
  finished: number;
  status: 'ok' | 'failed' | 'interrupted';
  /** The images of the line in build order, each once; those the run never reached are `skipped`. */
  images: ImageRecord[];
  commands: CommandRecord[];
  /** Config errors: the run did not start, or an image's step asked for what its input lacks. */
  problems: Problem[];
  /** What an action said when it failed (nothing pushed because an image did not build). */
  actionFailures: string[];
  /** What ended the run otherwise (an engine that does not answer). */
  error?: string;
}

/** How many lines of an image's output a report keeps. */
export const TAIL_LINES = 30;

export interface RunRecorder {
  /** The images the line builds, once planned: each is in the result, reached or not. */
  select(images: readonly string[]): void;
  emit(event: RunEvent): void;
  problems(problems: readonly Problem[]): void;
  failure(message: string): void;
  /** What is known now; `exitCode` says how a run that never summed up ended (130: interrupted). */
  result(end?: { exitCode?: number }): RunResult;
}

export function runRecorder(images: readonly string[] = [], now: () => number = Date.now): RunRecorder {
  const started = now();
  const records = new Map<string, ImageRecord>();
  const commands: CommandRecord[] = [];
  const problems: Problem[] = [];
  const actionFailures: string[] = [];
  let summary: Extract<RunEvent, { type: 'summary' }> | undefined;
  let error: string | undefined;
  const recordOf = (name: string): ImageRecord => {
    let record = records.get(name);
    if (!record) {
      record = { name, status: 'skipped', tags: [], pushes: [], seconds: 0, tail: [] };
      records.set(name, record);
    }
    return record;
  };
  for (const name of images) recordOf(name);
  const keep = (record: ImageRecord, line: string) => {
    record.tail.push(line);
    if (record.tail.length > TAIL_LINES) record.tail.shift();
  };

  return {
    select(names) {
      for (const name of names) recordOf(name);
    },
    emit(event) {
      switch (event.type) {
        // A host command asked for alone (px-oci-mon/px-oci-mon) speaks for an image the line does not build:
        // its lines make no image record.
        case 'start':
          recordOf(event.image).started = now();
          return;
        case 'log':
          if (records.has(event.image)) keep(recordOf(event.image), event.line);
          return;
        case 'step':
          if (event.step.error && records.has(event.image)) keep(recordOf(event.image), `${event.step.name}: ${event.step.error}`);
          return;
        case 'command': {
          commands.push({
            image: event.image,
            name: event.name,
            command: event.command,
            status: event.status,
            reason: event.reason,
            output: event.output ?? [],
            hint: event.hint,
            seconds: event.seconds ?? 0,
            finished: now(),
          });
          if (event.status === 'failed' && records.has(event.image)) for (const line of event.output ?? []) keep(recordOf(event.image), line);
          return;
        }
        case 'finish':
          Object.assign(recordOf(event.image), finished(event), { finished: now() });
          return;
        case 'push': {
          const record = recordOf(event.image);
          const push: PushRecord = {
            tag: event.tag,
            status: event.status,
            ...(event.digest ? { digest: event.digest } : {}),
            ...(event.error ? { error: event.error } : {}),
          };
          const i = record.pushes.findIndex((p) => p.tag === event.tag);
          if (i >= 0) record.pushes[i] = push;
          else record.pushes.push(push);
          return;
        }
        case 'index': {
          const push = recordOf(event.image).pushes.find((p) => p.tag === event.tag);
          if (push && event.digest) push.index = event.digest;
          else if (push && event.error) Object.assign(push, { status: 'failed', error: event.error });
          return;
        }
        case 'documents':
          recordOf(event.image).documents = { files: event.files, subject: event.subject, ...(event.error ? { error: event.error } : {}) };
          return;
        case 'action':
          if (!event.ok) actionFailures.push(`${event.action}${event.image ? ` ${event.image}` : ''}: ${event.message}`);
          return;
        case 'summary':
          summary = event;
          return;
        default:
          return;
      }
    },
    problems(list) {
      problems.push(...list);
    },
    failure(message) {
      error ??= message;
    },
    result(end = {}) {
      const status = summary
        ? summary.interrupted
          ? 'interrupted'
          : summary.ok && problems.length === 0
            ? 'ok'
            : 'failed'
        : end.exitCode === 130
          ? 'interrupted'
          : 'failed';
      const interrupted = status === 'interrupted';
      const list = [...records.values()].map((record): ImageRecord => {
        if (record.finished !== undefined) return record;
        // Begun and never finished: the process ended while it was being built.
        if (record.started !== undefined) {
          return { ...record, status: 'failed', reason: interrupted ? 'interrupted while it was being built' : 'the run ended while it was being built' };
        }
        return { ...record, reason: interrupted ? 'not built: interrupted' : 'not built: the run stopped first' };
      });
      return {
        started,
        finished: now(),
        status,
        images: list,
        commands: [...commands],
        problems: [...problems],
        actionFailures: [...actionFailures],
        ...(error ? { error } : {}),
      };
    },
  };
}

function finished(event: Finish): Partial<ImageRecord> {
  const common = {
    tags: event.tags,
    seconds: event.seconds,
    ...(event.id ? { id: event.id } : {}),
    ...(event.base ? { base: event.base } : {}),
    ...(event.hint ? { hint: event.hint } : {}),
    ...(event.builder ? { builder: event.builder } : {}),
  };
  if (event.status === 'failed') return { ...common, status: event.notBuilt ? 'skipped' : 'failed', reason: event.error };
  if (event.status === 'built') return { ...common, status: 'built', reason: event.reason };
  if (event.registry) return { ...common, status: 'up to date in registry', registry: event.registry, reason: event.reason ?? 'its inputs label matched' };
  return { ...common, status: 'up to date', reason: event.reason ?? 'up to date' };
}

/**
 * The registry digest that names the image: the index its tags were moved onto (attestations: {storage:
 * index}, as bake reports an index), else where it is up to date, or the first tag pushed or found there.
 */
export function registryDigest(record: ImageRecord): string | undefined {
  const indexed = record.pushes.find((p) => p.status !== 'failed' && p.index)?.index;
  return indexed ?? record.registry?.digest ?? record.pushes.find((p) => p.status !== 'failed' && p.digest)?.digest;
}
