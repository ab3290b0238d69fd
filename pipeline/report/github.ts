// GitHub Actions (GITHUB_ACTIONS=true, or --ci github): each image's lines in a ::group::, config errors and
// failed steps as ::error annotations on the config's file and line, secrets masked (::add-mask::) before
// anything could print them, and a job summary appended to $GITHUB_STEP_SUMMARY. Workflow commands are
// escaped as GitHub's spec says (actions/toolkit's command.ts): in the message %, CR and LF; in a property
// also ':' and ','. A line of build output that GitHub would read as a command of its own (it starts with
// '::', spaces aside) is shown behind a '| ', so a build cannot end a group, add a mask or stop commands.
import { formatPosition, type SourcePosition } from '../model/errors.ts';
import type { RunEvent } from '../run/events.ts';
import { groupedReporter, type GroupedView } from './grouped.ts';
import { appendWhole, type RunSink } from './output-file.ts';
import { registryDigest, type RunResult } from './run-record.ts';
import { errorAnnotation, escapeData, maskCommand } from './workflow-commands.ts';

/** A line GitHub would take for a workflow command, shown behind a bar. */
const guard = (line: string) => (line.trimStart().startsWith('::') ? `| ${line}` : line);

/** Where a failed image's or command's annotation goes: the config's entry for it. */
export type Locate = (image: string, failure: { command?: string; error?: string }) => Promise<SourcePosition | undefined>;

export interface GithubView extends GroupedView {
  mask(value: string): void;
}

export function githubReporter(out: NodeJS.WritableStream, verbose: boolean, locate: Locate = async () => undefined, workspace?: string): GithubView {
  const view = groupedReporter(out, verbose, {
    open: (image) => `::group::${escapeData(image)}`,
    close: () => '::endgroup::',
    guard,
  });
  const failures: { image: string; command?: string; error?: string; message: string; title: string }[] = [];
  return {
    ...view,
    mask: (value) => view.raw(maskCommand(value)),
    emit(event: RunEvent) {
      view.emit(event);
      // A config error found as the image was built is annotated at its place with the run's config errors.
      if (event.type === 'finish' && event.status === 'failed' && !event.notBuilt && !event.problems?.length) {
        failures.push({
          image: event.image,
          error: event.error,
          message: event.hint ? `${event.error}\nhint: ${event.hint}` : String(event.error),
          title: `build-images: ${event.image} failed`,
        });
      } else if (event.type === 'command' && event.status === 'failed') {
        const tail = event.output?.length ? `\n${event.output.join('\n')}` : '';
        failures.push({
          image: event.image,
          command: event.name,
          message: `${event.reason}${tail}\ncommand: ${event.command}${event.hint ? `\nhint: ${event.hint}` : ''}`,
          title: `build-images: ${event.name ?? event.image} failed`,
        });
      } else if (event.type === 'push' && event.status === 'failed') {
        failures.push({ image: event.image, message: `push of ${event.tag} failed: ${event.error}`, title: `build-images: push of ${event.image} failed` });
      }
    },
    async close() {
      await view.close();
      // An image that failed because its host command did is said once, at the command's step.
      const commandFailed = new Set(failures.filter((f) => f.command !== undefined).map((f) => f.image));
      const kind = (f: (typeof failures)[number]) => f.command !== undefined || f.error === undefined || !commandFailed.has(f.image);
      for (const failure of failures.filter(kind)) {
        const at = await locate(failure.image, { command: failure.command, error: failure.error }).catch(() => undefined);
        view.raw(errorAnnotation(failure.message, at, failure.title, workspace));
      }
    },
  };
}

/** The job summary: a Markdown table of the images, appended to $GITHUB_STEP_SUMMARY. */
export function jobSummary(run: RunResult): string {
  const state = run.status === 'ok' ? 'ok' : run.status === 'interrupted' ? 'interrupted' : 'FAILED';
  const lines = [`### build-images: ${state}`, ''];
  if (run.images.length > 0) {
    lines.push('| image | status | time | reason | tags and digests |', '| --- | --- | ---: | --- | --- |');
    for (const image of run.images) {
      const digest = registryDigest(image);
      const pushed = image.pushes.map((p) => `${code(p.tag)} ${p.status}${p.digest ? ` ${code(p.digest)}` : ''}${p.error ? `: ${cell(p.error)}` : ''}`);
      const tags = pushed.length ? pushed : image.tags.map(code);
      const where = image.registry && !pushed.length ? [`${code(image.registry.name)} ${code(image.registry.digest)}`] : [];
      const id = image.id && !digest ? [`id ${code(image.id)}`] : [];
      lines.push(
        `| ${code(image.name)} | ${image.status} | ${image.seconds ? `${image.seconds.toFixed(1)} s` : ''} | ${cell(image.reason ?? '')} | ${[...tags, ...where, ...id].join('<br>')} |`,
      );
    }
    lines.push('');
  }
  const failedCommands = run.commands.filter((c) => c.status === 'failed');
  if (run.commands.length > 0) {
    const count = (s: string) => run.commands.filter((c) => c.status === s).length;
    lines.push(`Host commands: ${count('ran')} ran, ${count('fresh')} up to date, ${count('failed')} failed.`, '');
    for (const c of failedCommands) lines.push(`- ${code(c.name ?? c.command)}: ${cell(c.reason ?? 'failed')}`);
    if (failedCommands.length) lines.push('');
  }
  if (run.problems.length > 0) {
    lines.push('Config errors:', '');
    for (const p of run.problems) lines.push(`- ${p.at ? `${code(formatPosition(p.at))}: ` : ''}${cell(p.message)}${p.hint ? ` (${cell(p.hint)})` : ''}`);
    lines.push('');
  }
  for (const failure of [...(run.error ? [run.error] : []), ...run.actionFailures]) lines.push(`- ${cell(failure)}`);
  if (run.error || run.actionFailures.length) lines.push('');
  return `${lines.join('\n')}\n`;
}

const html = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** A table cell's text: no line break, no '|' that would end the cell, no markup. */
const cell = (value: string) =>
  html(value)
    .replace(/\|/g, '&#124;')
    .replace(/\r?\n|\r/g, '<br>');
const code = (value: string) => `<code>${cell(value)}</code>`;

export function githubSummaryFile(file: string): RunSink {
  return (run) => appendWhole(file, jobSummary(run));
}
