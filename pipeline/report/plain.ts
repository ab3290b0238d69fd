// One line per event, for logs and CI: no cursor movement, no colour, each line says which image it is about.
import type { PlannedImage, Reporter, RunEvent } from '../model/events.ts';

export function describeEvent(event: RunEvent, verbose: boolean): string[] {
  switch (event.type) {
    case 'plan':
      return event.images.flatMap(describePlanned);
    case 'notice':
      return [`note: ${event.message}`];
    case 'start':
      return [`${event.image}: building`];
    case 'log':
      return verbose ? [`${event.image} | ${event.line}`] : [];
    case 'command': {
      const what = event.name ?? event.command;
      if (event.status === 'fresh') return [`${event.image}: ${what}: up to date`];
      if (event.status === 'failed') {
        return [
          `${event.image}: ${what}: FAILED: ${event.reason}`,
          ...(event.output ?? []).map((line) => `  | ${line}`),
          `  command: ${event.command}`,
          ...(event.hint ? [`  hint: ${event.hint}`] : []),
        ];
      }
      return [`${event.image}: ${what}: ran (${event.reason})`];
    }
    case 'pull':
      return [`${event.image}: pulling ${event.ref}`];
    case 'finish':
      return describeFinish(event);
    case 'action':
      return [`${event.action}${event.image ? ` ${event.image}` : ''}: ${event.ok ? '' : 'FAILED: '}${event.message}`];
    case 'push':
      if (event.status === 'present') return [`${event.image}: ${event.tag} is already in the registry`];
      return [event.status === 'pushed' ? `${event.image}: pushed ${event.tag}${event.digest ? ` (${event.digest})` : ''}` : `${event.image}: push of ${event.tag} FAILED: ${event.error}`];
    case 'summary': {
      const count = (s: string) => event.images.filter((i) => i.status === s).length;
      const parts = [`${count('built')} built`, `${count('skipped')} up to date`, `${count('failed')} failed`];
      const { ran, fresh, failed } = event.commands;
      if (ran + fresh + failed > 0) parts.push(`commands: ${ran} ran, ${fresh} up to date, ${failed} failed`);
      if (event.pushed.length) parts.push(`pushed ${event.pushed.join(', ')}`);
      if (event.notPushed.length) parts.push(`NOT pushed ${event.notPushed.join(', ')}`);
      const state = event.interrupted ? 'interrupted' : event.ok ? 'ok' : 'FAILED';
      return [`summary: ${state}: ${parts.join(', ')}`];
    }
  }
}

function describeFinish(event: Extract<RunEvent, { type: 'finish' }>): string[] {
  const seconds = event.seconds ? ` in ${event.seconds.toFixed(1)}s` : '';
  if (event.status === 'failed') {
    return [`${event.image}: FAILED${seconds}: ${event.error}`, ...(event.hint ? [`  hint: ${event.hint}`] : [])];
  }
  const id = event.id ? shortId(event.id) : '';
  if (event.status === 'skipped') return [`${event.image}: up to date (${id}): ${event.tags.join(', ')}`];
  return [`${event.image}: built ${id}${seconds} (${event.reason}): ${event.tags.join(', ')}`];
}

function describePlanned(image: PlannedImage): string[] {
  return [
    `${image.name}`,
    `  base:       ${image.base}`,
    `  depends on: ${image.dependsOn.join(', ') || '-'}`,
    `  tags:       ${image.tags.join(', ')}`,
    '  Dockerfile:',
    ...image.dockerfile.trimEnd().split('\n').map((line) => `    ${line}`),
    '',
  ];
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

export function plainReporter(out: NodeJS.WritableStream, verbose: boolean): Reporter {
  return {
    emit(event) {
      for (const line of describeEvent(event, verbose)) out.write(`${line}\n`);
    },
    close: async () => {},
  };
}
