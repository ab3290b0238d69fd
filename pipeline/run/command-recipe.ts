// What decides a reproducible command's outputs, as one digest: the command as the config writes it, the
// environment it is given (and the machine's GO*/CGO_* variables, which Go reads), the bytes of the program
// it runs, and the contents of its inputs. With these in an image's digest in place of the outputs' bytes,
// the digest is known before the command runs: a fresh CI runner asks the registry first and compiles only
// when the image must be built. Nothing of the machine enters it but what changes the outputs: no absolute
// path, no mtime, owner or umask (files enter as the context does, by content and exec bit).
import { createHash } from 'node:crypto';
import { access, constants, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { DigestCache } from '../context/digest-cache.ts';
import { digestContext, listEntries } from '../context/pack-context.ts';
import type { HostCommand } from '../model/host-command.ts';
import type { ImagePlan } from '../plan/plan.ts';
import { commandAsRun } from './host-command.ts';

// Where Go keeps things on this machine: they do not change what it compiles.
const MACHINE_ONLY = new Set(['GOPATH', 'GOCACHE', 'GOMODCACHE', 'GOTMPDIR', 'GOENV', 'PWD']);

export interface Recipes {
  /**
   * Per output of the image's reproducible commands (its path), what stands for its bytes in the digest;
   * undefined when some command cannot be known before it runs (not reproducible, its program or an input
   * missing), and then the commands run first, as without.
   */
  outputsOf(image: ImagePlan): Promise<ReadonlyMap<string, string> | undefined>;
}

/**
 * One per run: a program shared by commands (go) is digested once. `allOutputs`: every host command's
 * outputs in the plan. A command that reads another's output has no recipe: the output's bytes on the disk
 * may be stale before that command runs again.
 */
export function createRecipes(digests: DigestCache | undefined, allOutputs: ReadonlySet<string>, env: NodeJS.ProcessEnv = process.env): Recipes {
  const programs = new Map<string, Promise<string | undefined>>();
  const programDigest = (file: string) => {
    let known = programs.get(file);
    if (!known) programs.set(file, (known = treeDigest([file], new Set(), digests)));
    return known;
  };
  return {
    async outputsOf(image) {
      const outputs = new Map<string, string>();
      for (const command of image.hostCommands) {
        if (readsOtherOutputs(command, allOutputs)) return undefined;
        const digest = await recipeDigest(command, env, programDigest, digests);
        if (digest === undefined) return undefined;
        command.outputs.forEach((output, i) => outputs.set(output, `${digest} ${i}`));
      }
      return outputs;
    },
  };
}

function readsOtherOutputs(command: HostCommand, allOutputs: ReadonlySet<string>): boolean {
  const own = new Set(command.outputs);
  const inside = (input: string, output: string) => output === input || output.startsWith(`${input}${path.sep}`);
  return [...allOutputs].some((output) => !own.has(output) && command.inputs.some((input) => inside(input, output)));
}

async function recipeDigest(
  command: HostCommand,
  env: NodeJS.ProcessEnv,
  programDigest: (file: string) => Promise<string | undefined>,
  digests: DigestCache | undefined,
): Promise<string | undefined> {
  if (command.recipe === undefined || typeof command.run === 'string') return undefined;
  const asRun = await commandAsRun(command).catch(() => undefined);
  if (!asRun) return undefined;
  const program = await resolveProgram(command.run[0]!, command.cwd, command.env['PATH'] ?? env['PATH'] ?? '');
  const programBytes = program && (await programDigest(program));
  if (!programBytes) return undefined;
  const inputs = await treeDigest(command.inputs, new Set(command.outputs), digests);
  if (!inputs) return undefined;
  const given = Object.entries({ ...machineGoEnv(env), ...asRun.env }).filter(([name]) => !MACHINE_ONLY.has(name));
  given.sort(([a], [b]) => (a < b ? -1 : 1));
  const canonical = JSON.stringify([command.recipe, given, programBytes, inputs]);
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

function machineGoEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => /^(GO|CGO_)/.test(e[0]) && e[1] !== undefined));
}

/** The file a program name runs, as execvp finds it; undefined when there is none. */
async function resolveProgram(name: string, cwd: string, searchPath: string): Promise<string | undefined> {
  const candidates = name.includes('/') ? [path.resolve(cwd, name)] : searchPath.split(':').map((dir) => path.join(dir || '.', name));
  for (const candidate of candidates) {
    const found = await access(candidate, constants.X_OK).then(
      () => realpath(candidate),
      () => undefined,
    );
    if (found) return found;
  }
  return undefined;
}

/**
 * The contents of files and directories as a context digest names them (by name relative to each root,
 * content, exec bit), without the outputs; undefined when one is missing or cannot be read as a context.
 */
async function treeDigest(roots: readonly string[], skip: ReadonlySet<string>, digests: DigestCache | undefined): Promise<string | undefined> {
  try {
    const sources = roots.map((root, i) => ({ kind: 'path' as const, name: `${i}`, path: root, origin: `${i}`, excludes: [] }));
    const entries = (await listEntries(sources)).filter((entry) => entry.path === undefined || !skip.has(entry.path));
    return (await digestContext(entries, digests)).sha256;
  } catch {
    return undefined;
  }
}
