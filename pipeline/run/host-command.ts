// A command run on the host before an image's context is packed (the Makefile's compile targets).
// Like make, it is skipped when every output exists and is newer than every input.
import { spawn } from 'node:child_process';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { writeStateFile } from '../context/state-file.ts';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Interrupted, RunError } from '../model/errors.ts';
import { commandSignature, describeCommand, type HostCommand } from '../model/host-command.ts';

export async function recordSignature(command: HostCommand): Promise<void> {
  // Written whole or not at all: a full disk names the disk and leaves no empty stamp behind.
  await writeStateFile(command.stamp, `${commandSignature(command)}\n`);
}

export type Freshness = { fresh: true } | { fresh: false; reason: string };

export async function checkFreshness(command: HostCommand): Promise<Freshness> {
  if (command.outputs.length === 0) return { fresh: false, reason: 'it declares no outputs' };
  const stamped = await readFile(command.stamp, 'utf8').then((t) => t.trim(), () => undefined);
  if (stamped !== commandSignature(command)) return { fresh: false, reason: stamped ? 'the command changed' : 'no record of a run' };
  let oldestOutput = Infinity;
  for (const output of command.outputs) {
    const stat = await lstat(output).catch(() => undefined);
    if (!stat) return { fresh: false, reason: `${path.basename(output)} is missing` };
    oldestOutput = Math.min(oldestOutput, stat.mtimeMs);
  }
  // A Go package directory holds its own binary: outputs do not count as inputs.
  const outputs = new Set(command.outputs);
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

export interface CommandOutput {
  onLine(line: string): void;
}

export async function runHostCommand(command: HostCommand, out: CommandOutput, signal: AbortSignal): Promise<void> {
  if (!(await lstat(command.cwd).catch(() => undefined))?.isDirectory()) {
    throw new RunError(`the directory '${command.cwd}' does not exist`, command.hint);
  }
  const [file, args] =
    typeof command.run === 'string' ? ['/bin/sh', ['-c', command.run]] : [command.run[0]!, command.run.slice(1)];
  const child = spawn(file, args, {
    cwd: command.cwd,
    env: { ...process.env, ...command.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    signal,
  });
  // By line, not by chunk: a line that straddles two reads stays one line.
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => line && out.onLine(line));
  }
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  }).catch((err: NodeJS.ErrnoException) => {
    if (signal.aborted) throw new Interrupted();
    if (err.code === 'ENOENT') {
      const what = err.path ?? file;
      throw new RunError(`cannot run '${what}' in ${command.cwd}: not found`, command.hint);
    }
    throw new RunError(`cannot run '${file}': ${err.message}`, command.hint);
  });
  if (signal.aborted) throw new Interrupted();
  if (code !== 0) {
    throw new RunError(`'${describeCommand(command)}' exited with code ${code}`, command.hint);
  }
}
