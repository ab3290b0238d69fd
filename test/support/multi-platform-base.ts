// A multi-platform stand-in base in the test registry: an OCI image index with a linux/amd64 and a
// linux/arm64 image, each a busybox root of its own architecture. The amd64 one is the machine's
// busybox-static; the arm64 one is Debian's busybox-static for arm64, fetched with `apt-get download` under
// an apt configuration of its own (APT::Architecture=arm64; the machine's sources and state untouched) and
// unpacked with `dpkg-deb -x`, kept in the tools cache as oci-tools.ts keeps cosign. Pushed through the
// registry's HTTP API, blob by blob, as any client pushes.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { fetchDebianPackages, TOOLS } from './oci-tools.ts';
import type { Registry } from './registry.ts';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** ELF e_machine of each architecture: what a consumer checks a binary is built for. */
export const ELF_MACHINE = { amd64: 62, arm64: 183 } as const;

/** e_machine of an ELF file (little-endian), or undefined when it is no ELF. */
export function elfMachine(bytes: Buffer): number | undefined {
  if (bytes.length < 20 || bytes.readUInt32BE(0) !== 0x7f454c46) return undefined;
  return bytes.readUInt16LE(18);
}

/** Debian's arm64 busybox-static binary, fetched once per machine. */
export async function arm64Busybox(): Promise<string> {
  const found = keptBusybox();
  if (found) return found;
  await fetchDebianPackages(['busybox-static:arm64'], 'arm64');
  const fetched = keptBusybox();
  if (!fetched) throw new Error("Debian's busybox-static for arm64 could not be had (see above)");
  return fetched;
}

function keptBusybox(): string | undefined {
  const names = existsSync(TOOLS) ? readdirSync(TOOLS).sort() : [];
  return (
    names
      .filter((n) => n.startsWith('busybox-static_') && n.endsWith('_arm64'))
      // sid's package has it in usr/bin (merged /usr), older ones in bin.
      .flatMap((n) => [path.join(TOOLS, n, 'usr/bin/busybox'), path.join(TOOLS, n, 'bin/busybox')])
      .filter((p) => existsSync(p) && elfMachine(readFileSync(p)) === ELF_MACHINE.arm64)
      .at(-1)
  );
}

/** A busybox root: the binary, `sh` linked to it, /etc/passwd. */
async function busyboxLayer(busybox: string): Promise<Buffer> {
  const pack = tar.pack();
  const mtime = new Date(0);
  for (const dir of ['bin', 'etc', 'tmp']) pack.entry({ name: `${dir}/`, type: 'directory', mode: dir === 'tmp' ? 0o1777 : 0o755, mtime });
  pack.entry({ name: 'bin/busybox', mode: 0o755, mtime }, readFileSync(busybox));
  pack.entry({ name: 'bin/sh', type: 'symlink', linkname: 'busybox', mtime });
  pack.entry({ name: 'etc/passwd', mode: 0o644, mtime }, 'root:x:0:0:root:/root:/bin/sh\n');
  pack.finalize();
  return gzipSync(await buffer(pack));
}

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * Pushes `repository:tag` as an index of linux/amd64 and linux/arm64 busybox images; the index's digest and
 * each platform's manifest digest.
 */
export async function pushMultiPlatformBase(
  registry: Registry,
  repository: string,
  tag: string,
): Promise<{ index: string; manifests: Record<string, string> }> {
  const auth = registry.authorization(`/v2/${repository}/blobs/uploads/`);
  const putBlob = async (bytes: Buffer): Promise<string> => {
    const digest = sha256(bytes);
    const started = await fetch(`http://${registry.address}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers: { authorization: auth } });
    if (started.status !== 202) throw new Error(`starting an upload to ${repository}: HTTP ${started.status}`);
    const location = new URL(started.headers.get('location')!, `http://${registry.address}`);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, {
      method: 'PUT',
      headers: { authorization: auth, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(bytes),
    });
    if (put.status !== 201) throw new Error(`uploading ${digest} to ${repository}: HTTP ${put.status}`);
    return digest;
  };
  const putManifest = async (reference: string, mediaType: string, body: Buffer): Promise<string> => {
    const put = await fetch(`http://${registry.address}/v2/${repository}/manifests/${reference}`, {
      method: 'PUT',
      headers: { authorization: auth, 'content-type': mediaType },
      body: new Uint8Array(body),
    });
    if (put.status !== 201) throw new Error(`putting ${repository}:${reference}: HTTP ${put.status} ${await put.text()}`);
    return sha256(body);
  };
  const binaries = { amd64: '/bin/busybox', arm64: await arm64Busybox() };
  const manifests: Record<string, string> = {};
  const entries = [];
  for (const [architecture, binary] of Object.entries(binaries)) {
    const layer = await busyboxLayer(binary);
    const diffId = sha256(gunzipSync(layer));
    const config = Buffer.from(
      JSON.stringify({
        architecture,
        os: 'linux',
        config: { Env: ['PATH=/bin'], Labels: { 'build-images.stand-in': 'true' } },
        rootfs: { type: 'layers', diff_ids: [diffId] },
        history: [{ created_by: `busybox-static for ${architecture} (build-images test stand-in)` }],
      }),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: await putBlob(config), size: config.length },
        layers: [{ mediaType: OCI_LAYER, digest: await putBlob(layer), size: layer.length }],
      }),
    );
    const digest = await putManifest(sha256(manifest), OCI_MANIFEST, manifest);
    manifests[`linux/${architecture}`] = digest;
    entries.push({ mediaType: OCI_MANIFEST, digest, size: manifest.length, platform: { architecture, os: 'linux' } });
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries }));
  return { index: await putManifest(tag, OCI_INDEX, index), manifests };
}
