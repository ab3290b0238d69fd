// config → plan, with no I/O: what each image is built from, its Dockerfile, its context's sources, its
// host commands and tags. `--dry-run` prints this value; the runner carries it out.
import path from 'node:path';
import { imageRefProblem } from '../model/image-ref.ts';
import type { LocalCacheExport, RegistryCacheExport } from '../model/cache-export.ts';
import { stepKinds } from '../../steps/index.ts';
import type { StepKind, StepPlanContext } from '../../steps/step.ts';
import { DOCKERFILE, type ContextSource } from '../model/context-entries.ts';
import { instruction, renderDockerfile } from './dockerfile.ts';
import { didYouMean, UserError, type Problem, type SourcePosition } from '../model/errors.ts';
import type { Graph } from './graph.ts';
import type { HostCommand } from '../model/host-command.ts';
import { IMAGE_LABEL, labelInstructions, ociLabels } from './labels.ts';
import type { ConfigPath, LoadedConfig } from '../config/load-config.ts';
import type { AttestationsConfig, ImageConfig } from '../config/schema.ts';
import { commandForPlatform, keptOutputName, type PlatformOutput } from './platform-commands.ts';
import { STATE_DIR } from '../model/project-files.ts';

export type Base = { kind: 'ref'; ref: string } | { kind: 'image'; image: string };

export interface ImagePlan {
  name: string;
  base: Base;
  /** What FROM names: the reference, or the first tag of the graph image it is built on. */
  from: string;
  dependsOn: readonly string[];
  tags: readonly string[];
  /** What deploy pushes: `deployTags` when the config has them, else the tags. */
  pushTags: readonly string[];
  /** The user's labels and the OCI labels known before the build (title, version, source). */
  labels: Readonly<Record<string, string>>;
  args: Readonly<Record<string, string>>;
  dockerfile: string;
  /** The Dockerfile and every step's entries. */
  context: readonly ContextSource[];
  hostCommands: readonly HostCommand[];
  /** Ids of the config's secrets its run steps mount: only these are offered to its build. */
  secrets: readonly string[];
  /**
   * Where a build may take layers from (with the tags the line pushes; cache directories as absolute paths),
   * whether it exports inline cache, and a registry tag or a directory it exports its cache to.
   */
  cache: {
    from: readonly string[];
    fromDirs: readonly { src: string; at: SourcePosition }[];
    inline: boolean;
    registry?: RegistryCacheExport & { at: SourcePosition };
    local?: LocalCacheExport & { at: SourcePosition };
  };
  /** The platforms it is built for, as the config (or --platform) names them; absent: the builder's own. */
  platforms?: readonly string[];
  /** Where its first `run` step is: a platform other than the builder's own would need emulation for it. */
  runStep?: SourcePosition;
  /** How its documents are signed once pushed: the image's `attestations.sign` over the top level's; a key file made absolute. */
  sign: { key?: { file: string } | { env: string }; command?: readonly string[]; format: 'referrers' | 'legacy' };
  /** Where its documents go once pushed (`attestations.storage`, the image's over the top level's); absent: referrers. */
  attestationStorage?: 'referrers' | 'index';
}

export interface Plan {
  projectDir: string;
  images: ReadonlyMap<string, ImagePlan>;
}

export function planBuild(loaded: LoadedConfig, graph: Graph): Plan {
  const problems: Problem[] = [];
  const images = new Map<string, ImagePlan>();
  for (const name of graph.order) images.set(name, planImage(name, loaded, graph, problems));
  problems.push(...sharedCacheDirs(images, loaded.projectDir));
  if (problems.length > 0) throw new UserError(problems);
  return { projectDir: loaded.projectDir, images };
}

/** Two images' caches to one directory: each export would tag its own `latest`, replacing the other's. */
function sharedCacheDirs(images: ReadonlyMap<string, ImagePlan>, projectDir: string): Problem[] {
  const first = new Map<string, string>();
  const problems: Problem[] = [];
  for (const image of images.values()) {
    const local = image.cache.local;
    if (!local) continue;
    const other = first.get(local.dest);
    if (other === undefined) first.set(local.dest, image.name);
    else
      problems.push({
        message: `cache.to.dest ${path.relative(projectDir, local.dest) || '.'} is also ${other}'s cache directory`,
        at: local.at,
        hint: 'give each image a directory of its own',
      });
  }
  return problems;
}

function planImage(name: string, loaded: LoadedConfig, graph: Graph, problems: Problem[]): ImagePlan {
  const images = loaded.config.images;
  const spec = images[name]!;
  const sources = loaded.config.sources;
  const at = (...rest: ConfigPath) => loaded.locate(['images', name, ...rest]);
  for (const field of ['tags', 'deployTags'] as const) {
    spec[field]?.forEach((tag, i) => {
      const wrong = imageRefProblem(tag) ?? (tag.includes('@') ? 'a tag cannot name a digest' : undefined);
      if (wrong)
        problems.push({
          message: `tag '${tag}' is not a valid image reference: ${wrong}`,
          at: at(field, i),
          hint: 'a tag is [registry/]repository[:tag], the repository in lower case',
        });
    });
  }
  const cacheTo = spec.cache.to;
  if (typeof cacheTo === 'object' && cacheTo.type === 'registry') {
    const wrong = imageRefProblem(cacheTo.ref) ?? (cacheTo.ref.includes('@') ? 'a cache is exported to a tag, not a digest' : undefined);
    if (wrong) problems.push({ message: `cache.to.ref '${cacheTo.ref}' is not a valid image reference: ${wrong}`, at: at('cache', 'to', 'ref') });
    else if (spec.tags.includes(cacheTo.ref) || spec.deployTags?.includes(cacheTo.ref))
      problems.push({
        message: `cache.to.ref '${cacheTo.ref}' is one of the image's own tags`,
        at: at('cache', 'to', 'ref'),
        hint: 'the cache goes to a tag of its own (REGISTRY/REPOSITORY:cache): pushed there it would replace the image',
      });
  }
  const base: Base = typeof spec.base === 'string' ? { kind: 'ref', ref: spec.base } : { kind: 'image', image: spec.base.image };
  if (base.kind === 'ref') {
    const wrong = imageRefProblem(base.ref);
    if (wrong) problems.push({ message: `base '${base.ref}' is not a valid image reference: ${wrong}`, at: at('base') });
  }
  const from = base.kind === 'ref' ? base.ref : images[base.image]!.tags[0]!;

  const instructions = Object.keys(spec.args).map((arg) => instruction('ARG', arg));
  const platforms = spec.platforms;
  const several = platforms !== undefined && platforms.length > 1;
  // BuildKit sets it per platform; declared in the stage, a COPY source can name it (copy.ts).
  if (several) instructions.push(instruction('ARG', 'TARGETPLATFORM'));
  const copied = copiedPaths(spec.steps, loaded.projectDir, sources);
  const perPlatform = new Map<string, PlatformOutput[]>();
  const context: ContextSource[] = [];
  const hostCommands: HostCommand[] = [];
  const secrets = new Set<string>();
  let runStep: SourcePosition | undefined;
  spec.steps.forEach((step, index) => {
    const kind = stepKinds[step.kind] as StepKind;
    const contextDir = `s${String(index).padStart(2, '0')}-${step.kind}`;
    const fieldPath = (field: string) => ['steps', index, step.kind, ...field.split('.').map((f) => (/^\d+$/.test(f) ? Number(f) : f))];
    const ctx: StepPlanContext = {
      index,
      image: name,
      contextDir,
      projectPath: (written, field) =>
        resolvePath(loaded.projectDir, sources, written, (problem) => problems.push({ ...problem, at: at(...fieldPath(field)) })),
      at: (field) => at(...fieldPath(field)),
      projectRoot: (written) => rootOf(loaded.projectDir, sources, written),
      statePath: (file) => statePath(loaded.projectDir, file, (problem) => problems.push({ ...problem, at: at() })),
      platformOutputs: (source) => perPlatform.get(source),
    };
    const planned = kind.plan(step.value, ctx);
    if (step.kind === 'run') runStep ??= at('steps', index);
    if (step.kind === 'copy' && several) {
      // Resolved again without reporting: a wrong path is the copy step's own problem, said once.
      const from = resolvePath(loaded.projectDir, sources, step.value.from, () => {});
      const held = [...perPlatform.keys()].find((output) => output.startsWith(`${from}${path.sep}`));
      if (held)
        problems.push({
          message: `copies a directory that holds ${path.basename(held)}, which is compiled once per platform`,
          at: ctx.at('from'),
          hint: `copy the file itself (from: ${step.value.from.replace(/\/$/, '')}/${path.relative(from, held)}) and the rest beside it`,
        });
    }
    instructions.push(...planned.instructions);
    context.push(...planned.context);
    hostCommands.push(
      ...(platforms
        ? platformCommands(planned.hostCommands, platforms, copied, perPlatform, (platform, output, i) =>
            ctx.statePath(keptOutputName(name, index, platform, output, i)),
          )
        : planned.hostCommands),
    );
    planned.secrets?.forEach((id) => secrets.add(id));
  });

  const version = spec.version ?? /:([^/:]+)$/.exec(spec.tags[0]!)?.[1] ?? 'latest';
  const labels = { ...ociLabels(name, version, loaded.config.source), ...spec.labels, [IMAGE_LABEL]: name };
  const dockerfile = renderDockerfile(from, [...instructions, ...labelInstructions(labels)]);
  return {
    name,
    base,
    from,
    dependsOn: graph.dependencies.get(name) ?? [],
    tags: spec.tags,
    pushTags: spec.deployTags ?? spec.tags,
    labels,
    args: spec.args,
    dockerfile,
    context: [{ kind: 'bytes', name: DOCKERFILE, data: dockerfile, mode: 0o644 }, ...context],
    hostCommands,
    secrets: [...secrets],
    cache: {
      from: spec.cache.from.filter((f) => typeof f === 'string'),
      // A cache directory is not image content: like buildx's, it may be outside the project.
      fromDirs: spec.cache.from.flatMap((f, i) => (typeof f === 'string' ? [] : [{ src: path.resolve(loaded.projectDir, f.src), at: at('cache', 'from', i) }])),
      inline: spec.cache.to === 'inline',
      ...(typeof cacheTo === 'object' && cacheTo.type === 'registry' ? { registry: { ref: cacheTo.ref, mode: cacheTo.mode, at: at('cache', 'to') } } : {}),
      ...(typeof cacheTo === 'object' && cacheTo.type === 'local'
        ? { local: { dest: path.resolve(loaded.projectDir, cacheTo.dest), mode: cacheTo.mode, at: at('cache', 'to') } }
        : {}),
    },
    sign: signing(loaded.config.attestations, spec.attestations, loaded.projectDir),
    ...(platforms ? { platforms } : {}),
    ...(runStep ? { runStep } : {}),
    ...((spec.attestations?.storage ?? loaded.config.attestations?.storage) === 'index' ? { attestationStorage: 'index' as const } : {}),
  };
}

/** The paths the image's copy steps copy (a mistake in one is reported when the step is planned). */
function copiedPaths(steps: ImageConfig['steps'], projectDir: string, sources: Readonly<Record<string, string>>): Set<string> {
  return new Set(steps.flatMap((step) => (step.kind === 'copy' ? [resolvePath(projectDir, sources, step.value.from, () => {})] : [])));
}

/**
 * An image's host commands for its platforms: a command whose output it copies compiles for them, once per
 * platform when there are several (each platform's outputs noted in `perPlatform` for the copy steps).
 */
function platformCommands(
  commands: readonly HostCommand[],
  platforms: readonly string[],
  copied: ReadonlySet<string>,
  perPlatform: Map<string, PlatformOutput[]>,
  kept: (platform: string, output: string, index: number) => string,
): HostCommand[] {
  return commands.flatMap((command) => {
    // A copied directory that holds an output brings it too (and is refused for several platforms).
    const isCopied = (output: string) => [...copied].some((from) => from === output || output.startsWith(`${from}${path.sep}`));
    if (!command.outputs.some(isCopied)) return [command];
    if (platforms.length === 1) return [commandForPlatform(command, platforms[0]!)];
    return platforms.map((platform) => {
      const made = commandForPlatform(command, platform, (output, i) => kept(platform, output, i));
      command.outputs.forEach((output, i) => perPlatform.set(output, [...(perPlatform.get(output) ?? []), { platform, path: made.outputs[i]! }]));
      return made;
    });
  });
}

function signing(top: AttestationsConfig | undefined, own: AttestationsConfig | undefined, projectDir: string): ImagePlan['sign'] {
  const { key, command } = { ...top?.sign, ...own?.sign };
  return {
    format: own?.signFormat ?? top?.signFormat ?? 'referrers',
    ...(key ? { key: 'file' in key ? { file: path.resolve(projectDir, key.file) } : key } : {}),
    ...(command ? { command } : {}),
  };
}

/**
 * A path as the config writes it, made absolute: relative to the project, or `NAME:path` relative to a
 * named source. One that leaves its directory is reported, not followed.
 */
export function resolvePath(
  projectDir: string,
  sources: Readonly<Record<string, string>>,
  written: string,
  report: (problem: Omit<Problem, 'at'>) => void,
): string {
  const named = NAMED_PATH.exec(written);
  let root = projectDir;
  let relative = written;
  if (named) {
    const source = sources[named[1]!];
    if (source === undefined) {
      const near = didYouMean(named[1]!, Object.keys(sources));
      report({ message: `no source named '${named[1]}'`, hint: near ? `did you mean '${near}'?` : 'declare it under `sources:`' });
      return projectDir;
    }
    root = path.resolve(projectDir, source);
    relative = named[2]!;
  }
  const absolute = path.resolve(root, relative);
  const inside = path.relative(root, absolute);
  if (path.isAbsolute(relative) || inside === '..' || inside.startsWith(`..${path.sep}`)) {
    report({
      message: `'${written}' leaves the ${named ? `source '${named[1]}'` : 'project directory'}`,
      hint: named
        ? 'paths stay inside their source'
        : 'paths are relative to the project; for a directory outside it, declare it under `sources:` and write NAME:path',
    });
  }
  return absolute;
}

const NAMED_PATH = /^([a-z0-9][a-z0-9._/-]*):(.*)$/;

/** The directory a config path is relative to, and must stay in: the project or the named source. */
export function rootOf(projectDir: string, sources: Readonly<Record<string, string>>, written: string): string {
  const source = sources[NAMED_PATH.exec(written)?.[1] ?? ''];
  return source === undefined ? projectDir : path.resolve(projectDir, source);
}

/** A file of the tool's own under .build-images/; a name (an image's, say) that would take it out is reported. */
function statePath(projectDir: string, file: string, report: (problem: Omit<Problem, 'at'>) => void): string {
  const dir = path.join(projectDir, STATE_DIR);
  const absolute = path.resolve(dir, file);
  const inside = path.relative(dir, absolute);
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) {
    report({ message: `'${file}' would be written outside ${STATE_DIR}/`, hint: "an image's name is used in file names: no '.' or '..' between its slashes" });
  }
  return absolute;
}
