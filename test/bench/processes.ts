// Child processes of the benchmark: each one timed as a whole command, the way a user waits for it, and
// Ctrl-C forwarded to the one running so that the benchmark can clean up before it exits.
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface Command {
  cmd: string;
  args: string[];
  cwd: string;
  env?: Record<string, string | undefined>;
}

export class Interrupted extends Error {
  constructor() {
    super('interrupted');
  }
}

let running: ReturnType<typeof spawn> | undefined;
let interrupted = false;

/** On Ctrl-C: stop the child that runs (it cancels its build), then let the caller clean up. */
export function onInterrupt(): void {
  interrupted = true;
  running?.kill('SIGINT');
}

export function checkInterrupted(): void {
  if (interrupted) throw new Interrupted();
}

/** Runs a command to its end; a failure throws with the end of what it wrote on stderr. */
export async function run({ cmd, args, cwd, env = {} }: Command): Promise<string> {
  checkInterrupted();
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running = child;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout = (stdout + chunk).slice(-65536)));
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk).slice(-8192)));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  }).finally(() => (running = undefined));
  checkInterrupted();
  if (code !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} (in ${cwd}) exited ${code}:\n${stderr.trim() || stdout.trim()}`);
  return stdout;
}

/** Seconds the command took. */
export async function timed(command: Command): Promise<number> {
  const start = process.hrtime.bigint();
  await run(command);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

// Loaded into the measured node process: its own peak resident set (getrusage's ru_maxrss, in KiB), written
// at exit. Exact, unlike polling /proc, and needs no GNU time on the machine.
const RSS_HOOK = `data:text/javascript,${encodeURIComponent(
  "import { writeFileSync } from 'node:fs'; process.on('exit', () => writeFileSync(process.env.BENCH_RSS_FILE, String(process.resourceUsage().maxRSS * 1024)));",
)}`;

/** Runs a node script with the RSS hook; its peak RSS in bytes and the seconds it took. */
export async function nodePeakRss(command: Command): Promise<{ bytes: number; seconds: number }> {
  const file = path.join(os.tmpdir(), `bi-bench-rss-${process.pid}-${Date.now()}`);
  try {
    const seconds = await timed({ ...command, args: ['--import', RSS_HOOK, ...command.args], env: { ...command.env, BENCH_RSS_FILE: file } });
    return { bytes: Number(await readFile(file, 'utf8')), seconds };
  } finally {
    await rm(file, { force: true });
  }
}

export const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
