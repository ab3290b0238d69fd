// npm run bench [-- --runs N] [--quick] [--json FILE] [--parts graph,context,rss,fresh]
//
// build-images against what a user would otherwise run, on this machine's engine (DOCKER_HOST), each timed
// as a whole command, medians of N runs, ratios build-images / baseline:
//   1. the repository's own graph (px-oci-mon, px-spec-websvc, cm-container on stand-ins of their bases,
//      type files from a loopback server) against make-baseline/'s Makefile with `docker build`, classic
//      and BuildKit: cold, nothing changed, types-3.4/types.yaml edited;
//   2. a 72 MiB context against `docker build` (BuildKit, and classic): cold, nothing changed, one small
//      file changed;
//   3. build-images' peak RSS with a 1 GiB context;
//   4. a fresh CI runner (the graph's bases, no built image, no layer cache) and a registry holding the last
//      job's push: build-images `px-container cm-container deploy` against make + `docker build` with
//      BuildKit, inline cache and --cache-from, then `docker push`: nothing changed, types-3.4/types.yaml
//      edited; with the registry requests and bytes pulled of each.
// Every builder the tool offers (--builder) that builds on this engine is measured; the others are named
// as skipped, with why. Everything built carries the label build-images.bench=<run> and is removed at the
// end, also on Ctrl-C; BuildKit's build cache is emptied for each cold BuildKit build and at the end.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { docker } from '../support/engine.ts';
import { contextProject, describeShape, dockerSide, peakRss, toolSide as contextToolSide, type ContextShape } from './context-part.ts';
import { DOCKER, ensureBases, LABEL, probeBuilders, pruneBuildCache, removeLabelled, RUN, type Builders } from './engine-bed.ts';
import { CHANGED_FILE, GRAPH_IMAGES, graphBases, makeSide, toolSide as graphToolSide } from './graph-part.ts';
import { measureCases, type CaseKey } from './measure.ts';
import { compareImages } from './same-images.ts';
import { FRESH_CASES, freshPart } from './fresh-part.ts';
import { Interrupted, onInterrupt } from './processes.ts';
import { goalLine, markdown, ratioGoals, ratios, table, trafficTable, type Goal, type TimedPart } from './report.ts';
import { startTypeServer } from './type-server.ts';

const PARTS = ['graph', 'context', 'rss', 'fresh'] as const;
// One ${TIMESTAMP} for the whole benchmark, so that the tags the plan names are those the builds make.
process.env['BUILD_IMAGES_TIMESTAMP'] ??= new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
const CASES: CaseKey[] = ['cold', 'noop', 'changed'];
const RSS_LIMIT_MB = 150;

const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    parts: { type: 'string', default: PARTS.join(',') },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('npm run bench -- [--runs N (default 3)] [--quick (1 run, smaller contexts)] [--json FILE] [--parts graph,context,rss,fresh]');
  process.exit(0);
}
const runs = values.quick && values.runs === undefined ? 1 : Number(values.runs ?? 3);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs ${values.runs}: expected a whole number from 1 up`);
const parts = new Set(values.parts.split(','));
for (const p of parts) if (!PARTS.includes(p as never)) throw new Error(`--parts: ${p} is not one of ${PARTS.join(', ')}`);
const contextShape: ContextShape = values.quick ? { smallFiles: 500, bigFiles: [16] } : { smallFiles: 2000, bigFiles: [64] };
const rssShape: ContextShape = values.quick ? { smallFiles: 2000, bigFiles: [64, 64, 64, 64] } : { smallFiles: 2000, bigFiles: Array(16).fill(64) };
// The goals hold for the sizes the issue names; --quick shrinks parts 2 and 3, so those are not judged.
const fullSize = !values.quick;

if (!existsSync(DOCKER)) throw new Error(`${DOCKER} is missing: the baselines need Debian's docker.io client (20.10)`);
const log = (line: string) => console.log(line);
const goals: Goal[] = [];
const results: Record<string, unknown> = {};
let interrupts = 0;
process.on('SIGINT', () => {
  if (++interrupts === 1) process.stderr.write('\ninterrupted: stopping, then removing what the benchmark built\n');
  onInterrupt();
});

const root = await mkdtemp(path.join(os.tmpdir(), 'bi-bench-'));
const server = await startTypeServer();
let code = 0;
try {
  const engine = await docker.version();
  const header = {
    run: RUN,
    date: new Date().toISOString(),
    engine: `Docker Engine ${engine.Version} (API ${engine.ApiVersion})`,
    cores: os.cpus().length,
    runs,
    quick: values.quick,
    label: LABEL,
  };
  log(`build-images benchmark ${RUN}: ${header.engine}, ${header.cores} cores, median of ${runs} run${runs > 1 ? 's' : ''}${values.quick ? ' (--quick)' : ''}`);
  const bases = parts.has('graph') || parts.has('fresh') ? await graphBases(root, server) : {};
  const made = await ensureBases([...Object.values(bases), 'ubuntu:16.04']);
  if (made.length) log(`stand-ins made for ${made.join(', ')} (removed at the end)`);
  const builders = await probeBuilders('ubuntu:16.04');
  log(builderLine(builders));
  Object.assign(results, header, { builders });

  if (parts.has('graph')) {
    log(`\nPart 1: the repository's graph (${GRAPH_IMAGES.join(', ')}) against make + docker build`);
    const sides = [
      ...(await Promise.all(builders.available.map((b) => graphToolSide(root, server, b)))),
      await makeSide(root, server, bases, false),
      await makeSide(root, server, bases, true),
    ];
    const part: TimedPart = { title: 'graph', sides, cases: await measureCases(sides, CASES, runs, log) };
    log(`\n${table(part)}`);
    log(`"one file changed" is ${CHANGED_FILE} edited (the Cloudify 3.4 types live in this repository; fetched files are pinned).`);
    log('Cold: no layer cache on both sides (--no-cache; BuildKit cache pruned), Go binaries removed (the Go build cache stays warm for both).');
    goals.push(...ratioGoals(part, 'make + BuildKit', { cold: 0.8, noop: 0.5, changed: 0.8 }, 'graph', true));
    const [reference, ...others] = sides;
    const same = await compareImages(reference!.images!, Object.fromEntries(others.map((s) => [s.name, s.images!])));
    log(`Same images? Each side's against ${reference!.name}'s:\n${same.map((l) => `  ${l}`).join('\n')}`);
    results['graph'] = { ...summary(part), changedFile: CHANGED_FILE, sameImages: same };
  }

  if (parts.has('context')) {
    log(`\nPart 2: a large context, ${describeShape(contextShape)}, against docker build`);
    const dir = await contextProject(root, contextShape, 'ubuntu:16.04');
    const sides = [...builders.available.map((b) => contextToolSide(dir, b)), dockerSide(dir, true), dockerSide(dir, false)];
    const part: TimedPart = { title: 'context', sides, cases: await measureCases(sides, CASES, runs, log) };
    log(`\n${table(part)}`);
    goals.push(...ratioGoals(part, 'docker build + BuildKit', { cold: 1, noop: 1, changed: 1 }, `${describeShape(contextShape)} context`, fullSize));
    results['context'] = { ...summary(part), shape: describeShape(contextShape) };
    await rm(dir, { recursive: true, force: true });
  }

  if (parts.has('rss')) {
    log(`\nPart 3: build-images' peak RSS (getrusage maxRSS of its process), cold build of ${describeShape(rssShape)}`);
    const dir = await contextProject(root, rssShape, 'ubuntu:16.04');
    const rows: string[][] = [];
    const rss: Record<string, { mb: number; seconds: number }> = {};
    for (const builder of builders.available) {
      const { bytes, seconds } = await peakRss(dir, builder);
      rss[builder] = { mb: bytes / 1e6, seconds };
      rows.push([`build-images (${builder})`, (bytes / 1e6).toFixed(0), seconds.toFixed(2)]);
      goals.push({
        goal: `peak RSS at ${describeShape(rssShape)}: build-images (${builder}) ≤ ${RSS_LIMIT_MB} MB`,
        value: bytes / 1e6,
        limit: RSS_LIMIT_MB,
        unit: 'MB',
        met: fullSize ? bytes / 1e6 <= RSS_LIMIT_MB : undefined,
      });
    }
    log(`\n${markdown(['builder', 'peak RSS (MB)', 'time (s)'], rows)}`);
    results['rss'] = { shape: describeShape(rssShape), builders: rss };
    await rm(dir, { recursive: true, force: true });
  }

  // Last: it removes every image the other parts built, for an engine as a fresh runner has it.
  if (parts.has('fresh')) {
    // The default builder only: the classic builder takes no layer cache from a registry (the tool says so).
    const builder = builders.available[0];
    if (!builder) throw new Error('no builder of the tool builds on this engine');
    log(
      `\nPart 4: a fresh CI runner (bases only, no built image, no layer cache) and a registry holding the last push: build-images (${builder}) against make + docker build (BuildKit, inline cache, --cache-from) + docker push`,
    );
    const part = await freshPart(root, server, bases, builder, runs, log);
    log(`\n${table(part)}\n\n${trafficTable(part.traffic)}`);
    log(`Same images? Each of the first push's against build-images':\n${part.sameImages.map((l) => `  ${l}`).join('\n')}`);
    goals.push(...ratioGoals(part, 'make + BuildKit + push', { noop: 0.2, changed: 0.8 }, 'fresh runner', true));
    results['fresh'] = {
      ...summary(part),
      cases: FRESH_CASES,
      traffic: part.traffic,
      outcomes: part.outcomes,
      changedFile: CHANGED_FILE,
      sameImages: part.sameImages,
    };
  }

  log('\nGoals of the issue:');
  for (const goal of goals) log(`  ${goalLine(goal)}`);
  if (builders.skipped.length) log(`  (not measured: ${builders.skipped.map((s) => `--builder ${s.name}`).join(', ')}, see above)`);
  results['goals'] = goals;
  if (values.json) {
    // npm run starts scripts in the package's folder; a relative FILE means the folder the user ran it from.
    const file = path.resolve(process.env['INIT_CWD'] ?? process.cwd(), values.json);
    await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
    log(`\nresults written to ${file}`);
  }
} catch (err) {
  if (err instanceof Interrupted) code = 130;
  else {
    console.error(`benchmark failed: ${(err as Error).message}`);
    code = 1;
  }
} finally {
  await server.close();
  const { removed, left } = await removeLabelled();
  // The benchmark's BuildKit builds leave up to a GiB of build cache: the engine cannot prune only ours.
  await pruneBuildCache().catch(() => {});
  await rm(root, { recursive: true, force: true });
  console.log(`\nremoved ${removed} image(s) labelled ${LABEL}${left ? ` (${left} could not be removed)` : ''}; emptied BuildKit's build cache`);
}
process.exit(code);

function builderLine({ available, skipped }: Builders): string {
  const measured = `builders measured: ${available.join(', ') || 'none'}`;
  return skipped.length ? `${measured}; skipped: ${skipped.map((s) => `${s.name} (${s.why})`).join('; ')}` : measured;
}

function summary(part: TimedPart) {
  return { sides: part.sides.map((s) => ({ name: s.name, kind: s.kind })), medians: part.cases, ratios: ratios(part) };
}
