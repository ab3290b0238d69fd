// Part 2: a large context (by default 2,000 files of 4 KiB and one of 64 MiB, 72 MiB in all), the same
// two COPYs built by build-images and by `docker build` (BuildKit, and classic), from one project folder.
// Part 3 uses the same project shape at 1 GiB, for build-images' peak RSS.
import { appendFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { CLI, DOCKER, LABEL, pruneBuildCache, RUN } from './engine-bed.ts';
import { nodePeakRss, timed } from './processes.ts';
import type { Side } from './measure.ts';

export interface ContextShape {
  smallFiles: number;
  /** Sizes of the big files, in MiB. */
  bigFiles: number[];
}

export const describeShape = ({ smallFiles, bigFiles }: ContextShape): string =>
  `${smallFiles.toLocaleString('en')} × 4 KiB + ${bigFiles.length === 1 ? `one ${bigFiles[0]} MiB file` : `${bigFiles.length} × ${bigFiles[0]} MiB`} (${Math.round((smallFiles * 4) / 1024 + bigFiles.reduce((a, b) => a + b, 0))} MiB)`;

const SMALL = 'files/d0/f42.txt';

export async function contextProject(root: string, shape: ContextShape, base: string): Promise<string> {
  const dir = await mkdtemp(path.join(root, 'context-'));
  for (let i = 0; i < shape.smallFiles; i++) {
    const d = path.join(dir, 'files', `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) await mkdir(d, { recursive: true });
    await writeFile(path.join(d, `f${i % 100}.txt`), randomBytes(2048).toString('hex'));
  }
  await mkdir(path.join(dir, 'big'));
  // One random MiB repeated: neither side compresses or deduplicates, so this costs them what random data would.
  const mib = randomBytes(1024 * 1024);
  for (const [i, size] of shape.bigFiles.entries()) await writeFile(path.join(dir, 'big', `part-${i}.bin`), Buffer.concat(Array(size).fill(mib)));
  await writeFile(path.join(dir, 'Dockerfile'), `FROM ${base}\nCOPY files /files\nCOPY big /big\n`);
  await writeFile(path.join(dir, '.dockerignore'), 'build.config.yaml\nbuild-images.lock.json\nDockerfile\n.build-images\n');
  // SIDE gives each builder its own tag, from one config.
  await writeFile(
    path.join(dir, 'build.config.yaml'),
    `variables:\n  SIDE: x\nimages:\n  context:\n    base: ${base}\n    tags: ['bi-bench-${RUN}-\${SIDE}/context:1']\n    steps:\n      - copy: { from: files, to: /files }\n      - copy: { from: big, to: /big }\n`,
  );
  return dir;
}

let edits = 0;
const changeSmallFile = (dir: string) => appendFile(path.join(dir, SMALL), `edit ${++edits}\n`);

function toolArgs(builder: string, cold: boolean): string[] {
  return [CLI, '--label', LABEL, ...(builder === 'default' ? [] : ['--builder', builder]), ...(cold ? ['--no-cache'] : []), '--set', `SIDE=${builder}`];
}

export function toolSide(dir: string, builder: string): Side {
  return {
    name: `build-images (${builder})`,
    kind: 'build-images',
    build: (cold) => timed({ cmd: process.execPath, args: toolArgs(builder, cold), cwd: dir, env: { CI: 'true', NO_COLOR: '1' } }),
    makeCold: async () => {
      if (builder !== 'classic') await pruneBuildCache();
    },
    change: () => changeSmallFile(dir),
  };
}

export function dockerSide(dir: string, buildkit: boolean): Side {
  const tag = `bi-bench-${RUN}-docker-${buildkit ? 'buildkit' : 'classic'}/context:1`;
  return {
    name: buildkit ? 'docker build + BuildKit' : 'docker build (classic)',
    kind: 'baseline',
    build: (cold) =>
      timed({
        cmd: DOCKER,
        args: ['build', '--network', 'none', '--label', LABEL, ...(cold ? ['--no-cache'] : []), '-t', tag, '.'],
        cwd: dir,
        env: { DOCKER_BUILDKIT: buildkit ? '1' : '0' },
      }),
    makeCold: async () => {
      if (buildkit) await pruneBuildCache();
    },
    change: () => changeSmallFile(dir),
  };
}

/** build-images' peak RSS building the project cold with this builder, and the seconds it took. */
export async function peakRss(dir: string, builder: string): Promise<{ bytes: number; seconds: number }> {
  if (builder !== 'classic') await pruneBuildCache();
  return nodePeakRss({ cmd: process.execPath, args: toolArgs(builder, true), cwd: dir, env: { CI: 'true', NO_COLOR: '1' } });
}
