// A command run on the host before an image's context is packed (the Makefile's compile targets), as
// plain data: the plan holds these, steps make them, and only run/host-command.ts runs them.
import { createHash } from 'node:crypto';
import { sortedEntries } from './context-entries.ts';

export interface HostCommand {
  /** A target name of its own, so that the command can be run alone (`px-oci-mon/px-oci-mon`). */
  name?: string;
  image: string;
  /** A string runs under `/bin/sh -c`; a list runs as it is, with no shell. */
  run: string | readonly string[];
  cwd: string;
  env: Readonly<Record<string, string>>;
  inputs: readonly string[];
  outputs: readonly string[];
  /** Shown instead of a missing program's bare ENOENT: what to install or set. */
  hint?: string;
  /** Where the command's signature is kept after it ran (in the project's .build-images/). */
  stamp: string;
}

/**
 * What the command is: program, arguments, environment, directory. A changed flag (PXTAG in the ldflags)
 * makes the outputs stale although no input changed, which mtimes alone cannot see.
 */
export function commandSignature(command: HostCommand): string {
  return createHash('sha256').update(JSON.stringify([command.run, command.cwd, sortedEntries(command.env)])).digest('hex');
}

/** The command as a user reads it in output and errors. */
export function describeCommand(command: HostCommand): string {
  return typeof command.run === 'string' ? command.run : command.run.join(' ');
}

