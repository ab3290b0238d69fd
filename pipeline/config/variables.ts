// Variables as the Makefile had them: a default (which may use other variables and the user's name, or
// come from a git checkout's commit), overridden by an environment variable of the same name, overridden
// by an `override` that is not empty (make's `ifdef PXTAG` / `DOCKER_HUB_TAG := $(PXTAG)`), overridden by
// --set NAME=VALUE (make's command line).
import os from 'node:os';
import { didYouMean, UserError, type Problem, type SourcePosition } from '../model/errors.ts';
import type { ConfigPath } from './load-config.ts';
import type { Config } from './schema.ts';

type DeclaredVariables = Config['variables'];

export type VariableSource = 'default' | 'environment' | '--set' | 'built-in' | 'override' | 'git commit';

export interface Variable {
  value: string;
  source: VariableSource;
}

export type Variables = ReadonlyMap<string, Variable>;

export interface VariableInputs {
  env: Readonly<Record<string, string | undefined>>;
  sets: Readonly<Record<string, string>>;
  /** The user's login name, for defaults such as the Makefile's `$(id -un)px`. */
  userName: string;
  /** The run's start, for ${TIMESTAMP} (UTC, 20261121T225100Z): one value for the whole run. */
  now: Date;
  /** The HEAD commit of a git checkout, the path as the config writes it; undefined when it is none. */
  gitCommit?: (dir: string) => string | undefined;
}

/** As `git rev-parse HEAD | cut -c-7` made docker-proxy's tag. */
const COMMIT_LENGTH = 7;

export function timestamp(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

// ${NAME}, ${NAME:-fallback} (the fallback when NAME is empty, as in sh), and $${ for a literal ${.
const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;
const INSIDE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

export function resolveVariables(
  declared: DeclaredVariables,
  locate: (at: ConfigPath) => SourcePosition,
  { env, sets, userName, now, gitCommit = () => undefined }: VariableInputs,
): Variables {
  const unknownSets = Object.keys(sets).filter((name) => !(name in declared));
  if (unknownSets.length > 0) {
    throw new UserError(
      unknownSets.map((name) => {
        const near = didYouMean(name, Object.keys(declared));
        return {
          message: `--set ${name}: no such variable in the config`,
          hint: near ? `did you mean '${near}'?` : `declared: ${Object.keys(declared).join(', ') || 'none'}`,
        };
      }),
    );
  }

  const resolved = new Map<string, Variable>([
    ['USER', { value: env['USER'] || userName, source: 'built-in' }],
    // A release job that builds in one command and deploys in the next gives both the same moment.
    ['TIMESTAMP', { value: /^\d{8}T\d{6}Z$/.test(env['BUILD_IMAGES_TIMESTAMP'] ?? '') ? env['BUILD_IMAGES_TIMESTAMP']! : timestamp(now), source: 'built-in' }],
  ]);
  const problems: Problem[] = [];
  const visiting: string[] = [];

  const resolve = (name: string): string | undefined => {
    const known = resolved.get(name);
    if (known) return known.value;
    if (!(name in declared)) return undefined;
    if (visiting.includes(name)) {
      const cycle = [...visiting.slice(visiting.indexOf(name)), name].join(' → ');
      problems.push({ message: `variables refer to each other in a cycle: ${cycle}`, at: locate(['variables', name]) });
      return '';
    }
    visiting.push(name);
    const variable = valueOf(name, declared[name]!);
    visiting.pop();
    resolved.set(name, variable);
    return variable.value;
  };
  const field = (name: string, key: 'default' | 'override' | 'gitCommit', text: string) =>
    interpolate(text, resolve, () => locate(['variables', name, key]), problems);

  const valueOf = (name: string, spec: DeclaredVariables[string]): Variable => {
    if (name in sets) return { value: sets[name]!, source: '--set' };
    if (typeof spec === 'string') {
      if (env[name] !== undefined) return { value: env[name]!, source: 'environment' };
      return { value: interpolate(spec, resolve, () => locate(['variables', name]), problems), source: 'default' };
    }
    const override = spec.override === undefined ? '' : field(name, 'override', spec.override);
    if (override !== '') return { value: override, source: 'override' };
    if (env[name] !== undefined) return { value: env[name]!, source: 'environment' };
    const commit = spec.gitCommit === undefined ? undefined : gitCommit(field(name, 'gitCommit', spec.gitCommit));
    if (commit) return { value: commit.slice(0, COMMIT_LENGTH), source: 'git commit' };
    return { value: field(name, 'default', spec.default), source: 'default' };
  };

  for (const name of Object.keys(declared)) resolve(name);
  if (problems.length > 0) throw new UserError(problems);
  return resolved;
}

/**
 * Replaces `${NAME}` with the variable's value; `$${` stands for a literal `${`. An unknown name is a
 * problem reported at `where()`, with a did-you-mean, and leaves the text as it was.
 */
export function interpolate(
  text: string,
  lookup: (name: string) => string | undefined,
  where: () => SourcePosition,
  problems: Problem[],
  known: () => Iterable<string> = () => [],
): string {
  return text.replace(REFERENCE, (match, inside: string | undefined) => {
    if (inside === undefined) return '${';
    const parsed = INSIDE.exec(inside);
    if (!parsed) {
      problems.push({ message: `'${match}' is not a variable reference`, at: where(), hint: 'write ${NAME} or ${NAME:-fallback}, or $${ for a literal ${' });
      return match;
    }
    const [, name, fallback] = parsed as unknown as [string, string, string | undefined];
    const value = lookup(name);
    if (value === undefined) {
      const near = didYouMean(name, known());
      problems.push({
        message: `unknown variable \${${name}}`,
        at: where(),
        hint: near ? `did you mean '${near}'?` : 'declare it under `variables:`',
      });
      return match;
    }
    return value === '' && fallback !== undefined ? fallback : value;
  });
}

/** The variables that ask to be reported when no one set them, as the Makefile warned of its defaults. */
export function defaultedVariables(declared: DeclaredVariables, variables: Variables): string[] {
  return Object.entries(declared)
    .filter(([name, spec]) => typeof spec === 'object' && spec.warnIfDefault && variables.get(name)?.source === 'default')
    .map(([name]) => `${name} is not set: using its default '${variables.get(name)!.value}'`);
}

/** Interpolates every string of a value, reporting each unknown variable at the string that uses it. */
export function interpolateDeep<T>(value: T, at: ConfigPath, variables: Variables, locate: (at: ConfigPath) => SourcePosition, problems: Problem[]): T {
  const lookup = (name: string) => variables.get(name)?.value;
  const walk = (v: unknown, path: ConfigPath): unknown => {
    if (typeof v === 'string')
      return interpolate(
        v,
        lookup,
        () => locate(path),
        problems,
        () => variables.keys(),
      );
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...path, i]));
    if (v && typeof v === 'object') {
      // Keys too: an import-resolver rule is keyed by a repository URL such as ${TYPE_REPO}.
      return Object.fromEntries(Object.entries(v).map(([key, item]) => [walk(key, [...path, key]), walk(item, [...path, key])]));
    }
    return v;
  };
  return walk(value, at) as T;
}

/** The sections of a config that may use variables. */
const INTERPOLATED = ['source', 'sources', 'images', 'credentials'] as const;

/**
 * The variables' values, and the config with them in (every section but `variables:`); what the file
 * says wrongly is added to `problems`. The same for a config read fresh and for one remembered.
 */
export function interpolateConfig(
  raw: Readonly<Record<string, unknown>>,
  declared: DeclaredVariables,
  locate: (at: ConfigPath) => SourcePosition,
  problems: Problem[],
  inputs: Omit<VariableInputs, 'userName'>,
): { variables: Variables; interpolated: Record<string, unknown> } {
  const variables = resolveVariables(declared, locate, { ...inputs, userName: userName() });
  const interpolated: Record<string, unknown> = { ...raw };
  for (const key of INTERPOLATED) if (key in raw) interpolated[key] = interpolateDeep(raw[key], [key], variables, locate, problems);
  return { variables, interpolated };
}

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'user';
  }
}
