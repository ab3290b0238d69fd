// Runs the built command as a user would, in a project directory of the test's making.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUN_ID, RUN_LABEL } from './engine.ts';
import { tempDir } from './temp.ts';

export const CLI = fileURLToPath(new URL('../../dist/pipeline/cli/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The NDJSON events, when run with --json. */
  events: Record<string, unknown>[];
}

export interface CliOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  /** Called with each stdout line as it comes, and the child, so a test can interrupt it. */
  onLine?: (line: string, child: ReturnType<typeof spawn>) => void;
  /** A command the CLI runs under (`unshare … sh -c …`): its last word is followed by node and the CLI. */
  prefix?: readonly string[];
}

export function cli(args: string[], { cwd, env = {}, onLine, prefix = [] }: CliOptions): Promise<CliResult> {
  const labelled = args.includes('--dry-run') || args.includes('--help') ? args : ['--label', `${RUN_LABEL}=${RUN_ID}`, ...args];
  const [program, ...before] = [...prefix, process.execPath];
  const child = spawn(program!, [...before, CLI, ...labelled], {
    cwd,
    // Plain lines, whatever CI runs the tests: a test that wants GitHub's or GitLab's log sets the variable.
    env: { ...process.env, CI: 'true', NO_COLOR: '1', GITHUB_ACTIONS: '', GITLAB_CI: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) onLine?.(line, child);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  return new Promise((resolve) => {
    child.on('close', (code) => {
      const events = args.includes('--json')
        ? stdout
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Record<string, unknown>)
        : [];
      resolve({ code, stdout, stderr, events });
    });
  });
}

/** A project directory holding the given files (a path → its content). */
export async function project(files: Record<string, string>): Promise<string> {
  const dir = await tempDir('bi-project-');
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}

export function summaryOf(result: CliResult) {
  const summary = result.events.find((e) => e['type'] === 'summary') as
    | {
        ok: boolean;
        images: { name: string; id?: string; tags: string[]; status: string }[];
        commands: { ran: number; fresh: number; failed: number };
        pushed: string[];
        notPushed: string[];
      }
    | undefined;
  if (!summary) throw new Error(`no summary event:\n${result.stdout}\n${result.stderr}`);
  return summary;
}

export function finishOf(result: CliResult, image: string) {
  return result.events.find((e) => e['type'] === 'finish' && e['image'] === image) as
    { status: string; reason?: string; error?: string; id?: string } | undefined;
}
