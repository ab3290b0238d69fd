// Part 1: the repository's own graph (px-oci-mon, px-spec-websvc, cm-container) on stand-ins of their
// bases, build-images against the Makefile of make-baseline/ (go build, then docker build per image), with
// the classic builder and with BuildKit. Each side has its own copy of the project and of the px sources,
// so that make's file targets and build-images' records never see each other's outputs.
import { appendFile, cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readConfig, plannedImages, type ConfigFacts } from './config-facts.ts';
import { CLI, DOCKER, LABEL, pruneBuildCache, RUN } from './engine-bed.ts';
import { timed } from './processes.ts';
import type { Side } from './measure.ts';
import type { TypeServer } from './type-server.ts';

const REPO_ROOT = new URL('../../', import.meta.url).pathname;
const PX_FIXTURE = new URL('../fixtures/px-installer/', import.meta.url).pathname;
export const MAKE_BASELINE = new URL('./make-baseline/', import.meta.url).pathname;
export const GRAPH_IMAGES = ['px-oci-mon', 'px-spec-websvc', 'cm-container'];
/** What the project holds besides the config: cm-container's scripts and the Cloudify 3.4 types. */
const PROJECT_ENTRIES = ['build.config.yaml', 'images', 'types-3.4'];
/** The edit a developer makes: the Cloudify 3.4 types live in this repository (the fetched ones are pinned upstream). */
export const CHANGED_FILE = 'types-3.4/types.yaml';
// Both sides compile in their own copy of the sources: without -trimpath the folder's path ends up in the
// binaries, and the sides' images could not be compared. The same for both, so it costs neither side.
export const GO_ENV = { GOFLAGS: '-trimpath' };

export interface Workspace {
  project: string;
  px: string;
}

async function workspace(root: string, side: string): Promise<Workspace> {
  const ws = { project: path.join(root, side, 'project'), px: path.join(root, side, 'px-installer') };
  for (const entry of PROJECT_ENTRIES) await cp(path.join(REPO_ROOT, entry), path.join(ws.project, entry), { recursive: true });
  await cp(PX_FIXTURE, ws.px, { recursive: true });
  return ws;
}

/** The variables that point the config at this machine: the loopback type server, the side's own tags. */
function settings(server: TypeServer, side: string, px: string): Record<string, string> {
  return {
    PX_SRC: px,
    TYPE_REPO: `${server.url}/plugins`,
    CCSDK_REPO: `${server.url}/ccsdk`,
    PXTAG: 'bench',
    DOCKER_HUB_REPO: `bi-bench-${RUN}-${side}`,
    DOCKER_HUB_OCIMON_IMAGE: 'oci-monitor',
    DOCKER_HUB_WEBSVC_IMAGE: 'monitor-websvc',
    DOCKER_HUB_TAG: 'bench',
    CM_REPOSITORY: `bi-bench-${RUN}-${side}/cm-container`,
  };
}

export interface Prepared {
  ws: Workspace;
  sets: Record<string, string>;
  facts: ConfigFacts;
  /** --set for each variable the config declares (a branch may drop one). */
  setArgs: string[];
}

/** A side's own copy of the project and the px sources under root/side/; `overrides` beat settings(). */
export async function prepareSide(root: string, server: TypeServer, side: string, overrides: Record<string, string> = {}): Promise<Prepared> {
  const ws = await workspace(root, side);
  const sets = { ...settings(server, side, ws.px), ...overrides };
  const facts = await readConfig(path.join(ws.project, 'build.config.yaml'), sets);
  const setArgs = Object.entries(sets)
    .filter(([k]) => facts.variables.has(k))
    .flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  return { ws, sets, facts, setArgs };
}

/** `source:path` → an absolute path, with the side's px checkout for the config's source of that name. */
function outputPath(output: string, facts: ConfigFacts, ws: Workspace): string {
  const match = /^(\w[\w-]*):(.*)$/.exec(output);
  if (match && facts.sources[match[1]!] !== undefined) return path.join(ws.px, match[2]!);
  return path.resolve(ws.project, output);
}

async function binaries(facts: ConfigFacts, ws: Workspace): Promise<string[]> {
  return GRAPH_IMAGES.flatMap((image) => facts.commandOutputs(image)).map((o) => outputPath(o, facts, ws));
}

// Each side's edit is its own: build-images takes the image any builder made of the same inputs, and with
// the same edits its classic side found, by label, the image its BuildKit side had just built, and tagged it
// instead of building. The cold case (measured last) puts the file back as it was, so that every side ends
// with the same file and their images can be compared.
let edits = 0;
async function editTypes(ws: Workspace): Promise<void> {
  await appendFile(path.join(ws.project, CHANGED_FILE), `# edited by the benchmark (${++edits}, ${path.basename(path.dirname(ws.project))})\n`);
}

async function restoreTypes(ws: Workspace): Promise<void> {
  await cp(path.join(REPO_ROOT, CHANGED_FILE), path.join(ws.project, CHANGED_FILE));
}

export async function toolSide(root: string, server: TypeServer, builder: string): Promise<Side> {
  const name = `build-images (${builder})`;
  const { ws, facts, setArgs } = await prepareSide(root, server, `bi-${builder}`);
  const cache = path.join(root, `bi-${builder}`, 'cache');
  const builderArgs = builder === 'default' ? [] : ['--builder', builder];
  const planned = await plannedImages(ws.project, setArgs);
  return {
    name,
    kind: 'build-images',
    images: Object.fromEntries(GRAPH_IMAGES.map((image) => [image, planned[image]!.tags[0]!])),
    build: (cold) =>
      timed({
        cmd: process.execPath,
        args: [CLI, '--label', LABEL, ...builderArgs, ...(cold ? ['--no-cache'] : []), ...setArgs, ...GRAPH_IMAGES],
        cwd: ws.project,
        env: { ...GO_ENV, CI: 'true', NO_COLOR: '1', BUILD_IMAGES_CACHE: cache },
      }),
    makeCold: async () => {
      for (const file of await binaries(facts, ws)) await rm(file, { force: true });
      await restoreTypes(ws);
      if (builder !== 'classic') await pruneBuildCache();
    },
    change: () => editTypes(ws),
  };
}

export async function makeSide(root: string, server: TypeServer, bases: Record<string, string>, buildkit: boolean): Promise<Side> {
  const side = buildkit ? 'make-buildkit' : 'make-classic';
  const prepared = await prepareSide(root, server, side);
  const { ws, facts } = prepared;
  const images = {
    'px-oci-mon': `bi-bench-${RUN}-${side}/oci-monitor:bench`,
    'px-spec-websvc': `bi-bench-${RUN}-${side}/monitor-websvc:bench`,
    'cm-container': `bi-bench-${RUN}-${side}/cm-container:bench`,
  };
  const { makeDir, vars } = await makeBaseline(path.join(root, side), prepared, images, bases);
  const varArgs = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
  return {
    name: buildkit ? 'make + BuildKit' : 'make + classic',
    kind: 'baseline',
    images,
    build: (cold) =>
      timed({
        cmd: 'make',
        args: ['-C', makeDir, 'all', ...varArgs, `BUILD_FLAGS=--network none --label ${LABEL}${cold ? ' --no-cache' : ''}`],
        cwd: makeDir,
        env: { ...GO_ENV, DOCKER_BUILDKIT: buildkit ? '1' : '0' },
      }),
    makeCold: async () => {
      for (const file of await binaries(facts, ws)) await rm(file, { force: true });
      await restoreTypes(ws);
      if (buildkit) await pruneBuildCache();
    },
    change: () => editTypes(ws),
  };
}

/** The Makefile baseline copied into `dir`/make, and the variables that point it at a side's project and images. */
export async function makeBaseline(dir: string, { ws, sets, facts }: Prepared, images: Record<string, string>, bases: Record<string, string>) {
  const makeDir = path.join(dir, 'make');
  await mkdir(makeDir, { recursive: true });
  for (const file of await readdir(MAKE_BASELINE)) await cp(path.join(MAKE_BASELINE, file), path.join(makeDir, file));
  await writeFile(path.join(makeDir, 'type-files.mk'), typeFilesMk(facts));
  const vars: Record<string, string | undefined> = {
    DOCKER,
    PX_SRC: ws.px,
    PROJECT: ws.project,
    PXTAG: sets.PXTAG,
    TYPE_REPO: facts.resolve('${TYPE_REPO}'),
    CCSDK_REPO: facts.resolve('${CCSDK_REPO}'),
    ONAPSPEC: facts.resolve('${ONAPSPEC}') || '/opt/manager/resources/onapspec',
    OCIMON_IMG: images['px-oci-mon'],
    WEBSVC_IMG: images['px-spec-websvc'],
    CM_IMG: images['cm-container'],
    OCIMON_BASE: bases['px-oci-mon'],
    WEBSVC_BASE: bases['px-spec-websvc'],
    CM_BASE: bases['cm-container'],
  };
  return { makeDir, vars };
}

/** cm-container's type files as make targets, fetched into the project's type-files/ at their paths in the image. */
export function typeFilesMk(facts: ConfigFacts): string {
  const files = facts.fetches('cm-container').map((f) => ({ target: `$(PROJECT)/type-files${f.to}`, url: f.url }));
  return [
    "# Written by the benchmark from build.config.yaml: cm-container's fetch steps.",
    `TYPE_FILES := ${files.map((f) => f.target).join(' ')}`,
    ...files.flatMap((f) => [`${f.target}:`, `\tmkdir -p $(@D) && curl -fsS -o $@ '${f.url}'`]),
    '',
  ].join('\n');
}

/** The base of each image of the graph, as the tool plans it: for the stand-ins and the baseline's FROM. */
export async function graphBases(root: string, server: TypeServer): Promise<Record<string, string>> {
  const { ws, setArgs } = await prepareSide(root, server, 'plan');
  const planned = await plannedImages(ws.project, setArgs);
  for (const image of GRAPH_IMAGES) if (!planned[image]) throw new Error(`the plan has no image ${image}`);
  return Object.fromEntries(GRAPH_IMAGES.map((image) => [image, planned[image]!.base]));
}
