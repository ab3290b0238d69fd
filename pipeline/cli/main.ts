#!/usr/bin/env node
// The command line: options in, one of a few commands out, every error rendered here once. Heavy modules
// (yaml, zod, dockerode, listr2) are imported only by the commands that need them.
import { readFileSync } from 'node:fs';
import { EXIT, formatProblem, Interrupted, RunError, UserError } from '../model/errors.ts';
import { ciKind, EXAMPLES, keyValues, OPTION_HELP, parseOptions, type Options } from './options.ts';
import { problemAnnotations } from '../report/workflow-commands.ts';

function version(): string {
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // not at this depth: compiled code sits one folder further down
    }
  }
  return 'unknown';
}

async function help(options: Options): Promise<void> {
  const lines = ['Usage: build-images [options] [TARGET...]', '', 'Builds the images of build.config.yaml; targets run in order, like make.', ''];
  try {
    const { prepare } = await import('../config/prepare.ts');
    const { listTargets } = await import('./targets-help.ts');
    const prepared = await prepare({ file: options.file, sets: keyValues(options.set, '--set') });
    lines.push(`Targets in ${options.file}:`, ...listTargets(prepared), '');
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    lines.push(`(the targets of ${options.file} cannot be listed: ${err.problems[0]!.message})`, '');
  }
  lines.push(OPTION_HELP, '', EXAMPLES);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Whether errors are also annotations (GitHub Actions); --ci, once parsed, decides over the environment. */
let annotate = process.env['GITHUB_ACTIONS'] === 'true';

export async function main(argv: string[]): Promise<number> {
  const { values: options, positionals: targets } = parseOptions(argv);
  annotate = ciKind(options.ci) === 'github';
  if (options.version) {
    process.stdout.write(`build-images ${version()}\n`);
    return EXIT.ok;
  }
  if (options.help) {
    await help(options);
    return EXIT.ok;
  }
  const { command } = await import('./command.ts');
  return command(options, targets);
}

function report(err: unknown): number {
  if (err instanceof UserError) {
    process.stderr.write(`${err.problems.map(formatProblem).join('\n')}\n`);
    if (annotate) process.stderr.write(`${problemAnnotations(err.problems).join('\n')}\n`);
    return EXIT.usage;
  }
  if (err instanceof Interrupted) return EXIT.interrupted;
  if (err instanceof RunError) {
    process.stderr.write(`${formatProblem({ message: err.message, hint: err.hint })}\n`);
    if (annotate) process.stderr.write(`${problemAnnotations([{ message: err.message, hint: err.hint }], 'build-images failed').join('\n')}\n`);
    return EXIT.failed;
  }
  process.stderr.write(`internal error (a bug in build-images, please report it):\n${(err as Error)?.stack ?? String(err)}\n`);
  return EXIT.failed;
}

// `build-images --dry-run | head`: the reader has gone, which is no error of ours.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = report(err);
  },
);
