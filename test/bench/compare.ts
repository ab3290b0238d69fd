// build-images against `docker build`, run the same way: the same context (2,000 small files and one
// 64 MiB file), the same Dockerfile, the same engine and classic builder, each timed as a whole command.
// Three cases: a cold build (--no-cache on both), a second run with nothing changed, and one small file
// changed. A fourth: two independent images whose RUN keeps a core busy, built by `docker build` one after
// the other (as a Makefile without -j does) and by build-images at --concurrency 2.
// Prints the median of each and the ratio build-images / docker build. Needs a running engine.
//   npm run bench [-- --runs 5]
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureStandIns } from '../support/engine.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;
const CLI = new URL('../../dist/pipeline/cli/main.js', import.meta.url).pathname;
// The Debian engine's own client; its `build` is the classic builder, as build-images uses.
const DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
const TAG_DOCKER = 'bi-bench/docker-build:1';
// On everything the benchmark builds, so that the images a rebuild leaves untagged are removed too.
const LABEL = 'build-images.bench=1';
const TAG_TOOL = 'bi-bench/build-images:1';

async function project(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-bench-'));
  for (let d = 0; d < 20; d++) {
    await mkdir(path.join(dir, 'files', `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) await writeFile(path.join(dir, 'files', `d${d}`, `f${f}.txt`), randomBytes(2048).toString('hex'));
  }
  await writeFile(path.join(dir, 'big.bin'), randomBytes(64 * 1024 * 1024));
  await writeFile(path.join(dir, 'Dockerfile'), 'FROM ubuntu:16.04\nCOPY files /files\nCOPY big.bin /big.bin\n');
  await writeFile(path.join(dir, '.dockerignore'), 'build.config.yaml\nDockerfile\n');
  await writeFile(
    path.join(dir, 'build.config.yaml'),
    `images:\n  bench:\n    base: ubuntu:16.04\n    tags: ['${TAG_TOOL}']\n    steps:\n      - copy: { from: files, to: /files }\n      - copy: { from: big.bin, to: /big.bin }\n`,
  );
  return dir;
}

function time(cmd: string, args: string[], cwd: string): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(cmd, args, { cwd, env: { ...process.env, DOCKER_BUILDKIT: '0', CI: 'true' }, stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${result.stderr}`);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(dir: string, before: () => Promise<void>, dockerArgs: string[], toolArgs: string[]) {
  const docker: number[] = [];
  const tool: number[] = [];
  for (let i = 0; i < runs; i++) {
    await before();
    docker.push(time(DOCKER, ['build', '--label', LABEL, ...dockerArgs, '-t', TAG_DOCKER, '.'], dir));
    await before();
    tool.push(time(process.execPath, [CLI, '--label', LABEL, ...toolArgs], dir));
  }
  return { docker: median(docker), tool: median(tool) };
}

await ensureStandIns(['ubuntu:16.04']);
const dir = await project();
const small = path.join(dir, 'files', 'd7', 'f42.txt');
let n = 0;
const cases: [string, () => Promise<void>, string[], string[]][] = [
  ['cold build (--no-cache)', async () => {}, ['--no-cache'], ['--no-cache']],
  ['nothing changed', async () => {}, [], []],
  ['one small file changed', async () => writeFile(small, `change ${n++}\n`), [], []],
];
async function twoImages(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-bench-two-'));
  const busy = 'i=0; while [ $i -lt 2000000 ]; do i=$((i+1)); done';
  for (const n of ['one', 'two']) await writeFile(path.join(dir, `${n}.Dockerfile`), `FROM ubuntu:16.04\nRUN ${busy}; echo ${n} > /${n}\n`);
  await writeFile(
    path.join(dir, 'build.config.yaml'),
    `images:\n${['one', 'two'].map((n) => `  ${n}: { base: ubuntu:16.04, tags: ['bi-bench/${n}:1'], steps: [{ run: '${busy}; echo ${n} > /${n}' }] }`).join('\n')}\n`,
  );
  return dir;
}

console.log(`build-images vs docker build (classic builder), median of ${runs} runs, ${os.cpus().length} cores`);
console.log('context: 2,000 files of 4 KiB and one of 64 MiB\n');
console.log('case                        docker build   build-images   ratio');
try {
  for (const [name, before, dockerArgs, toolArgs] of cases) {
    const { docker, tool } = await measure(dir, before, dockerArgs, toolArgs);
    console.log(`${name.padEnd(28)}${docker.toFixed(2).padStart(10)} s${tool.toFixed(2).padStart(13)} s${(tool / docker).toFixed(2).padStart(8)}`);
  }
  const two = await twoImages();
  const docker: number[] = [];
  const tool: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dockerBuild = (n: string) => time(DOCKER, ['build', '--label', LABEL, '--no-cache', '-q', '-f', `${n}.Dockerfile`, '-t', `bi-bench/d-${n}:1`, '.'], two);
    docker.push(dockerBuild('one') + dockerBuild('two'));
    tool.push(time(process.execPath, [CLI, '--label', LABEL, '--no-cache', '--concurrency', '2'], two));
  }
  const [d, t] = [median(docker), median(tool)];
  console.log(`${'two independent images'.padEnd(28)}${d.toFixed(2).padStart(10)} s${t.toFixed(2).padStart(13)} s${(t / d).toFixed(2).padStart(8)}`);
  await rm(two, { recursive: true, force: true });
} finally {
  const images = spawnSync(DOCKER, ['images', '-q', '--filter', `label=${LABEL}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  if (images.length) spawnSync(DOCKER, ['rmi', '-f', ...new Set(images)], { stdio: 'ignore' });
  await rm(dir, { recursive: true, force: true });
}
