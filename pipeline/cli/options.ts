// The command line's options, as a table, and the texts --help prints about them.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG_FILE } from '../model/project-files.ts';
import { UserError } from '../model/errors.ts';
import { imageRefProblem } from '../model/image-ref.ts';
import type { LocalCacheExport, RegistryCacheExport } from '../model/cache-export.ts';
import { PLATFORM_PATTERN } from '../model/platform.ts';

export const OPTIONS = {
  file: { type: 'string', short: 'f', default: DEFAULT_CONFIG_FILE },
  set: { type: 'string', multiple: true, default: [] as string[] },
  'dry-run': { type: 'boolean', short: 'n', default: false },
  json: { type: 'boolean', default: false },
  verbose: { type: 'boolean', short: 'v', default: false },
  concurrency: { type: 'string', short: 'j' },
  'keep-going': { type: 'boolean', short: 'k', default: false },
  'push-partial': { type: 'boolean', default: false },
  'no-cache': { type: 'boolean', default: false },
  pull: { type: 'boolean', default: false },
  label: { type: 'string', multiple: true, default: [] as string[] },
  offline: { type: 'boolean', default: false },
  'update-lock': { type: 'boolean', default: false },
  builder: { type: 'string' },
  'cache-limit': { type: 'string', default: '4g' },
  'no-registry-check': { type: 'boolean', default: false },
  'cache-from': { type: 'string', multiple: true, default: [] as string[] },
  'cache-to': { type: 'string' },
  platform: { type: 'string' },
  'metadata-file': { type: 'string' },
  junit: { type: 'string' },
  sbom: { type: 'string' },
  provenance: { type: 'string' },
  ci: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', short: 'V', default: false },
} as const;

export const OPTION_HELP = `Options:
  -f, --file FILE        the config (default: build.config.yaml)
      --set NAME=VALUE   set a variable (beats the environment and the default); repeatable. Never written to a
                         file, but it reaches the images: a token goes in the config's secrets: (an environment
                         variable or a file), which only a RUN that names it sees
  -n, --dry-run          print the plan (bases, dependencies, tags, Dockerfiles); no Docker call
      --json             NDJSON events on stdout; human output goes to stderr
  -v, --verbose          stream every line of build output
  -j, --concurrency N    images built at once (default: 2)
  -k, --keep-going       after a failure, go on building what does not depend on it and running other commands
      --push-partial     deploy the images that built although others failed (else nothing is pushed)
      --no-cache         rebuild even what is up to date, without the engine's layer cache
      --pull             pull the base images even when they are present
      --label KEY=VALUE  add a label to every image built (not part of its digest); repeatable
      --offline          fetch nothing: fetched files come from the cache only
      --update-lock      accept new digests of fetched files into build-images.lock.json
      --builder NAME     buildkit (the default where the engine has it) or classic
      --cache-limit SIZE a run that builds prunes BuildKit's build cache down to this, at most every 10 minutes (default 4g; off: never)
      --no-registry-check  build what deploy pushes even when its registry already holds an image of the same inputs
      --cache-from REF   an image or exported cache whose layers every build may reuse (type=registry,ref=REF too),
                         or a cache directory (type=local,src=DIR); repeatable
      --cache-to inline|none|type=registry,ref=REF[,mode=min|max]|type=local,dest=DIR[,mode=min|max]
                         inline cache metadata in the images, none, or the cache exported to a registry tag or a
                         directory (BuildKit on the containerd image store; one image a run) (default: each image's cache.to)
      --platform LIST    linux/amd64,linux/arm64: the platforms of every image of the run, over the config's
                         (several: one image index; BuildKit on the containerd image store)
      --metadata-file FILE
                         what the run did per image (status, tags pushed, registry digests), bake's shape
      --junit FILE       a JUnit XML report: a test case per image and per host command
      --sbom=false       no SBOM for any image (SPDX and CycloneDX; default: as the config's attestations say, on)
      --provenance=false|min|max
                         no provenance, or its mode for every image (default: as the config says, min)
      --ci KIND          github or gitlab: annotations, log groups, a job summary (default: from GITHUB_ACTIONS
                         or GITLAB_CI); none: plain lines
  -h, --help             this text, with the targets of the config
  -V, --version          the version

Exit codes: 0 success, 1 a build, command or push failed, 2 usage or config error, 130 interrupted.`;

export const EXAMPLES = `Examples:
  build-images                              build every image
  build-images --dry-run px-oci-mon         show what px-oci-mon would be built from
  build-images all px-container deploy      compile, build the px containers, push them
  build-images --set DOCKER_HUB_TAG=1.2 px-container deploy deploy_latest
  build-images --metadata-file images.json --junit images.xml px-container deploy   in CI`;

export type Options = ReturnType<typeof parseOptions>['values'];

export function parseOptions(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UserError({ message: (err as Error).message.split('\n')[0]!, hint: 'build-images --help lists the options' });
  }
}

/** `4g`, `500m`, `1024` (bytes) or `off`, as bytes; undefined for off. */
export function parseSize(text: string, option: string): number | undefined {
  if (text === 'off') return undefined;
  const match = /^(\d+(?:\.\d+)?)([kmgt]?)i?b?$/i.exec(text.trim());
  if (!match) throw new UserError({ message: `${option} ${text}: expected a size like 4g, 500m or 1024, or off` });
  const power = ' kmgt'.indexOf(match[2]!.toLowerCase() || ' ');
  return Math.round(Number(match[1]) * 1024 ** power);
}

export const CI_KINDS = ['github', 'gitlab', 'none'] as const;
export type CiKind = (typeof CI_KINDS)[number];

/** Which CI's log conventions to follow: --ci, else GitHub Actions' or GitLab CI's own variable. */
export function ciKind(option: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): CiKind {
  if (option !== undefined) {
    if (!(CI_KINDS as readonly string[]).includes(option)) throw new UserError({ message: `--ci ${option}: expected ${CI_KINDS.join(', ')}` });
    return option as CiKind;
  }
  if (env['GITHUB_ACTIONS'] === 'true') return 'github';
  if (env['GITLAB_CI'] === 'true') return 'gitlab';
  return 'none';
}

export function keyValues(items: readonly string[], option: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UserError({ message: `${option} ${item}: expected NAME=VALUE` });
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** buildx's `type=T,key=value,...`, the keys as written. */
function cacheFields(item: string): Record<string, string> {
  return Object.fromEntries(item.split(',').map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)]));
}

/** What --cache-from names: images or exported caches in a registry, and cache directories (absolute). */
export interface CacheFromOption {
  refs: string[];
  dirs: string[];
}

/** A directory given on the command line, from where the command runs, as buildx takes it. */
const directory = (dir: string, cwd: string) => path.resolve(cwd, dir);

/** `type=local,src=DIR`: buildx's digest and tag (which manifest of the index) are not offered. */
function localSource(item: string, { type: _type, src, ...rest }: Record<string, string>, cwd: string): string {
  const unknown = Object.keys(rest);
  if (!src) throw new UserError({ message: `--cache-from ${item}: a cache directory needs src=DIR` });
  if (unknown.length) throw new UserError({ message: `--cache-from ${item}: ${unknown.join(', ')}: not offered (src is)` });
  return directory(src, cwd);
}

/** --cache-from as buildx writes it (`type=registry,ref=REF`, `type=local,src=DIR`) or a bare reference. */
export function cacheFromOption(items: readonly string[], cwd = process.cwd()): CacheFromOption {
  const from: CacheFromOption = { refs: [], dirs: [] };
  for (const item of items) {
    if (!item.includes('=')) {
      from.refs.push(item);
      continue;
    }
    const fields = cacheFields(item);
    if (fields['type'] === 'registry' && fields['ref']) from.refs.push(fields['ref']);
    else if (fields['type'] === 'local') from.dirs.push(localSource(item, fields, cwd));
    else {
      throw new UserError({
        message: `--cache-from ${item}: expected an image reference, type=registry,ref=REF or type=local,src=DIR`,
        hint: 'the reference is an image or a cache exported with --cache-to type=registry; a directory one exported with --cache-to type=local',
      });
    }
  }
  return from;
}

/** What --cache-to asks of every image: inline metadata or none, or an export to a registry tag or a directory. */
export interface CacheToOption {
  inline: boolean;
  registry?: RegistryCacheExport;
  local?: LocalCacheExport;
}

/** --cache-to: inline or none (also as type=inline), or buildx's type=registry,ref=REF[,mode=…] or type=local,dest=DIR[,mode=…]. */
export function cacheToOption(item: string | undefined, cwd = process.cwd()): CacheToOption | undefined {
  if (item === undefined) return undefined;
  const fields = item.startsWith('type=') ? cacheFields(item) : { type: item };
  const wrong = (message: string, hint?: string) => new UserError({ message: `--cache-to ${item}: ${message}`, ...(hint ? { hint } : {}) });
  if (fields['type'] === 'inline') return { inline: true };
  if (fields['type'] === 'none') return { inline: false };
  if (fields['type'] !== 'registry' && fields['type'] !== 'local') {
    throw wrong(
      'expected inline, none, type=registry,ref=REF[,mode=min|max] or type=local,dest=DIR[,mode=min|max]',
      'inline cache in the pushed image serves the next build everywhere',
    );
  }
  const { type, ref, dest, mode = 'min', ...rest } = fields;
  if (mode !== 'min' && mode !== 'max') throw wrong(`mode=${mode}: expected min or max`);
  const offered = type === 'registry' ? 'ref' : 'dest';
  const unknown = [
    ...Object.keys(rest),
    ...(type === 'registry' && dest !== undefined ? ['dest'] : []),
    ...(type === 'local' && ref !== undefined ? ['ref'] : []),
  ];
  if (unknown.length) throw wrong(`${unknown.join(', ')}: not offered (${offered} and mode are)`);
  if (type === 'local') {
    if (!dest) throw wrong('a cache directory needs dest=DIR');
    return { inline: false, local: { dest: directory(dest, cwd), mode } };
  }
  if (!ref) throw wrong('a registry cache needs ref=REGISTRY/REPOSITORY:TAG');
  const refWrong = imageRefProblem(ref) ?? (ref.includes('@') ? 'a cache is exported to a tag, not a digest' : undefined);
  if (refWrong) throw wrong(`ref ${ref} is not a valid image reference: ${refWrong}`);
  return { inline: false, registry: { ref, mode } };
}

/** --sbom and --provenance, like buildx's: `false` turns the document off; provenance also takes min and max. */
export function documentFlags(sbom: string | undefined, provenance: string | undefined): { sbom?: boolean; provenance?: false | 'min' | 'max' } {
  const flags: { sbom?: boolean; provenance?: false | 'min' | 'max' } = {};
  if (sbom !== undefined) {
    if (sbom !== 'true' && sbom !== 'false') throw new UserError({ message: `--sbom=${sbom}: expected true or false` });
    flags.sbom = sbom === 'true';
  }
  if (provenance !== undefined) {
    const modes: Record<string, false | 'min' | 'max'> = { false: false, true: 'min', min: 'min', max: 'max', 'mode=min': 'min', 'mode=max': 'max' };
    if (!Object.hasOwn(modes, provenance)) throw new UserError({ message: `--provenance=${provenance}: expected false, true, min or max` });
    flags.provenance = modes[provenance]!;
  }
  return flags;
}

/** `--platform linux/amd64,linux/arm64`, as buildx takes it: a comma-separated list, each os/arch[/variant]. */
export function platformOption(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const platforms = text.split(',').map((p) => p.trim());
  const wrong = platforms.find((p) => !PLATFORM_PATTERN.test(p));
  if (wrong !== undefined) {
    throw new UserError({
      message: `--platform ${text}: '${wrong}' is not a platform`,
      hint: 'name each as os/arch or os/arch/variant: --platform linux/amd64,linux/arm64',
    });
  }
  if (new Set(platforms).size !== platforms.length) throw new UserError({ message: `--platform ${text}: a platform is named twice` });
  return platforms;
}
