// A command run on the host before an image's context is packed (the Makefile's compile targets).
// Like make, it is skipped when every output exists and is newer than every input.
import { spawn } from 'node:child_process';
import { cp, lstat, mkdir, readdir, readFile, readlink, rename, rm, symlink } from 'node:fs/promises';
import { writeStateFile } from '../context/state-file.ts';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Interrupted, RunError } from '../model/errors.ts';
import type { RunEvent } from './events.ts';
import { commandSignature, describeCommand, goPathLink, pasteableCommand, resolveGoMode, type FailureKind, type HostCommand } from '../model/host-command.ts';

/** How many of its last lines of stderr a failed command shows. */
const TAIL_LINES = 20;
/** After the command itself exits, how long its output may still come (from children it left behind). */
const DRAIN_MS = 1000;
/** After SIGTERM, how long the command's process group has before SIGKILL. */
const KILL_GRACE_MS = 2000;

/** A host command that failed, with what failed and its last lines of stderr, which say why. */
export class CommandFailure extends RunError {
  constructor(
    message: string,
    readonly kind: FailureKind,
    command: HostCommand,
    readonly output: readonly string[] = [],
  ) {
    super(message, command.hints[kind]);
    this.name = 'CommandFailure';
  }
}

/** A missing checkout fails what needs it, but is no reason to stop building what does not. */
export function isMissingInput(err: unknown): boolean {
  return err instanceof CommandFailure && err.kind === 'missingDirectory';
}

export async function recordSignature(command: HostCommand): Promise<void> {
  // Written whole or not at all: a full disk names the disk and leaves no empty stamp behind.
  await writeStateFile(command.stamp, `${commandSignature(command)}\n`);
}

export type Freshness = { fresh: true } | { fresh: false; reason: string };

export async function checkFreshness(command: HostCommand): Promise<Freshness> {
  if (command.outputs.length === 0) return { fresh: false, reason: 'it declares no outputs' };
  const stamped = await readFile(command.stamp, 'utf8').then(
    (t) => t.trim(),
    () => undefined,
  );
  if (stamped !== commandSignature(command)) return { fresh: false, reason: stamped ? 'the command changed' : 'no record of a run' };
  let oldestOutput = Infinity;
  for (const output of command.outputs) {
    const stat = await lstat(output).catch(() => undefined);
    if (!stat) return { fresh: false, reason: `${path.basename(output)} is missing` };
    oldestOutput = Math.min(oldestOutput, stat.mtimeMs);
  }
  // A Go package directory holds its own binary: outputs do not count as inputs (nor where a command run
  // per platform writes them before they are kept apart).
  const outputs = new Set([...command.outputs, ...(command.writes ?? [])]);
  for (const input of command.inputs) {
    const newest = await newestMtime(input, outputs);
    if (newest === undefined) return { fresh: false, reason: `input ${input} is missing` };
    if (newest > oldestOutput) return { fresh: false, reason: `${path.basename(input)} changed` };
  }
  return { fresh: true };
}

async function newestMtime(p: string, skip: ReadonlySet<string>): Promise<number | undefined> {
  const stat = await lstat(p).catch(() => undefined);
  if (!stat) return undefined;
  if (!stat.isDirectory()) return stat.mtimeMs;
  // A directory's own mtime moves when an output is written into it, so only its entries count.
  let newest = 0;
  for (const name of await readdir(p)) {
    const child = path.join(p, name);
    if (!skip.has(child)) newest = Math.max(newest, (await newestMtime(child, skip)) ?? 0);
  }
  return newest;
}

async function requireDirectory(dir: string, command: HostCommand): Promise<void> {
  if (!(await lstat(dir).catch(() => undefined))?.isDirectory()) {
    throw new CommandFailure(`the directory '${dir}' does not exist`, 'missingDirectory', command);
  }
}

/**
 * The command as it will run: for a Go checkout, module mode when it has a go.mod, else GOPATH mode in
 * the tool's own GOPATH, whose link to the checkout is made here.
 */
export async function resolveCommand(command: HostCommand): Promise<HostCommand> {
  const { gopath } = command;
  if (!gopath) return command;
  await requireDirectory(gopath.checkout, command);
  const resolved = await commandAsRun(command);
  if (resolved.env['GO111MODULE'] === 'off') await linkTo(goPathLink(gopath), gopath.checkout);
  return resolved;
}

/** The command as it will run, decided without changing anything: what the dry run shows. */
export async function commandAsRun(command: HostCommand): Promise<HostCommand> {
  const { gopath } = command;
  if (!gopath) return command;
  const hasGoMod = Boolean(await lstat(path.join(gopath.checkout, 'go.mod')).catch(() => undefined));
  return resolveGoMode(command, hasGoMod);
}

/** A symlink at `link` to `target`, replaced whole (rename) so that a concurrent build never sees none. */
async function linkTo(link: string, target: string): Promise<void> {
  if ((await readlink(link).catch(() => undefined)) === target) return;
  await mkdir(path.dirname(link), { recursive: true });
  const temporary = `${link}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  await symlink(target, temporary);
  await rename(temporary, link);
}

export interface CommandOutput {
  onLine(line: string): void;
}

// Process groups still running. A second Ctrl-C exits at once, without the abort's cleanup: they go then.
const liveGroups = new Set<number>();
let exitHookSet = false;
function trackGroup(pid: number): void {
  liveGroups.add(pid);
  if (exitHookSet) return;
  exitHookSet = true;
  process.once('exit', () => {
    for (const group of liveGroups) {
      try {
        process.kill(-group, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  });
}

/**
 * Runs the command in a process group of its own: an interrupt reaches the whole group (a compiler's
 * children, a shell's background jobs), and a child left behind holding the output open does not keep
 * the run waiting.
 */
export async function runHostCommand(command: HostCommand, out: CommandOutput, signal: AbortSignal): Promise<void> {
  await requireDirectory(command.cwd, command);
  const [file, args] = typeof command.run === 'string' ? ['/bin/sh', ['-c', command.run]] : [command.run[0]!, command.run.slice(1)];
  const child = spawn(file, args, {
    cwd: command.cwd,
    env: { ...process.env, ...command.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  if (child.pid) trackGroup(child.pid);
  const tail: string[] = [];
  // By line, not by chunk: a line that straddles two reads stays one line.
  createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => line && out.onLine(line));
  createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
    if (!line) return;
    out.onLine(line);
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
  });

  const killGroup = (sig: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, sig);
    } catch {
      // the group is gone already
    }
  };
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    killGroup('SIGTERM');
    killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
  };
  if (signal.aborted) onAbort();
  signal.addEventListener('abort', onAbort, { once: true });

  let ended: { code: number | null; signal: NodeJS.Signals | null };
  try {
    ended = await new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, sig) => resolve({ code, signal: sig }));
      child.on('exit', (code, sig) => {
        const done = () => {
          child.stdout.destroy();
          child.stderr.destroy();
          resolve({ code, signal: sig });
        };
        // Interrupted: what is left of the group is an orphan, and goes now. Otherwise its output may
        // still be draining; a child that holds the pipes longer is not waited for.
        if (signal.aborted) {
          killGroup('SIGKILL');
          done();
        } else setTimeout(done, DRAIN_MS).unref();
      });
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (signal.aborted) throw new Interrupted();
    if (e.code === 'ENOENT') throw new CommandFailure(`cannot run '${e.path ?? file}' in ${command.cwd}: not found`, 'missingProgram', command);
    throw new CommandFailure(`cannot run '${file}': ${e.message}`, 'missingProgram', command);
  } finally {
    signal.removeEventListener('abort', onAbort);
    clearTimeout(killTimer);
    if (child.pid) liveGroups.delete(child.pid);
  }
  if (signal.aborted) throw new Interrupted();
  if (ended.code === 0) return;
  const how = ended.code === null ? `was killed by ${ended.signal}` : `exited with code ${ended.code}`;
  // sh's answer for a program it cannot find.
  const kind: FailureKind = typeof command.run === 'string' && ended.code === 127 ? 'missingProgram' : 'failed';
  throw new CommandFailure(`${how}: ${describeCommand(command)}`, kind, command, tail);
}

/**
 * A command run once per platform writes its outputs in place; each is moved to the platform's own place
 * (its `outputs`) before the next platform's run writes there again.
 */
async function keepOutputs(command: HostCommand): Promise<void> {
  const writes = command.writes;
  if (!writes) return;
  for (const [i, written] of writes.entries()) {
    const kept = command.outputs[i]!;
    if (!(await lstat(written).catch(() => undefined))) throw new CommandFailure(`it made no ${written}`, 'failed', command);
    await mkdir(path.dirname(kept), { recursive: true });
    await rm(kept, { recursive: true, force: true });
    // An output in a source on another file system than the project cannot be renamed into it.
    await rename(written, kept).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EXDEV') throw err;
      await cp(written, kept, { recursive: true, verbatimSymlinks: true });
      await rm(written, { recursive: true, force: true });
    });
  }
}

export interface CommandSettings {
  signal: AbortSignal;
  emit(event: RunEvent): void;
}

/**
 * Runs the commands in order, each unless it is fresh. The first failure ends it, or with keepGoing the
 * others still run and the failures are reported together at the end.
 */
export async function runCommands(commands: readonly HostCommand[], settings: CommandSettings, keepGoing = false): Promise<void> {
  const failures: RunError[] = [];
  for (const command of commands) {
    if (settings.signal.aborted) throw new Interrupted();
    try {
      await runCommand(command, settings);
    } catch (err) {
      if (!keepGoing || !(err instanceof RunError)) throw err;
      failures.push(err);
    }
  }
  if (failures.length === 1) throw failures[0]!;
  if (failures.length > 1) throw new RunError(`${failures.length} commands failed`);
}

async function runCommand(planned: HostCommand, settings: CommandSettings): Promise<void> {
  const event = { type: 'command', image: planned.image, name: planned.name } as const;
  let command = planned;
  const started = Date.now();
  const seconds = () => (Date.now() - started) / 1000;
  try {
    command = await resolveCommand(planned);
    const freshness = await checkFreshness(command);
    if (freshness.fresh) {
      settings.emit({ ...event, status: 'fresh', command: pasteableCommand(command), seconds: 0 });
      return;
    }
    await runHostCommand(command, { onLine: (line) => settings.emit({ type: 'log', image: command.image, line }) }, settings.signal);
    await keepOutputs(command);
    await recordSignature(command);
    settings.emit({ ...event, status: 'ran', command: pasteableCommand(command), reason: freshness.reason, seconds: seconds() });
  } catch (err) {
    if (err instanceof RunError) {
      const failure = err instanceof CommandFailure ? { output: [...err.output], hint: err.hint } : { hint: err.hint };
      settings.emit({ ...event, status: 'failed', command: pasteableCommand(command), reason: err.message, ...failure, seconds: seconds() });
    }
    throw err;
  }
}
