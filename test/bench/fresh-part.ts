// Part 4: a fresh CI runner. The engine has the bases (the graph part's stand-ins) but no image of the
// graph and no layer cache; a registry (Debian's docker-registry, basic auth) holds what the previous job
// pushed of px-oci-mon, px-spec-websvc and cm-container. Each job starts from a new copy of the project and
// of the px sources, a new BUILD_IMAGES_CACHE, and an engine made fresh again (the graph's images removed,
// BuildKit's cache pruned): build-images `px-container cm-container deploy` against make + `docker build`
// with BuildKit, inline cache and --cache-from the pushed image, then `docker push` of each tag. Every
// request of the tool, the docker CLI and the engine goes through a counting proxy: the tags name its
// address. Cases: nothing changed, and types-3.4/types.yaml edited (each job its own edit, so that each
// has exactly one file changed against what the job before it pushed).
import { appendFile, cp, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LOCK_FILE } from '../../pipeline/context/fetcher.ts';
import { docker, imageInfo } from '../support/engine.ts';
import { PASSWORD, startRegistry, USER } from '../support/registry.ts';
import { plannedImages } from './config-facts.ts';
import { countingProxy, traffic, type Traffic } from './counting-proxy.ts';
import { CLI, LABEL, LABEL_KEY, pruneBuildCache, RUN } from './engine-bed.ts';
import { CHANGED_FILE, GO_ENV, GRAPH_IMAGES, makeBaseline, prepareSide } from './graph-part.ts';
import { CASE_TITLES, type CaseKey, type Medians } from './measure.ts';
import { checkInterrupted, median, run } from './processes.ts';
import type { TimedPart } from './report.ts';
import { compareImages } from './same-images.ts';
import type { TypeServer } from './type-server.ts';

export const FRESH_CASES: CaseKey[] = ['noop', 'changed'];
/** What the command line of the tool's job names: the px group, cm-container, then deploy. */
const TARGETS = ['px-container', 'cm-container', 'deploy'];
const NAMESPACE = `bi-bench-${RUN}-fresh`;
const TRACE = process.env['BENCH_FRESH_TRACE'];

interface Job {
  seconds: number;
  /** What build-images said it did with each image (its --json finish and push events). */
  outcome?: string;
  /** build-images' --json output. */
  events?: string;
}

interface FreshSide {
  name: string;
  kind: 'build-images' | 'baseline';
  /** One CI job on a fresh runner: its own copy of the project (the edit appended to CHANGED_FILE), then the command, timed. */
  job(n: number, edit: string | undefined): Promise<Job>;
  /** The references the last job built, by image name (the first job's, when compared). */
  images: Record<string, string>;
}

export interface FreshResults extends TimedPart {
  traffic: Partial<Record<CaseKey, Record<string, Traffic>>>;
  outcomes: Partial<Record<CaseKey, Record<string, string[]>>>;
  sameImages: string[];
}

export async function freshPart(
  root: string,
  server: TypeServer,
  bases: Record<string, string>,
  builder: string,
  runs: number,
  log: (line: string) => void,
): Promise<FreshResults> {
  const registry = await startRegistry();
  const proxy = await countingProxy(registry.address);
  try {
    const reg = proxy.address;
    // Credentials as `docker login` leaves them, for the docker CLI, the engine's pulls and the tool alike.
    const dockerConfig = path.join(root, 'fresh-docker-config');
    await mkdir(dockerConfig, { recursive: true });
    await writeFile(
      path.join(dockerConfig, 'config.json'),
      JSON.stringify({ auths: { [reg]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }),
    );
    const sides = [toolSide(root, server, reg, dockerConfig, builder), makeSide(root, server, reg, dockerConfig, bases)];
    const baseIds = new Set<string>();
    for (const ref of Object.values(bases)) {
      const info = await imageInfo(ref);
      if (info) baseIds.add(info.Id);
    }

    // The previous job: each side's first push, from an engine without the graph's images or layer cache.
    await freshEngine(baseIds);
    for (const side of sides) {
      const { seconds, outcome } = await side.job(0, undefined);
      log(`  first push (untimed for the table): ${side.name} ${seconds.toFixed(2)} s${outcome ? ` (${outcome})` : ''}`);
    }
    const [tool, make] = sides as [FreshSide, FreshSide];
    const sameImages = await compareImages(tool.images, { [make.name]: make.images });

    const cases: Partial<Record<CaseKey, Medians>> = {};
    const trafficOf: FreshResults['traffic'] = {};
    const outcomes: FreshResults['outcomes'] = {};
    let job = 0;
    for (const key of FRESH_CASES) {
      const times: Record<string, number[]> = Object.fromEntries(sides.map((s) => [s.name, []]));
      const counted: Record<string, Traffic[]> = Object.fromEntries(sides.map((s) => [s.name, []]));
      outcomes[key] = {};
      for (let i = 0; i < runs; i++) {
        job++;
        for (const side of sides) {
          checkInterrupted();
          await freshEngine(baseIds);
          const edit = key === 'changed' ? `# edited by the benchmark (fresh-runner job ${job}, ${side.kind})\n` : undefined;
          const before = proxy.exchanges().length;
          const startedAt = Date.now();
          const { seconds, outcome, events } = await side.job(job, edit);
          times[side.name]!.push(seconds);
          const exchanges = proxy.exchanges().slice(before);
          counted[side.name]!.push(traffic(exchanges));
          // BENCH_FRESH_TRACE=DIR keeps each job's registry requests (and the tool's --json events) to read.
          if (TRACE)
            await writeFile(
              path.join(TRACE, `${key}-${job}-${side.kind}.requests`),
              exchanges.map((e) => `${e.at - startedAt} ${(e.done ?? e.at) - startedAt} ${e.status} ${e.method} ${e.url} ${e.sent} ${e.received}`).join('\n') +
                '\n',
            );
          if (TRACE && events) await writeFile(path.join(TRACE, `${key}-${job}-${side.kind}.ndjson`), events);
          if (outcome) (outcomes[key]![side.name] ??= []).push(outcome);
        }
      }
      cases[key] = Object.fromEntries(Object.entries(times).map(([name, xs]) => [name, median(xs)]));
      trafficOf[key] = Object.fromEntries(
        Object.entries(counted).map(([name, xs]) => [
          name,
          { requests: median(xs.map((x) => x.requests)), pulled: median(xs.map((x) => x.pulled)), uploaded: median(xs.map((x) => x.uploaded)) },
        ]),
      );
      log(
        `  ${CASE_TITLES[key]}: ${sides
          .map(
            (s) =>
              `${s.name} ${times[s.name]!.map((x) => x.toFixed(2)).join('/')} s, ${counted[s.name]!.map((t) => `${t.requests} req ${kib(t.pulled)} KiB pulled`).join(' / ')}`,
          )
          .join('; ')}`,
      );
      for (const [name, xs] of Object.entries(outcomes[key]!)) log(`    ${name}: ${[...new Set(xs)].join(' | ')}`);
    }
    await freshEngine(baseIds);
    return { title: 'fresh', sides: sides.map((s) => ({ name: s.name, kind: s.kind })), cases, traffic: trafficOf, outcomes, sameImages };
  } finally {
    await proxy.stop();
    await registry.stop();
  }
}

export const kib = (bytes: number): string => (bytes / 1024).toFixed(0);

/**
 * The engine of a fresh runner: no image of the graph, no layer cache; the bases stay. Every image this
 * benchmark built goes, the other parts' included (this part runs last): build-images takes a local image
 * of the same inputs whatever its tag, and the graph part's are those.
 */
async function freshEngine(baseIds: Set<string>): Promise<void> {
  const ours = (image: { Id: string; RepoTags?: string[]; Labels?: Record<string, string> }) =>
    !baseIds.has(image.Id) && (image.Labels?.[LABEL_KEY] === RUN || (image.RepoTags ?? []).some((t) => t.includes(NAMESPACE)));
  // Top-level images only: the classic builder's intermediate ones (the builder probe's) are their children's.
  // A few passes: an image with a child image of ours goes once the child has gone.
  for (let pass = 0; pass < 4; pass++)
    for (const image of await docker.listImages())
      if (ours(image))
        await docker
          .getImage(image.Id)
          .remove({ force: true })
          .catch(() => {});
  const left = (await docker.listImages()).filter(ours);
  if (left.length) throw new Error(`could not make the engine fresh: ${left.map((i) => i.RepoTags?.join(',') || i.Id).join('; ')} left`);
  await pruneBuildCache();
}

function toolSide(root: string, server: TypeServer, reg: string, dockerConfig: string, builder: string): FreshSide {
  const repo = `${NAMESPACE}-bi`;
  const overrides = { DOCKER_HUB_REPO: `${reg}/${repo}`, CM_REGISTRY: reg, CM_REPOSITORY: `${repo}/cm-container` };
  const builderArgs = builder === 'default' ? [] : ['--builder', builder];
  const side: FreshSide = {
    name: `build-images (${builder})`,
    kind: 'build-images',
    images: {},
    async job(n, edit) {
      const dir = path.join('fresh-bi', String(n));
      const { ws, setArgs } = await prepareSide(root, server, dir, overrides);
      // The lock the first job wrote is committed with the project, as the README asks: later jobs check out
      // the pins (their fetch cache is as empty as the rest of the runner).
      if (n > 0) await cp(path.join(root, 'fresh-bi', '0', 'project', LOCK_FILE), path.join(ws.project, LOCK_FILE));
      if (edit) await appendFile(path.join(ws.project, CHANGED_FILE), edit);
      if (n === 0) {
        const planned = await plannedImages(ws.project, setArgs);
        side.images = Object.fromEntries(GRAPH_IMAGES.map((image) => [image, planned[image]!.tags[0]!]));
      }
      const start = process.hrtime.bigint();
      const out = await run({
        cmd: process.execPath,
        args: [CLI, '--json', '--label', LABEL, ...builderArgs, ...setArgs, ...TARGETS],
        cwd: ws.project,
        env: { ...GO_ENV, CI: 'true', NO_COLOR: '1', BUILD_IMAGES_CACHE: path.join(root, dir, 'cache'), DOCKER_CONFIG: dockerConfig },
      });
      return { seconds: Number(process.hrtime.bigint() - start) / 1e9, outcome: outcomeOf(out), events: out };
    },
  };
  return side;
}

/** Each image's status (and where it was found up to date), the pulls, and the pushes by status, from --json. */
function outcomeOf(stdout: string): string {
  const events = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const finishes = events
    .filter((e) => e['type'] === 'finish')
    .map((e) => `${e['image']} ${e['status']}${e['registry'] ? ' in registry' : ''}`)
    .sort();
  const pulls = events.filter((e) => e['type'] === 'pull').length;
  const pushes: Record<string, number> = {};
  for (const e of events.filter((e) => e['type'] === 'push')) pushes[String(e['status'])] = (pushes[String(e['status'])] ?? 0) + 1;
  const pushed = Object.entries(pushes)
    .sort()
    .map(([status, count]) => `${count} ${status}`)
    .join(', ');
  return `${finishes.join(', ')}; ${pulls} pull${pulls === 1 ? '' : 's'}; tags: ${pushed || 'none'}`;
}

function makeSide(root: string, server: TypeServer, reg: string, dockerConfig: string, bases: Record<string, string>): FreshSide {
  const repo = `${reg}/${NAMESPACE}-make`;
  return {
    name: 'make + BuildKit + push',
    kind: 'baseline',
    images: { 'px-oci-mon': `${repo}/oci-monitor:bench`, 'px-spec-websvc': `${repo}/monitor-websvc:bench`, 'cm-container': `${repo}/cm-container:bench` },
    async job(n, edit) {
      const dir = path.join('fresh-make', String(n));
      const prepared = await prepareSide(root, server, dir);
      if (edit) await appendFile(path.join(prepared.ws.project, CHANGED_FILE), edit);
      const { makeDir, vars: shared } = await makeBaseline(path.join(root, dir), prepared, this.images, bases);
      // cm-container under the tags the tool's deploy pushes (deployTags), the px images under theirs.
      const version = prepared.facts.resolve('${CM_VERSION}');
      const stamp = process.env['BUILD_IMAGES_TIMESTAMP'];
      const cmTags = [`${version}-SNAPSHOT-${stamp}`, version, 'latest'].map((t) => `${repo}/cm-container:${t}`);
      const vars = { ...shared, CM_PUSH_TAGS: cmTags.join(' ') };
      const args = [
        '-C',
        makeDir,
        'push',
        ...Object.entries(vars).map(([k, v]) => `${k}=${v}`),
        `BUILD_FLAGS=--network none --label ${LABEL}`,
        'INLINE_CACHE=1',
      ];
      // The first job has nothing to take cache from (the registry lacks the tags).
      if (n > 0) args.push('CACHE_FROM=1');
      const start = process.hrtime.bigint();
      await run({ cmd: 'make', args, cwd: makeDir, env: { ...GO_ENV, DOCKER_BUILDKIT: '1', DOCKER_CONFIG: dockerConfig } });
      return { seconds: Number(process.hrtime.bigint() - start) / 1e9 };
    },
  };
}
