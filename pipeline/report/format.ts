// Events as text, once, for every human view: the plain renderer prefixes each line with its image, the
// terminal view puts it on that image's line. Neither parses the other's output.
import type { PlanEvent, PlannedPhase } from '../plan/plan-event.ts';
import type { RunEvent } from '../run/events.ts';

export interface Line {
  /** The image the line is about; none for the run as a whole. */
  image?: string;
  text: string;
  /** Output of a build or command, as opposed to what build-images says. */
  output?: boolean;
  /** Indented under the line before it (a hint, a failed command's output): the image is not repeated. */
  continued?: boolean;
}

/** The first line about the image, the rest indented under it. */
const underImage = (image: string, [first, ...rest]: string[]): Line[] => [{ image, text: first! }, ...rest.map((text) => ({ image, text, continued: true }))];

export function formatEvent(event: RunEvent, verbose: boolean): Line[] {
  switch (event.type) {
    case 'plan':
      return formatPlan(event).map((text) => ({ text }));
    case 'notice':
      return [{ text: `note: ${event.message}` }];
    case 'start':
      return [{ image: event.image, text: event.builder ? `building on ${event.builder}` : 'building' }];
    case 'log':
      return verbose ? [{ image: event.image, text: event.line, output: true }] : [];
    case 'step': {
      const { step } = event;
      if (!verbose || step.completed === undefined) return [];
      const took = step.cached ? 'cached' : step.started !== undefined ? `${((step.completed - step.started) / 1000).toFixed(1)}s` : 'done';
      return [{ image: event.image, text: `${step.error ? 'FAILED' : 'done'} ${step.name} (${took})` }];
    }
    case 'command': {
      const what = event.name ?? event.command;
      if (event.status === 'fresh') return [{ image: event.image, text: `${what}: up to date` }];
      if (event.status === 'failed') {
        return underImage(event.image, [
          `${what}: FAILED: ${event.reason}`,
          ...(event.output ?? []).map((line) => `  | ${line}`),
          `  command: ${event.command}`,
          ...(event.hint ? [`  hint: ${event.hint}`] : []),
        ]);
      }
      return [{ image: event.image, text: `${what}: ran (${event.reason})` }];
    }
    case 'pull':
      return [{ image: event.image, text: `pulling ${event.ref}` }];
    case 'finish':
      return underImage(event.image, formatFinish(event));
    case 'action':
      return [{ text: `${event.action}${event.image ? ` ${event.image}` : ''}: ${event.ok ? '' : 'FAILED: '}${event.message}` }];
    case 'push': {
      const text =
        event.status === 'present'
          ? `${event.tag} is already in the registry`
          : event.status === 'pushed'
            ? `pushed ${event.tag}${event.digest ? ` (${event.digest})` : ''}`
            : event.status === 'tagged'
              ? `tagged ${event.tag} in the registry${event.digest ? ` (${event.digest})` : ''}`
              : `push of ${event.tag} FAILED: ${event.error}`;
      return [{ image: event.image, text }];
    }
    case 'documents':
      return event.error
        ? underImage(event.image, [`documents FAILED: ${event.error}`, ...(event.hint ? [`  hint: ${event.hint}`] : [])])
        : [{ image: event.image, text: `documents: ${event.files.join(', ')}` }];
    case 'referrers': {
      if (event.error) return [{ image: event.image, text: `attestations of ${event.subject} FAILED: ${event.error}` }];
      const kinds = event.referrers.map((r) => r.artifactType).join(', ');
      const where = [
        ...(event.fallbackTag ? [` (referrers index at tag ${event.fallbackTag})`] : []),
        ...(event.attestationTag ? [`; signed Statements at tag ${event.attestationTag}`] : []),
      ].join('');
      return [{ image: event.image, text: `attached to ${event.subject}: ${kinds}${where}` }];
    }
    case 'index':
      if (event.error) return [{ image: event.image, text: `attestation index at ${event.tag} FAILED: ${event.error}` }];
      return [
        {
          image: event.image,
          text: `${event.tag} names the index ${event.digest} of ${event.manifest}${event.attestation ? ` and its attestation manifest ${event.attestation}` : ' (already made)'}`,
        },
      ];
    case 'cache':
      return [{ text: `build cache pruned: ${mebibytes(event.reclaimed)} freed, down to ${mebibytes(event.limit)} at most` }];
    case 'summary': {
      const count = (s: string) => event.images.filter((i) => i.status === s).length;
      const parts = [`${count('built')} built`, `${count('skipped')} up to date`, `${count('failed')} failed`];
      const { ran, fresh, failed } = event.commands;
      if (ran + fresh + failed > 0) parts.push(`commands: ${ran} ran, ${fresh} up to date, ${failed} failed`);
      if (event.pushed.length) parts.push(`pushed ${event.pushed.join(', ')}`);
      if (event.notPushed.length) parts.push(`NOT pushed ${event.notPushed.join(', ')}`);
      const state = event.interrupted ? 'interrupted' : event.ok ? 'ok' : 'FAILED';
      return [{ text: `summary: ${state}: ${parts.join(', ')}` }];
    }
  }
}

/** What a finished image's line says: its outcome, and the hint under a failure. */
export function formatFinish(event: Extract<RunEvent, { type: 'finish' }>): string[] {
  const seconds = event.seconds ? ` in ${event.seconds.toFixed(1)}s` : '';
  if (event.status === 'failed') return [`FAILED${seconds}: ${event.error}`, ...(event.hint ? [`  hint: ${event.hint}`] : [])];
  const id = event.id ? shortId(event.id) : '';
  if (event.status === 'skipped' && event.registry) {
    return [`up to date in ${event.registry.name} (${event.registry.digest}; ${event.reason ?? 'its inputs label matched'}): ${event.tags.join(', ')}`];
  }
  if (event.status === 'skipped') return [`up to date (${id}): ${event.tags.join(', ')}`];
  return [`built ${id}${seconds} (${event.reason}): ${event.tags.join(', ')}`];
}

function formatPlan(event: PlanEvent): string[] {
  const phases = event.phases.flatMap((phase, i) => formatPhase(phase, i + 1));
  const images = event.images.flatMap((image) => [
    `${image.name}`,
    `  base:       ${image.base}`,
    `  depends on: ${image.dependsOn.join(', ') || '-'}`,
    `  tags:       ${image.tags.join(', ')}`,
    ...(image.platforms ? [`  platforms:  ${image.platforms.join(', ')}`] : []),
    '  Dockerfile:',
    ...image.dockerfile
      .trimEnd()
      .split('\n')
      .map((line) => `    ${line}`),
    '',
  ]);
  return [...(phases.length ? ['phases:', ...phases, ''] : []), ...images];
}

function formatPhase(phase: PlannedPhase, n: number): string[] {
  if (phase.kind === 'build') {
    const head = `  ${n}. build ${phase.images.join(', ') || '(host commands only)'}${phase.forAction ? ` (what ${phase.forAction} pushes)` : ''}`;
    const commands = phase.commands.flatMap((c) => [
      `     ${c.name ?? c.image}: ${c.upToDate === undefined ? 'would run' : c.upToDate ? 'up to date' : `would run (${c.reason})`}`,
      `       $ ${c.command}`,
    ]);
    const checks = (phase.registryChecks ?? []).map(
      (c) => `     ${c.image}: would first ask the registry whether ${c.tags.join(', ')} already holds these inputs (then nothing is pulled, built or pushed)`,
    );
    return [head, ...commands, ...checks];
  }
  if ('pushes' in phase) {
    return [`  ${n}. ${phase.action} ${phase.images.join(', ')}`, ...phase.pushes.map((p) => `     push ${p.tag} (registry ${p.registry})`)];
  }
  return [`  ${n}. ${phase.action} ${phase.images.join(', ')}`, ...phase.removes.map((r) => `     remove ${r}`)];
}

const mebibytes = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(0)} MiB`;

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}
