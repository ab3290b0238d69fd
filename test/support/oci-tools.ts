// cosign (3.x), oras and docker-buildx (its `imagetools inspect`), the consumers' tools, for the tests that
// read back what a deploy attached: taken from Debian sid's packages (bookworm has neither cosign nor oras;
// trixie's cosign is 2.5), with `apt-get download` under an apt configuration of their own (own sources
// list, state and cache under /var/cache: the machine's apt sources are never changed), then `dpkg-deb -x`
// into the cache. All are static Go programs (libc >= 2.34). Fetched once per machine; `.ci/run` fetches
// them before the tests (node --import tsx test/support/oci-tools.ts).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { debianMirror } from './engine-root.ts';

export const TOOLS = process.env['BUILD_IMAGES_TEST_TOOLS'] || '/var/cache/build-images-test/tools';
const PACKAGES = ['cosign', 'oras', 'docker-buildx'] as const;
type Tool = (typeof PACKAGES)[number];

/** The tools' paths, fetched now when the cache lacks them; throws, saying why, when they cannot be had. */
export async function ociTools(log: (line: string) => void = () => {}): Promise<Record<Tool, string>> {
  const found = kept();
  if (found) return found;
  const missing = PACKAGES.filter((tool) => !keptTool(tool));
  log(`fetching ${missing.join(' and ')} from ${debianMirror()} sid (apt-get download into ${TOOLS})`);
  // Only the packages a kept version is missing of: one more tool does not fetch the others again.
  await fetchDebianPackages(missing);
  const fetched = kept();
  if (!fetched) throw new Error(`${PACKAGES.join(' and ')} could not be had from Debian sid (see above)`);
  return fetched;
}

/**
 * Debian's packages (`name` or `name:arch`) of a suite (sid unless told) downloaded under an apt
 * configuration of their own (own sources, state and cache; the machine's apt sources are never changed)
 * and unpacked into TOOLS, one folder per package version. `arch`: the architecture apt is told it serves
 * (arm64 for a foreign binary).
 */
export async function fetchDebianPackages(packages: readonly string[], arch?: string, suite = 'sid'): Promise<void> {
  const work = path.join(TOOLS, `.fetching-${arch ?? 'host'}-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  try {
    const apt = path.join(work, 'apt');
    for (const dir of ['state/lists/partial', 'cache/archives/partial', 'debs']) await mkdir(path.join(apt, dir), { recursive: true });
    const only = arch ? `arch=${arch} ` : '';
    await writeFile(path.join(apt, 'sources.list'), `deb [${only}signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${debianMirror()} ${suite} main\n`);
    const options = [
      `Dir::Etc::SourceList=${apt}/sources.list`,
      'Dir::Etc::SourceParts=/nonexistent',
      `Dir::State=${apt}/state`,
      `Dir::Cache=${apt}/cache`,
      'Dir::State::status=/dev/null',
      ...(arch ? [`APT::Architecture=${arch}`, `APT::Architectures=${arch}`] : []),
      'Acquire::Check-Valid-Until=false',
      'APT::Sandbox::User=root',
    ].flatMap((o) => ['-o', o]);
    await run('apt-get', [...options, '-qq', 'update'], work);
    await run('apt-get', [...options, '-qq', 'download', ...packages], path.join(apt, 'debs'));
    for (const deb of readdirSync(path.join(apt, 'debs')).filter((n) => n.endsWith('.deb'))) {
      const name = deb.replace(/\.deb$/, '');
      await run('dpkg-deb', ['-x', path.join(apt, 'debs', deb), path.join(work, name)], work);
      // Renamed into place whole: a run killed half-way leaves no half tool that a later run would take.
      if (!existsSync(path.join(TOOLS, name))) await rename(path.join(work, name), path.join(TOOLS, name));
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The newest kept version of each tool; undefined when one is missing. */
function kept(): Record<Tool, string> | undefined {
  const found = PACKAGES.map((tool) => [tool, keptTool(tool)] as const);
  return found.every(([, file]) => file) ? (Object.fromEntries(found) as Record<Tool, string>) : undefined;
}

// Where each package puts its program: docker-buildx is a CLI plugin (it also runs alone, as `buildx`).
const PROGRAMS: Record<Tool, { file: string; version?: RegExp }> = {
  // 3.x: 2.x reads no bundles by referrer.
  cosign: { file: 'usr/bin/cosign', version: /^[3-9]\./ },
  oras: { file: 'usr/bin/oras' },
  'docker-buildx': { file: 'usr/libexec/docker/cli-plugins/docker-buildx' },
};

function keptTool(tool: Tool): string | undefined {
  const names = existsSync(TOOLS) ? readdirSync(TOOLS).sort() : [];
  const { file, version = /./ } = PROGRAMS[tool];
  return names
    .filter((n) => n.startsWith(`${tool}_`) && version.test(n.slice(tool.length + 1)))
    .map((n) => path.join(TOOLS, n, file))
    .filter((p) => existsSync(p))
    .at(-1);
}

function run(file: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${file} ${args.at(-1)} failed (${code}): ${stderr.trim().slice(-500)}`))));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const tools = await ociTools((line) => process.stdout.write(`${line}\n`));
  for (const [tool, file] of Object.entries(tools)) process.stdout.write(`${tool}: ${file}\n`);
}
