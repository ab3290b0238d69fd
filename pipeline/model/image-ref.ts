// Image references, parsed once, the way the docker CLI and the engine read them (distribution/reference):
// `[domain[:port]/]path[:tag][@algorithm:hex]`. Everything that splits, normalises or asks which registry a
// reference names goes through here; three hand-written splitters that disagreed about `name@sha256:…`
// were the reason this module exists.

/** Docker Hub, as references name it; the engine and config.json know it by its old index address. */
export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/';
const DOCKER_HUB_API = 'registry-1.docker.io';
// distribution/reference's NameTotalLengthMax: the engine refuses a longer name.
const NAME_MAX = 255;

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

export interface ImageRef {
  /** The registry host as written, or `docker.io` when the reference names none. */
  readonly domain: string;
  /** The repository path within the registry, as written (`ubuntu`, not `library/ubuntu`). */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

export type ParsedRef = { ok: true; ref: ImageRef } | { ok: false; problem: string };

export function parseImageRef(text: string): ParsedRef {
  const fail = (problem: string): ParsedRef => ({ ok: false, problem });
  if (text === '') return fail('it is empty');
  if (/\s/.test(text)) return fail('it contains white space');
  const at = text.indexOf('@');
  const digest = at >= 0 ? text.slice(at + 1) : undefined;
  if (digest !== undefined && !DIGEST.test(digest)) return fail(`'${digest}' is not a digest (algorithm:hex)`);
  if (digest?.startsWith('sha256:') && !/^sha256:[a-f0-9]{64}$/.test(digest)) return fail('a sha256 digest is 64 lower-case hex digits');
  const nameAndTag = at >= 0 ? text.slice(0, at) : text;
  const slash = nameAndTag.lastIndexOf('/');
  const colon = nameAndTag.lastIndexOf(':');
  const tag = colon > slash ? nameAndTag.slice(colon + 1) : undefined;
  const name = tag === undefined ? nameAndTag : nameAndTag.slice(0, colon);
  if (tag !== undefined && !TAG.test(tag)) return fail(`the tag '${tag}' has characters a tag cannot have (letters, digits, '_', '.', '-'; at most 128)`);
  const parts = name.split('/');
  const first = parts[0]!;
  // The docker CLI's rule: a first part is a registry when it has a dot or a colon or is `localhost`. The CLI
  // also takes a first part with an upper-case letter for a host; we do not: `${USER}px` with a capital
  // letter is a mistake far more often than a registry called `Alice`.
  const hasDomain = parts.length > 1 && (/[.:]/.test(first) || first === 'localhost' || first.startsWith('['));
  const domain = hasDomain ? parts.shift()! : DOCKER_HUB;
  if (hasDomain && !DOMAIN.test(domain)) return fail(`'${domain}' is not a registry host`);
  for (const part of parts) {
    if (part === '') return fail('it has an empty path component');
    if (!PATH_COMPONENT.test(part)) return fail(`'${part}' must be lower-case letters, digits and separators (. _ __ -)`);
  }
  // The engine counts the name as it normalises it: `ubuntu` is `docker.io/library/ubuntu`, 18 more.
  const counted = hasDomain ? name : `${DOCKER_HUB}/${parts.length === 1 ? 'library/' : ''}${name}`;
  if (counted.length > NAME_MAX) {
    return fail(
      `the name is ${counted.length} characters long as the engine counts it${hasDomain ? '' : ` (${counted.slice(0, counted.length - name.length)}…)`}; it takes at most ${NAME_MAX}`,
    );
  }
  return { ok: true, ref: { domain, path: parts.join('/'), ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) } };
}

/** The parsed reference; for values the config check has already accepted. */
export function imageRef(text: string): ImageRef {
  const parsed = parseImageRef(text);
  if (!parsed.ok) throw new Error(`not an image reference: '${text}' (${parsed.problem})`);
  return parsed.ref;
}

/** Why a string is not an image reference, or undefined when it is one. */
export function imageRefProblem(text: string): string | undefined {
  const parsed = parseImageRef(text);
  return parsed.ok ? undefined : parsed.problem;
}

/** The repository as the engine's tag and push calls take it: the name as written, without tag or digest. */
export function repositoryOf(ref: ImageRef): string {
  return ref.domain === DOCKER_HUB ? ref.path : `${ref.domain}/${ref.path}`;
}

/** The tag a reference names, `latest` when it names none (and no digest). */
export function tagOf(ref: ImageRef): string {
  return ref.tag ?? 'latest';
}

export function formatRef(ref: ImageRef): string {
  return `${repositoryOf(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/**
 * The name as the docker CLI shows it and BuildKit's named contexts key it: no `docker.io/`, no `library/`,
 * no `:latest` (`ubuntu`, `alpine`, `127.0.0.1:5000/px/tool:1.0`).
 */
export function familiarName(ref: ImageRef): string {
  const repository = ref.domain === DOCKER_HUB ? ref.path.replace(/^library\//, '') : `${ref.domain}/${ref.path}`;
  return `${repository}${ref.tag !== undefined && ref.tag !== 'latest' ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The same repository with another tag (and no digest). */
export function withTag(ref: ImageRef, tag: string): ImageRef {
  return { domain: ref.domain, path: ref.path, tag };
}

/** The registry of a reference written as text: `docker.io` for Docker Hub. */
export function registryOf(text: string): string {
  return imageRef(text).domain;
}

const HUB_ALIASES = new Set([DOCKER_HUB, 'index.docker.io', DOCKER_HUB_API, DOCKER_HUB_SERVER]);

/** One name per registry: Docker Hub's several (index.docker.io, its v1 address) become `docker.io`. */
export function canonicalRegistry(registry: string): string {
  return HUB_ALIASES.has(registry) ? DOCKER_HUB : registry;
}

export type ParsedRegistry = { ok: true; registry: string } | { ok: false; problem: string };

/**
 * The registry that a registry host or a repository names: `registry.example:5000` and
 * `registry.example:5000/team` name that host; `alicepx` (a Docker Hub account) and `docker.io` name Docker Hub.
 * A single word is a registry only when it is `localhost` or has a dot or a colon, as in a reference.
 */
export function parseRegistry(text: string): ParsedRegistry {
  if (!text.includes('/') && (/[.:]/.test(text) || text === 'localhost')) {
    return DOMAIN.test(text) ? { ok: true, registry: canonicalRegistry(text) } : { ok: false, problem: `'${text}' is not a registry host` };
  }
  const parsed = parseImageRef(text);
  if (!parsed.ok) return parsed;
  if (parsed.ref.tag !== undefined || parsed.ref.digest !== undefined)
    return { ok: false, problem: 'name a registry or a repository, without a tag or digest' };
  return { ok: true, registry: canonicalRegistry(parsed.ref.domain) };
}

/** How config.json and the engine's auth header name a registry. */
export function serverAddress(registry: string): string {
  return registry === DOCKER_HUB || registry === DOCKER_HUB_SERVER ? DOCKER_HUB_SERVER : registry;
}

/** Where the registry's HTTP API is, and the repository path on it (Docker Hub's official images under `library/`). */
export function apiLocation(ref: ImageRef): { host: string; repository: string; base: string } {
  const hub = ref.domain === DOCKER_HUB;
  const host = hub ? DOCKER_HUB_API : ref.domain;
  const repository = hub && !ref.path.includes('/') ? `library/${ref.path}` : ref.path;
  // The engine talks plain HTTP to registries on loopback (its default insecure range), HTTPS elsewhere.
  const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host);
  return { host, repository, base: `${loopback ? 'http' : 'https'}://${host}` };
}

/** The digests of `repoDigests` (`repo@sha256:…`, as the engine lists them) that are this reference's repository's. */
export function repositoryDigests(repoDigests: readonly string[], ref: ImageRef): string[] {
  const { host, repository } = apiLocation(ref);
  const named = [`${repositoryOf(ref)}@`, `${host}/${repository}@`];
  return repoDigests.filter((d) => named.some((prefix) => d.startsWith(prefix))).map((d) => d.slice(d.indexOf('@') + 1));
}
