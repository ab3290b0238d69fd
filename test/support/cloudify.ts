// A stand-in for cloudifyplatform/community:18.7.23, shaped as cm-container's scripts see the real one:
// Cloudify's installer's /etc/cloudify/config.yaml, CentOS 7's rc.local (0644), cfyuser, the state
// directories, an init that runs rc.local, a Python at /usr/bin/python, and stand-ins of the manager's REST
// API, of `cfy` and of `systemctl` that record what they were asked.
//
// The Python is the host's own /usr/bin/python3 with the shared libraries ldd lists and its standard library,
// copied to the paths it looks for them at. The scripts under test use only what Python 2.7 also has.
import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { importImage, rootfs, RUN_ID, RUN_LABEL, type RootFile } from './engine.ts';

export const CLOUDIFY_BASE = 'cloudifyplatform/community:18.7.23';
const FIXTURES = new URL('../fixtures/cloudify/', import.meta.url);
export const fixture = (name: string) => readFileSync(new URL(name, FIXTURES), 'utf8');
const HOST_PYTHON = '/usr/bin/python3';
const SKIPPED = new Set(['test', 'idlelib', 'tkinter', 'ensurepip', 'lib2to3', 'pydoc_data', 'turtledemo', '__pycache__', 'site-packages', 'dist-packages']);

/** The host's python3 as /usr/bin/python of the root file system, with what it needs to start. */
function hostPython(): Record<string, RootFile> {
  const binary = realpathSync(HOST_PYTHON);
  const version = path.basename(binary).replace(/^python/, '');
  const files: Record<string, RootFile> = {
    'usr/bin/python': { content: readFileSync(binary), mode: 0o755 },
    'usr/bin/python3': { linkname: 'python' },
  };
  const ldd = execFileSync('ldd', [binary], { encoding: 'utf8' });
  for (const match of ldd.matchAll(/(\/\S+)/g)) {
    const lib = match[1]!;
    files[lib.slice(1)] = { content: readFileSync(realpathSync(lib)), mode: 0o755 };
  }
  const stdlib = `/usr/lib/python${version}`;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (SKIPPED.has(name) || name.startsWith('config-')) continue;
      const full = path.join(dir, name);
      const stat = lstatSync(full);
      if (stat.isDirectory()) walk(full);
      else if (stat.isSymbolicLink())
        continue; // Debian's sitecustomize points into /etc: not needed
      else files[full.slice(1)] = { content: readFileSync(full), mode: stat.mode & 0o777 };
    }
  };
  walk(stdlib);
  return files;
}

export interface StandInOptions {
  /** config.yaml as the base has it (default: the installer's, from the fixtures). */
  config?: string;
}

/** Imports the stand-in base under its real name, labelled with the run so that cleanup removes it. */
export async function cloudifyStandIn(options: StandInOptions = {}): Promise<void> {
  const cfyuser = { uid: 1001, gid: 1001 };
  const postgres = { uid: 26, gid: 26 };
  const fs = await rootfs({
    ...hostPython(),
    'etc/passwd': { content: 'root:x:0:0:root:/root:/bin/sh\npostgres:x:26:26::/var/lib/pgsql:/bin/sh\ncfyuser:x:1001:1001::/home/cfyuser:/bin/sh\n' },
    'etc/group': { content: 'root:x:0:\npostgres:x:26:\ncfyuser:x:1001:\n' },
    'etc/cloudify/config.yaml': { content: options.config ?? fixture('config.yaml'), mode: 0o640, ...cfyuser },
    'etc/rc.d/rc.local': { content: '#!/bin/bash\n# CentOS 7: runs once at the end of start-up, when executable\ntouch /var/lock/subsys/local\n', mode: 0o644 },
    'bin/tee': { linkname: 'busybox' },
    'bin/bash': { content: '#!/bin/sh\nexec /bin/sh "$@"\n', mode: 0o755 }, // busybox has no bash applet
    'var/lock/subsys/.keep': { content: '' },
    'var/run/.keep': { content: '' },
    'var/log/.keep': { content: '' },
    'sbin/init': { content: fixture('init'), mode: 0o755 },
    'usr/bin/systemctl': { content: fixture('systemctl'), mode: 0o755 },
    'usr/bin/cfy': { content: fixture('cfy'), mode: 0o755 },
    'opt/standin/manager.py': { content: fixture('manager.py') },
    'var/lib/pgsql/9.5/data/PG_VERSION': { content: '9.5\n', mode: 0o600, ...postgres },
    'var/lib/pgsql/9.5/data/base/1/1259': { content: 'catalog', mode: 0o600, ...postgres },
    'var/lib/pgsql/9.5/data/provider-context.json': { content: fixture('provider-context.json'), mode: 0o600, ...postgres },
    'opt/manager/resources/spec/cloudify/4.3/types.yaml': { content: 'tosca_definitions_version: cloudify_dsl_1_3\n', ...cfyuser },
    'opt/manager/resources/latest-spec': { linkname: 'spec/cloudify/4.3' },
    'opt/mgmtworker/env/plugins/installed.txt': { content: 'none\n', ...cfyuser },
    'opt/mgmtworker/work/deployments/.keep': { content: '', ...cfyuser },
  });
  await importImage(CLOUDIFY_BASE, fs, { [RUN_LABEL]: RUN_ID });
}

export interface TypeFile {
  url: string;
  /** Where the image holds it. */
  to: string;
}

/** cm-container's fetched type files and the resolver rules its build puts first, as build.config.yaml declares them. */
export function cmDeclaration(given: readonly Record<string, unknown>[]): { typeFiles: TypeFile[]; rules: Record<string, string>[] } {
  // As written in the file ({fetch: {...}}), or as the tool's schema gives them ({kind: 'fetch', value: {...}}).
  const steps = given.map((step) => (typeof step['kind'] === 'string' && 'value' in step ? { [step['kind']]: step['value'] } : step));
  const typeFiles = steps.flatMap((step) => ('fetch' in step ? [step['fetch'] as TypeFile] : [])).map(({ url, to }) => ({ url, to }));
  const edit = steps
    .map((step) => step['edit'] as { prependToList?: { at: string; items: Record<string, string>[] } } | undefined)
    .find((e) => e?.prependToList);
  if (!edit?.prependToList) throw new Error('cm-container has no prependToList edit');
  return { typeFiles, rules: edit.prependToList.items };
}

/** An import URL as Cloudify's resolver maps it: the first rule whose key is a prefix of it; its value replaces that prefix. */
export function resolveImport(url: string, rules: readonly Record<string, string>[]): string | undefined {
  for (const rule of rules) {
    for (const [prefix, target] of Object.entries(rule)) if (url.startsWith(prefix)) return target + url.slice(prefix.length);
  }
  return undefined;
}
