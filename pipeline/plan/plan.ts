// config → plan, with no I/O: what each image is built from, its Dockerfile, its context's sources, its
// host commands and tags. `--dry-run` prints this value; the runner carries it out.
import path from 'node:path';
import { imageRefProblem } from '../model/image-ref.ts';
import type { RegistryCacheExport } from '../model/cache-export.ts';
import { stepKinds } from '../../steps/index.ts';
import type { StepKind, StepPlanContext } from '../../steps/step.ts';
import { DOCKERFILE, type ContextSource } from '../model/context-entries.ts';
import { instruction, renderDockerfile } from './dockerfile.ts';
import { didYouMean, UserError, type Problem, type SourcePosition } from '../model/errors.ts';
import type { Graph } from './graph.ts';
import type { HostCommand } from '../model/host-command.ts';
import { IMAGE_LABEL, labelInstructions, ociLabels } from './labels.ts';
import type { ConfigPath, LoadedConfig } from '../config/load-config.ts';
import type { AttestationsConfig } from '../config/schema.ts';
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
  /** Where a build may take layers from (with the tags the line pushes), whether it exports inline cache, and a registry tag it exports its cache to. */
  cache: { from: readonly string[]; inline: boolean; registry?: RegistryCacheExport & { at: SourcePosition } };
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
  if (problems.length > 0) throw new UserError(problems);
  return { projectDir: loaded.projectDir, images };
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
  if (typeof cacheTo === 'object') {
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
  const context: ContextSource[] = [];
  const hostCommands: HostCommand[] = [];
  const secrets = new Set<string>();
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
    };
    const planned = kind.plan(step.value, ctx);
    instructions.push(...planned.instructions);
    context.push(...planned.context);
    hostCommands.push(...planned.hostCommands);
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
      from: spec.cache.from,
      inline: spec.cache.to === 'inline',
      ...(typeof cacheTo === 'object' ? { registry: { ref: cacheTo.ref, mode: cacheTo.mode, at: at('cache', 'to') } } : {}),
    },
    sign: signing(loaded.config.attestations, spec.attestations, loaded.projectDir),
    ...((spec.attestations?.storage ?? loaded.config.attestations?.storage) === 'index' ? { attestationStorage: 'index' as const } : {}),
  };
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
