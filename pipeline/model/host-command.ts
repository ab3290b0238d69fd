// A command run on the host before an image's context is packed (the Makefile's compile targets), as
// plain data: the plan holds these, steps make them, and only run/host-command.ts runs them.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { sortedEntries } from './context-entries.ts';

/** What went wrong, so that the advice fits it: Go missing is not a missing checkout, nor a compile error. */
export const FAILURE_KINDS = ['missingProgram', 'missingDirectory', 'failed'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];
export type FailureHints = Readonly<Partial<Record<FailureKind, string>>>;

/**
 * A Go checkout that predates modules (no go.mod, its packages importing each other by import path, its
 * dependencies vendored): it compiles only in GOPATH mode with the checkout at its import path.
 */
export interface GoPath {
  /** `github.com/portworx/px-installer`. */
  importPath: string;
  /** Where the checkout is. */
  checkout: string;
  /** The GOPATH the tool makes for it, in the project's .build-images/: `src/<importPath>` links to the checkout. */
  root: string;
}

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
  /** Said when the command fails, by what failed. */
  hints: FailureHints;
  /** Where the command's signature is kept after it ran (in the project's .build-images/). */
  stamp: string;
  gopath?: GoPath;
  /**
   * With `reproducible`, the command as the config writes it (no path of this machine): its outputs then
   * enter an image's digest by this, the program's bytes and the inputs' contents, not by their own bytes,
   * so that the digest is known before the command runs (command-recipe.ts).
   */
  recipe?: string;
  /**
   * Where the command itself writes its outputs, when that is not where they are kept: a command run once
   * per platform writes in place, and its outputs are moved to `outputs` (the platform's own) after it ran.
   */
  writes?: readonly string[];
}

/**
 * What the command is: program, arguments, environment, directory. A changed flag (PXTAG in the ldflags)
 * makes the outputs stale although no input changed, which mtimes alone cannot see.
 */
export function commandSignature(command: HostCommand): string {
  return createHash('sha256')
    .update(JSON.stringify([command.run, command.cwd, sortedEntries(command.env)]))
    .digest('hex');
}

/** Where a GOPATH-era checkout sits in the GOPATH the tool makes for it. */
export function goPathLink(gopath: GoPath): string {
  return path.join(gopath.root, 'src', ...gopath.importPath.split('/'));
}

/**
 * The command as it runs. A checkout with a go.mod builds in module mode. One without is built with
 * GO111MODULE=off, GOPATH the tool's own, and from the checkout's directory as seen through the GOPATH
 * link: Go reads the package's import path, and so finds `vendor/`, only from a working directory under
 * $GOPATH/src, and takes that directory from $PWD (the kernel's cwd is the link's target, outside GOPATH).
 */
export function resolveGoMode(command: HostCommand, hasGoMod: boolean): HostCommand {
  const { gopath } = command;
  if (!gopath) return command;
  if (hasGoMod) return { ...command, env: { ...command.env, GO111MODULE: 'on' } };
  const inside = path.relative(gopath.checkout, command.cwd);
  const cwd = inside.startsWith('..') || path.isAbsolute(inside) ? command.cwd : path.join(goPathLink(gopath), inside);
  return { ...command, cwd, env: { ...command.env, GO111MODULE: 'off', GOPATH: gopath.root, PWD: cwd } };
}

const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One word for sh: as it is when nothing in it is special, else in single quotes. */
export function shellQuote(word: string): string {
  return SHELL_SAFE.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The command, shell-quoted (a string command already is shell). */
export function describeCommand(command: HostCommand): string {
  return typeof command.run === 'string' ? command.run : command.run.map(shellQuote).join(' ');
}

/**
 * The command as a line to paste into a shell: its directory, its environment, the command. PWD is left
 * out: `cd` sets it, to the path as written, which is what GOPATH mode needs.
 */
export function pasteableCommand(command: HostCommand): string {
  const env = sortedEntries(command.env)
    .filter(([name]) => name !== 'PWD')
    .map(([name, value]) => `${name}=${shellQuote(value)}`);
  const run = typeof command.run === 'string' ? `sh -c ${shellQuote(command.run)}` : describeCommand(command);
  return [`cd ${shellQuote(command.cwd)} &&`, ...env, run].join(' ');
}
