// On a terminal: a listr2 task per image with its last lines of output. listr2 only draws; the runner
// decides. Each image's outcome is a promise made up front, which its task awaits: events settle it
// whether or not listr2 has started the task yet, and close() settles what the run never reached. Events
// that belong to no image (notices, pushes, actions, the summary) are written below the tree at the end.
import { Listr, type ListrTaskWrapper } from 'listr2';
import type { Reporter, RunEvent } from '../run/events.ts';
import { formatEvent, shortId } from './format.ts';
import { plainLine } from './plain.ts';

type Finish = Extract<RunEvent, { type: 'finish' }>;
type Task = ListrTaskWrapper<unknown, never, never>;

interface ImageView {
  title: string;
  line?: string;
  task?: Task;
  outcome: Promise<void>;
  settle(event: Finish): void;
  settled: boolean;
}

function imageView(name: string): ImageView {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const outcome = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // It may fail before listr2 has started the task that awaits it: that is not an unhandled rejection.
  outcome.catch(() => {});
  const view: ImageView = {
    title: `${name}: waiting`,
    outcome,
    settled: false,
    settle(event) {
      if (view.settled) return;
      view.settled = true;
      if (event.status === 'failed') {
        show(view, `${name}: failed`);
        reject(new Error(`${name}: ${event.error}${event.hint ? ` (hint: ${event.hint})` : ''}`));
        return;
      }
      show(
        view,
        event.status === 'skipped'
          ? `${name}: up to date (${shortId(event.id!)})`
          : `${name}: built ${shortId(event.id!)} in ${event.seconds.toFixed(1)}s (${event.reason})`,
      );
      resolve();
    },
  };
  return view;
}

function show(view: ImageView, title: string, line?: string): void {
  view.title = title;
  if (line !== undefined) view.line = line;
  if (view.task) {
    view.task.title = view.title;
    if (line !== undefined) view.task.output = line;
  }
}

/** `notices` are written above the tree, before it is drawn: they are about the whole run. */
export function ttyReporter(images: readonly string[], out: NodeJS.WriteStream, verbose: boolean, notices: readonly string[] = []): Reporter {
  const views = new Map(images.map((name) => [name, imageView(name)]));
  const later: RunEvent[] = [];
  for (const message of notices) out.write(`note: ${message}\n`);

  const list = new Listr(
    images.map((name) => ({
      title: views.get(name)!.title,
      task: (_: unknown, task: Task) => {
        const view = views.get(name)!;
        view.task = task;
        show(view, view.title, view.line);
        return view.outcome;
      },
    })),
    {
      concurrent: true,
      exitOnError: false,
      collectErrors: 'minimal',
      registerSignalListeners: false,
      rendererOptions: { outputBar: verbose ? Infinity : 5, persistentOutput: false, collapseErrors: false },
    } as never,
  );
  const drawing = images.length > 0 ? list.run().catch(() => undefined) : Promise.resolve();

  return {
    emit(event) {
      const image = 'image' in event ? event.image : undefined;
      const view = image === undefined ? undefined : views.get(image);
      if (!view || view.settled) {
        later.push(event);
        return;
      }
      // A failed command's message and advice are printed whole below the tree, not cut to one line.
      if (event.type === 'command' && event.status === 'failed') later.push(event);
      if (event.type === 'finish') view.settle(event);
      else if (event.type === 'step') show(view, `${image}: building`, event.step.name);
      else if (event.type === 'log' || event.type === 'start' || event.type === 'pull' || event.type === 'command') {
        show(
          view,
          `${image}: building`,
          formatEvent(event, true)
            .map((l) => l.text)
            .join(' '),
        );
      } else later.push(event);
    },
    async close() {
      for (const [name, view] of views) view.settle({ type: 'finish', image: name, status: 'failed', tags: [], error: 'not built', seconds: 0 });
      await drawing;
      for (const event of later.splice(0)) for (const line of formatEvent(event, verbose)) out.write(`${plainLine(line)}\n`);
    },
  };
}
