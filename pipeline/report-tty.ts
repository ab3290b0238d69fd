// On a terminal: a listr2 task per image with its last lines of output. listr2 only draws; the runner
// decides. Each task waits for its image's finish event. Events after the images are done (pushes,
// actions, the summary) are written as plain lines below the tree.
import { Listr, type ListrTaskWrapper } from 'listr2';
import type { Reporter, RunEvent } from './events.ts';
import { describeEvent, shortId } from './report-plain.ts';

type Finish = Extract<RunEvent, { type: 'finish' }>;

interface ImageTask {
  output(line: string): void;
  finish(event: Finish): void;
}

export function ttyReporter(images: readonly string[], out: NodeJS.WriteStream, verbose: boolean): Reporter {
  const tasks = new Map<string, ImageTask>();
  const finished = new Set<string>();
  const pending = new Map<string, RunEvent[]>();
  let drawing = images.length > 0;

  const list = new Listr(
    images.map((name) => ({
      title: `${name}: waiting`,
      task: (_: unknown, task: ListrTaskWrapper<unknown, never, never>) =>
        new Promise<void>((resolve, reject) => {
          tasks.set(name, {
            output: (line) => {
              task.title = `${name}: building`;
              task.output = line;
            },
            finish: (event) => {
              if (event.status === 'failed') {
                task.title = `${name}: failed`;
                reject(new Error(`${name}: ${event.error}${event.hint ? ` (hint: ${event.hint})` : ''}`));
              } else {
                task.title = event.status === 'skipped' ? `${name}: up to date (${shortId(event.id!)})` : `${name}: built ${shortId(event.id!)} in ${event.seconds.toFixed(1)}s (${event.reason})`;
                resolve();
              }
            },
          });
          for (const event of pending.get(name) ?? []) deliver(event);
          pending.delete(name);
        }),
    })),
    {
      concurrent: true,
      exitOnError: false,
      collectErrors: 'minimal',
      registerSignalListeners: false,
      rendererOptions: { outputBar: verbose ? Infinity : 5, persistentOutput: false, collapseErrors: false },
    } as never,
  );
  const running = drawing ? list.run().catch(() => undefined).finally(() => (drawing = false)) : Promise.resolve();

  const deliver = (event: RunEvent) => {
    const image = 'image' in event ? event.image : undefined;
    const task = image ? tasks.get(image) : undefined;
    if (image && !task && drawing && images.includes(image)) {
      pending.set(image, [...(pending.get(image) ?? []), event]);
      return;
    }
    if (task && event.type === 'finish') {
      finished.add(event.image);
      return task.finish(event);
    }
    if (task && drawing && (event.type === 'log' || event.type === 'start' || event.type === 'pull' || event.type === 'command')) {
      return task.output(describeEvent(event, true).join(' ').replace(`${image}: `, '').replace(`${image} | `, ''));
    }
    if (drawing) {
      pending.set('', [...(pending.get('') ?? []), event]);
      return;
    }
    for (const line of describeEvent(event, verbose)) out.write(`${line}\n`);
  };

  return {
    emit: deliver,
    async close() {
      // An image the run never reached (a host command failed first) must not hold the tree open.
      for (const [name, task] of tasks) {
        if (!finished.has(name)) task.finish({ type: 'finish', image: name, status: 'failed', tags: [], error: 'not built', seconds: 0 });
      }
      await running;
      for (const event of pending.get('') ?? []) for (const line of describeEvent(event, verbose)) out.write(`${line}\n`);
      pending.clear();
    },
  };
}
