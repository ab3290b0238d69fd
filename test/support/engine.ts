// The test bed: a real engine, stand-ins for public base images, and a label on everything a test makes
// so that leftovers can be found and removed. No engine is a failure here, never a skip.
//
// The engine is the one BUILD_IMAGES_TEST_DOCKER_HOST names, never DOCKER_HOST or the default socket: the
// stand-ins carry public names, and a user's engine holds the real images. test/run-all.ts starts an engine
// of the tests' own and sets it (test/support/private-engine.ts); DOCKER_HOST is set to the same engine here,
// so that the commands the tests run use it too.
import Docker from 'dockerode';
import { existsSync, readFileSync } from 'node:fs';
import { buffer } from 'node:stream/consumers';
import tar from 'tar-stream';
import { connectionOptions } from '../../pipeline/engine/docker/connection.ts';
import { NO_TEST_ENGINE } from './private-engine.ts';

export const TEST_HOST = process.env['BUILD_IMAGES_TEST_DOCKER_HOST'] ?? '';
if (TEST_HOST) process.env['DOCKER_HOST'] = TEST_HOST;
const connection = TEST_HOST ? connectionOptions(process.env) : { socketPath: '/nonexistent/no-test-engine.sock' };
/** The test engine's unix socket ('' for an engine over tcp). */
export const TEST_SOCKET = 'socketPath' in connection ? connection.socketPath : '';
export const docker = new Docker(connection);
export const RUN_LABEL = 'build-images.test-run';
export const RUN_ID = `r${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
export const STAND_IN_LABEL = 'build-images.stand-in';
const BUSYBOX = '/bin/busybox';
const APPLETS = [
  'sync',
  'dirname',
  'basename',
  'sh',
  'cat',
  'ls',
  'stat',
  'sleep',
  'echo',
  'ln',
  'cp',
  'mkdir',
  'id',
  'true',
  'false',
  'chmod',
  'test',
  'env',
  'rm',
  'mv',
  'grep',
  'sed',
  'touch',
  'readlink',
  'find',
  'head',
  'tail',
  'wc',
  'printf',
  'kill',
];

export async function requireEngine(): Promise<void> {
  const problem = !TEST_HOST
    ? NO_TEST_ENGINE
    : await docker.ping().then(
        () => '',
        (err: Error) => `the test engine ${TEST_HOST} does not answer (${err.message})`,
      );
  if (problem) loudly(problem);
}

/** Throws, having said it first: uvu counts a suite whose `before` hook throws as failed, but loses the message. */
function loudly(problem: string): never {
  process.stderr.write(`\n${problem}\n`);
  throw new Error(problem);
}

export interface RootFile {
  content?: string | Buffer;
  /** A symbolic link to this target instead of a file. */
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

/** A small root file system: busybox and its applets, root and cfyuser, /tmp; plus what a test adds. */
export async function rootfs(extra: Record<string, RootFile> = {}): Promise<Buffer> {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: install Debian's busybox-static (.ci/run does)`);
  const pack = tar.pack();
  const dirs = ['bin', 'etc', 'sbin', 'tmp', 'usr', 'usr/bin', 'var', 'root'];
  for (const dir of dirs) pack.entry({ name: `${dir}/`, type: 'directory', mode: dir === 'tmp' ? 0o1777 : 0o755 });
  pack.entry({ name: 'bin/busybox', mode: 0o755 }, readFileSync(BUSYBOX));
  for (const applet of APPLETS) pack.entry({ name: `bin/${applet}`, type: 'symlink', linkname: 'busybox' });
  const files: Record<string, RootFile> = {
    'etc/passwd': { content: 'root:x:0:0:root:/root:/bin/sh\ncfyuser:x:1001:1001::/home/cfyuser:/bin/sh\n' },
    'etc/group': { content: 'root:x:0:\ncfyuser:x:1001:\n' },
    ...extra,
  };
  for (const [name, file] of Object.entries(files)) {
    const owner = { uid: file.uid ?? 0, gid: file.gid ?? 0 };
    if (file.linkname !== undefined) pack.entry({ name, type: 'symlink', linkname: file.linkname, ...owner });
    else pack.entry({ name, mode: file.mode ?? 0o644, ...owner }, file.content ?? '');
  }
  pack.finalize();
  return buffer(pack);
}

/** Imports a root file system as an image, as `docker import` does; never over an image that is not a stand-in. */
export async function importImage(ref: string, fs: Buffer, labels: Record<string, string> = {}): Promise<string> {
  await standInOrAbsent(ref);
  const [repo, tag] = splitRef(ref);
  const changes = Object.entries({ [STAND_IN_LABEL]: 'true', ...labels }).map(([k, v]) => `LABEL ${k}=${v}`);
  const stream = await docker.importImage(fs as never, { repo, tag, changes } as never);
  const text = (await buffer(stream as unknown as NodeJS.ReadableStream)).toString();
  if (/"error"/.test(text)) throw new Error(`importing ${ref}: ${text}`);
  return (await docker.getImage(ref).inspect()).Id;
}

/** The public bases the configs name, made locally under their real names when they are absent. */
export async function ensureStandIns(refs: string[] = ['ubuntu:16.04', 'alpine:latest']): Promise<void> {
  for (const ref of refs) if (!(await standInOrAbsent(ref))) await importImage(ref, await rootfs());
}

/**
 * The image under `ref` when it is one of our stand-ins, undefined when there is none; any other image is
 * refused, loudly: a real ubuntu:16.04 lacks what the tests expect (cfyuser), and it is not ours to replace.
 */
async function standInOrAbsent(ref: string) {
  if (!TEST_HOST) loudly(NO_TEST_ENGINE);
  const present = await imageInfo(ref);
  if (present && present.Config?.Labels?.[STAND_IN_LABEL] !== 'true') {
    loudly(
      `${ref} (${present.Id}) on the test engine ${TEST_HOST} is not a build-images stand-in (it has no ${STAND_IN_LABEL}=true ` +
        'label): the tests neither use nor replace it. Run them on an engine of their own (`npm test` as root starts one), ' +
        'or remove that image from the disposable engine BUILD_IMAGES_TEST_DOCKER_HOST names',
    );
  }
  return present;
}

function splitRef(ref: string): [string, string] {
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, 'latest'];
}

export async function imageInfo(ref: string) {
  return docker
    .getImage(ref)
    .inspect()
    .catch(() => undefined);
}

/** Whether that engine (the test engine unless told) has an image under this name. */
export function onEngine(ref: string, engine: Docker = docker): Promise<boolean> {
  return engine
    .getImage(ref)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}

/** Runs a command in a new container of `image` and returns what it printed; the container is removed. */
export async function runIn(image: string, cmd: string[], options: { binds?: string[] } = {}): Promise<{ code: number; output: string }> {
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: [],
    Cmd: cmd,
    Labels: { [RUN_LABEL]: RUN_ID },
    HostConfig: { NetworkMode: 'none', Binds: options.binds },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const logs = (await container.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    return { code: StatusCode, output: demux(logs) };
  } finally {
    await container.remove({ force: true });
  }
}

/** The engine's log stream frames each chunk with an 8-byte header. */
export function demux(raw: Buffer): string {
  let out = '';
  for (let i = 0; i + 8 <= raw.length;) {
    const size = raw.readUInt32BE(i + 4);
    out += raw.subarray(i + 8, i + 8 + size).toString();
    i += 8 + size;
  }
  return out;
}

export async function containersOfAncestor(imageId: string): Promise<number> {
  const all = await docker.listContainers({ all: true });
  return all.filter((c) => c.ImageID === imageId || c.Image === imageId).length;
}

export async function containerCount(): Promise<number> {
  return (await docker.listContainers({ all: true })).length;
}

/** Removes every image and container this run labelled. */
export async function cleanup(): Promise<void> {
  if (!TEST_HOST) return; // no engine, nothing made; requireEngine has said why
  const filters = JSON.stringify({ label: [`${RUN_LABEL}=${RUN_ID}`] });
  for (const c of await docker.listContainers({ all: true, filters }))
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {});
  for (const image of await docker.listImages({ filters })) {
    for (const tag of image.RepoTags ?? [])
      if (tag !== '<none>:<none>')
        await docker
          .getImage(tag)
          .remove({ force: true })
          .catch(() => {});
    await docker
      .getImage(image.Id)
      .remove({ force: true })
      .catch(() => {});
  }
}

/** A tag in this run's own namespace, so that runs and real images never collide. */
export function testTag(name: string, tag = 'latest'): string {
  return `bi-test-${RUN_ID}/${name}:${tag}`;
}
