// What a Go binary the run compiled is made of, asked of Go itself: `go version -m` (the Go version, the main
// module, each dependency module with its version and h1: sum, the build settings such as -ldflags). A
// GOPATH-era checkout (px-installer, govendor) has no modules: `go version -m` lists no dependency. There
// the packages the binary links are asked of `go list -deps` in the same GOPATH set-up the command ran in,
// and each vendored one takes its revision from govendor's vendor/vendor.json.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { RunError } from '../model/errors.ts';
import type { HostCommand } from '../model/host-command.ts';

const run = promisify(execFile);

export interface GoModule {
  path: string;
  version: string;
  /** go.sum's `h1:` hash: a SHA-256 over the module's file tree, not of any file in the image. */
  sum?: string;
}

/** A package of govendor's vendor/ that the binary links, with what vendor.json says of it. */
export interface VendoredPackage {
  path: string;
  /** The vendor.json entry that covers it (the same path, or a tree above it). */
  entry?: string;
  revision?: string;
  revisionTime?: string;
  /** govendor's checksum: a base64 SHA1 over the package's files, not of any file in the image. */
  checksumSHA1?: string;
}

export interface GoBinaryInfo {
  goVersion: string;
  /** The main package's import path. */
  package: string;
  main?: GoModule;
  deps: GoModule[];
  /** `build` lines: -ldflags, CGO_ENABLED, GOOS, -trimpath... */
  settings: [key: string, value: string][];
  /** GOPATH mode: the vendored packages it links (module mode: undefined; its modules are `deps`). */
  vendored?: VendoredPackage[];
}

/** `go version -m`'s answer, parsed. */
export function parseVersionM(text: string): Omit<GoBinaryInfo, 'vendored'> {
  const lines = text.split('\n');
  const goVersion = /:\s+(go\S+)\s*$/.exec(lines[0] ?? '')?.[1] ?? 'unknown';
  const info: Omit<GoBinaryInfo, 'vendored'> = { goVersion, package: '', deps: [], settings: [] };
  for (const line of lines.slice(1)) {
    const [kind, ...rest] = line.replace(/^\t/, '').split('\t');
    if (kind === 'path') info.package = rest[0] ?? '';
    else if (kind === 'mod' && rest[0]) info.main = module(rest);
    else if (kind === 'dep' && rest[0]) info.deps.push(module(rest));
    else if (kind === '=>' && rest[0] && info.deps.length > 0) info.deps[info.deps.length - 1] = module(rest);
    else if (kind === 'build' && rest[0]) {
      const at = rest[0].indexOf('=');
      if (at > 0) info.settings.push([rest[0].slice(0, at), unquote(rest[0].slice(at + 1))]);
    }
  }
  return info;
}

const module = ([modPath, version, sum]: string[]): GoModule => ({ path: modPath!, version: version ?? '', ...(sum ? { sum } : {}) });
const unquote = (value: string) => (value.startsWith('"') && value.endsWith('"') ? (JSON.parse(value) as string) : value);

/** govendor's vendor.json, read as what it may be: any file, so only well-shaped string fields are taken. */
export function parseVendorJson(text: string): Omit<VendoredPackage, 'entry'>[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  const packages = (parsed as { package?: unknown }).package;
  if (!Array.isArray(packages)) return [];
  const str = (value: unknown) => (typeof value === 'string' && value.length < 1000 ? value : undefined);
  return packages.flatMap((p: Record<string, unknown>) => {
    const pkgPath = str(p?.['path']);
    if (!pkgPath) return [];
    const revision = str(p['revision']);
    const revisionTime = str(p['revisionTime']);
    const checksumSHA1 = str(p['checksumSHA1']);
    return [{ path: pkgPath, ...(revision ? { revision } : {}), ...(revisionTime ? { revisionTime } : {}), ...(checksumSHA1 ? { checksumSHA1 } : {}) }];
  });
}

/** Of the packages `go list -deps` names, those under a vendor/ directory, each with its vendor.json entry. */
export function vendoredPackages(listed: readonly string[], vendorJson: readonly Omit<VendoredPackage, 'entry'>[]): VendoredPackage[] {
  const found: VendoredPackage[] = [];
  for (const importPath of listed) {
    const at = importPath.lastIndexOf('/vendor/');
    if (at < 0) continue;
    const pkg = importPath.slice(at + '/vendor/'.length);
    // govendor lists a package, or a tree (`"tree": true`) that covers those under it: the longest match wins.
    const entry = vendorJson.filter((e) => pkg === e.path || pkg.startsWith(`${e.path}/`)).sort((a, b) => b.path.length - a.path.length)[0];
    found.push(entry ? { ...entry, path: pkg, entry: entry.path } : { path: pkg });
  }
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * The binary's modules; in GOPATH mode also the vendored packages it links. `command` is the command as it
 * ran (resolveCommand): its directory and environment are the GOPATH set-up.
 */
export async function goBinaryInfo(binary: string, command: HostCommand, env: NodeJS.ProcessEnv = process.env): Promise<GoBinaryInfo> {
  const goEnv = { ...env, ...command.env };
  const asked = await go(['version', '-m', binary], command.cwd, goEnv, binary);
  const parsed = parseVersionM(asked);
  const recorded = new Set(parsed.settings.map(([key]) => key));
  const info = { ...parsed, settings: [...parsed.settings, ...commandFlags(command).filter(([key]) => !recorded.has(key))] };
  if (command.env['GO111MODULE'] !== 'off' || !command.gopath) return info;
  const listed = await go(['list', '-deps', '-f', '{{if not .Standard}}{{.ImportPath}}{{end}}', '.'], command.cwd, goEnv, binary);
  const vendorJson = await readFile(path.join(command.gopath.checkout, 'vendor', 'vendor.json'), 'utf8').then(parseVendorJson, () => []);
  return { ...info, vendored: vendoredPackages(listed.split('\n').filter(Boolean), vendorJson) };
}

async function go(args: string[], cwd: string, env: NodeJS.ProcessEnv, binary: string): Promise<string> {
  try {
    const { stdout } = await run('go', args, { cwd, env, maxBuffer: 16 * 1024 * 1024, timeout: 120_000 });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const why = e.code === 'ENOENT' ? 'go is not on PATH' : (e.stderr?.trim().split('\n')[0] ?? e.message);
    throw new RunError(`the SBOM of ${path.basename(binary)}: go ${args.slice(0, 2).join(' ')} failed: ${why}`, '--sbom=false builds without SBOMs');
  }
}

const FLAGS = ['-ldflags', '-gcflags', '-tags', '-asmflags'];

/**
 * The build flags of the command line. Go leaves -ldflags out of the binary when it builds with -trimpath
 * (they may hold paths): PXTAG's `-X main.PXTAG=…` is known only from the command that ran.
 */
export function commandFlags(command: Pick<HostCommand, 'run'>): [string, string][] {
  if (typeof command.run === 'string') return [];
  const flags: [string, string][] = [];
  command.run.forEach((word, i) => {
    const flag = FLAGS.find((f) => word === f || word === `-${f}` || word.startsWith(`${f}=`) || word.startsWith(`-${f}=`));
    if (!flag) return;
    const at = word.indexOf('=');
    const value = at >= 0 ? word.slice(at + 1) : command.run[i + 1];
    if (value !== undefined) flags.push([flag, value]);
  });
  return flags;
}
