// The baseline must do the same work: after the graph part, each image of every side is compared with
// build-images' own, by what a user would check (every file's path, owner, mode and content; the
// entrypoint, command, working directory and ports). A difference is printed, not hidden.
import { docker, runIn } from '../support/engine.ts';

// Paths the runtime mounts into every container, and the kernel's file systems, are left out. md5sum and
// stat may be busybox applets only (the stand-ins link a few).
const PRUNE = '-xdev \\( -path /proc -o -path /sys -o -path /dev -o -path /etc/hosts -o -path /etc/hostname -o -path /etc/resolv.conf \\) -prune';
const FINGERPRINT = [
  'md5=$(command -v md5sum || echo "busybox md5sum"); st=$(command -v stat || echo "busybox stat")',
  `find / ${PRUNE} -o -type f -exec $md5 {} +`,
  `find / ${PRUNE} -o -exec $st -c "%n %u:%g %a %F" {} +`,
].join('; ');

async function fingerprint(ref: string): Promise<string[]> {
  const { Config } = await docker.getImage(ref).inspect();
  // `CMD []` is [] to the classic builder and null to BuildKit: the same to a user.
  const config = JSON.stringify({
    Entrypoint: Config.Entrypoint,
    Cmd: Config.Cmd?.length ? Config.Cmd : null,
    WorkingDir: Config.WorkingDir || '/',
    ExposedPorts: Config.ExposedPorts ?? {},
  });
  const { output } = await runIn(ref, ['sh', '-c', FINGERPRINT]);
  return [config, ...output.split('\n').filter(Boolean).sort()];
}

/** For each image, whether the other sides' image has the same files and config as the reference's. */
export async function compareImages(reference: Record<string, string>, others: Record<string, Record<string, string>>): Promise<string[]> {
  const lines: string[] = [];
  for (const [image, ref] of Object.entries(reference)) {
    const expected = await fingerprint(ref);
    for (const [side, refs] of Object.entries(others)) {
      const actual = await fingerprint(refs[image]!);
      const missing = expected.filter((l) => !actual.includes(l));
      const extra = actual.filter((l) => !expected.includes(l));
      lines.push(
        missing.length || extra.length
          ? `${image}: ${side} DIFFERS: ${[...missing.slice(0, 6).map((l) => `- ${l}`), ...extra.slice(0, 6).map((l) => `+ ${l}`)].join('; ')}`
          : `${image}: ${side} has the same files, owners, modes, contents and config`,
      );
    }
  }
  return lines;
}
