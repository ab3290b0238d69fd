// The test bed: a real engine, stand-ins for public base images, and a label on everything a test makes
// so that leftovers can be found and removed. No engine is a failure here, never a skip.
import Docker from 'dockerode';
import { existsSync, readFileSync } from 'node:fs';
import { buffer } from 'node:stream/consumers';
import tar from 'tar-stream';

export const docker = new Docker({ socketPath: process.env['DOCKER_HOST']?.replace(/^unix:\/\//, '') || '/var/run/docker.sock' });
export const RUN_LABEL = 'build-images.test-run';
export const RUN_ID = `r${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const STAND_IN_LABEL = 'build-images.stand-in';
const BUSYBOX = '/bin/busybox';
const APPLETS = ['sync', 'dirname', 'basename', 'sh', 'cat', 'ls', 'stat', 'sleep', 'echo', 'ln', 'cp', 'mkdir', 'id', 'true', 'false', 'chmod', 'test', 'env', 'rm', 'mv', 'grep', 'sed', 'touch', 'readlink', 'find', 'head', 'tail', 'wc', 'printf', 'kill'];

export async function requireEngine(): Promise<void> {
  try {
    await docker.ping();
  } catch (err) {
    throw new Error(`no Docker engine answers (${(err as Error).message}): start dockerd first (.ci/run does)`, { cause: err });
  }
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

/** Imports a root file system as an image, as `docker import` does. */
export async function importImage(ref: string, fs: Buffer, labels: Record<string, string> = {}): Promise<string> {
  const [repo, tag] = splitRef(ref);
  const changes = Object.entries({ [STAND_IN_LABEL]: 'true', ...labels }).map(([k, v]) => `LABEL ${k}=${v}`);
  const stream = await docker.importImage(fs as never, { repo, tag, changes } as never);
  const text = (await buffer(stream as unknown as NodeJS.ReadableStream)).toString();
  if (/"error"/.test(text)) throw new Error(`importing ${ref}: ${text}`);
  return (await docker.getImage(ref).inspect()).Id;
}

/** The public bases the configs name, made locally under their real names when they are absent. */
export async function ensureStandIns(refs: string[] = ['ubuntu:16.04', 'alpine:latest']): Promise<void> {
  for (const ref of refs) {
    const present = await docker.getImage(ref).inspect().catch(() => undefined);
    if (!present) await importImage(ref, await rootfs());
  }
}

function splitRef(ref: string): [string, string] {
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, 'latest'];
}

export async function imageInfo(ref: string) {
  return docker.getImage(ref).inspect().catch(() => undefined);
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
  for (let i = 0; i + 8 <= raw.length; ) {
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
  const filters = JSON.stringify({ label: [`${RUN_LABEL}=${RUN_ID}`] });
  for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
  for (const image of await docker.listImages({ filters })) {
    for (const tag of image.RepoTags ?? []) if (tag !== '<none>:<none>') await docker.getImage(tag).remove({ force: true }).catch(() => {});
    await docker.getImage(image.Id).remove({ force: true }).catch(() => {});
  }
}

/** A tag in this run's own namespace, so that runs and real images never collide. */
export function testTag(name: string, tag = 'latest'): string {
  return `bi-test-${RUN_ID}/${name}:${tag}`;
}
