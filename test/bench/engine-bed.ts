// What the benchmark needs of the engine: stand-ins for public bases, the builders the tool offers here,
// and the clean-up. Everything it makes carries LABEL; only what carries it is removed, never the user's
// images (a base that was already there is used as it is and left alone).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { docker, imageInfo, importImage, rootfs } from '../support/engine.ts';
import { run } from './processes.ts';

export const RUN = `b${Date.now().toString(36)}`;
export const LABEL_KEY = 'build-images.bench';
export const LABEL = `${LABEL_KEY}=${RUN}`;
export const CLI = new URL('../../dist/pipeline/cli/main.js', import.meta.url).pathname;
/** The Debian 20.10 client. /usr/local/bin/docker, earlier in PATH, is another, newer one: never that. */
export const DOCKER = '/usr/bin/docker';
/** The builders the tool may offer, in its order of preference. */
export const CANDIDATE_BUILDERS = ['buildkit', 'classic'];
const CLOUDIFY_CONFIG = new URL('../fixtures/cloudify-config.yaml', import.meta.url);

/** Makes each absent base as a busybox root file system under its public name; returns those it made. */
export async function ensureBases(refs: string[]): Promise<string[]> {
  const made: string[] = [];
  for (const ref of new Set(refs)) {
    if (await imageInfo(ref)) continue;
    await importImage(ref, await rootfs(/cloudify/.test(ref) ? await cloudifyFiles() : { 'bin/chown': { linkname: 'busybox' } }), { [LABEL_KEY]: RUN });
    made.push(ref);
  }
  return made;
}

/** Cloudify's image as far as cm-container cares: its config.yaml (cfyuser's, 0640), rc.local (0644), cfyuser. */
async function cloudifyFiles() {
  return {
    'bin/chown': { linkname: 'busybox' },
    'etc/cloudify/config.yaml': { content: await readFile(CLOUDIFY_CONFIG, 'utf8'), mode: 0o640, uid: 1001, gid: 1001 },
    'etc/rc.d/rc.local': { content: '#!/bin/sh\ntouch /var/lock/subsys/local\n', mode: 0o644 },
    'opt/manager/resources/spec/cloudify/4.3/types.yaml': { content: 'tosca_definitions_version: cloudify_dsl_1_3\n', uid: 1001, gid: 1001 },
  };
}

export interface Builders {
  /** Those that built a probe image on this engine, in the tool's order of preference. */
  available: string[];
  skipped: { name: string; why: string }[];
}

/** Asks the tool itself: a one-file image built with `--builder X` for each candidate. */
export async function probeBuilders(base: string): Promise<Builders> {
  const help = await run({ cmd: process.execPath, args: [CLI, '--help'], cwd: os.tmpdir() });
  if (!help.includes('--builder')) return { available: ['default'], skipped: [] };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bi-bench-probe-'));
  const result: Builders = { available: [], skipped: [] };
  try {
    await writeFile(path.join(dir, 'hello.txt'), 'hello\n');
    await writeFile(
      path.join(dir, 'build.config.yaml'),
      `images:\n  probe:\n    base: ${base}\n    tags: ['bi-bench-${RUN}/probe:1']\n    steps:\n      - copy: { from: hello.txt, to: /hello.txt }\n`,
    );
    for (const name of CANDIDATE_BUILDERS) {
      try {
        await run({ cmd: process.execPath, args: [CLI, '--label', LABEL, '--builder', name, '--no-cache'], cwd: dir, env: { CI: 'true', NO_COLOR: '1' } });
        result.available.push(name);
      } catch (err) {
        const lines = (err as Error).message
          .split('\n')
          .slice(1)
          .filter((l) => l.trim());
        result.skipped.push({ name, why: lines.find((l) => /error|no |not /i.test(l))?.trim() ?? lines[0]?.trim() ?? 'failed' });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return result;
}

/**
 * Empties BuildKit's build cache, for a cold BuildKit build. The engine has no way to prune only some of
 * it: this is the whole build cache of the engine (no image is touched). The benchmark says so.
 */
export async function pruneBuildCache(): Promise<void> {
  await run({ cmd: DOCKER, args: ['builder', 'prune', '--all', '--force'], cwd: os.tmpdir() });
}

/** Removes every container and image that carries this run's label, children before their parents; counts them. */
export async function removeLabelled(): Promise<{ removed: number; left: number }> {
  const filters = JSON.stringify({ label: [LABEL] });
  for (const c of await docker.listContainers({ all: true, filters }))
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {});
  const labelled = async () => (await docker.listImages({ all: true, filters })).length;
  const removed = await labelled();
  for (let pass = 0; pass < 6 && (await labelled()) > 0; pass++) {
    for (const image of await docker.listImages({ all: true, filters })) {
      for (const tag of image.RepoTags ?? [])
        if (tag !== '<none>:<none>')
          await docker
            .getImage(tag)
            .remove()
            .catch(() => {});
      await docker
        .getImage(image.Id)
        .remove({ force: true })
        .catch(() => {});
    }
  }
  const left = await labelled();
  return { removed: removed - left, left };
}
