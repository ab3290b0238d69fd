// Credentials for a registry, found as the docker CLI finds them, tried in order: DOCKER_HUB_USER and
// DOCKER_HUB_PASSWD (the Makefile's `docker login`), then ~/.docker/config.json's credHelpers, credsStore
// and auths. They go with each push request and nowhere else: never to disk, output, events or errors.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Credentials } from '../model/credentials.ts';
import { RunError } from '../model/errors.ts';
import { serverAddress } from '../model/image-ref.ts';

type Env = Readonly<Record<string, string | undefined>>;

interface DockerConfig {
  auths?: Record<string, { auth?: string; identitytoken?: string; username?: string; password?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** One place credentials may come from; undefined when it has none for this registry. */
export interface CredentialSource {
  readonly name: string;
  find(registry: string): Promise<Credentials | undefined>;
}

export function environmentCredentials(env: Env): CredentialSource {
  return {
    name: 'DOCKER_HUB_USER and DOCKER_HUB_PASSWD',
    async find(registry) {
      const username = env['DOCKER_HUB_USER'];
      const password = env['DOCKER_HUB_PASSWD'];
      return username && password ? { registry, username, password } : undefined;
    },
  };
}

export function credentialHelper(name: string, env: Env): CredentialSource {
  return {
    name: `docker-credential-${name}`,
    async find(registry) {
      const server = serverAddress(registry);
      const answer = await runHelper(`docker-credential-${name}`, server, env);
      if (!answer) return undefined;
      const parsed = JSON.parse(answer) as { Username?: string; Secret?: string };
      if (!parsed.Secret) return undefined;
      // A helper answers an identity token with the user name `<token>`.
      if (parsed.Username === '<token>') return { registry, identityToken: parsed.Secret };
      return { registry, username: parsed.Username ?? '', password: parsed.Secret };
    },
  };
}

function configAuths(config: DockerConfig): CredentialSource {
  return {
    name: 'config.json auths',
    async find(registry) {
      const server = serverAddress(registry);
      const entry = config.auths?.[server] ?? config.auths?.[`https://${server}`] ?? config.auths?.[`http://${server}`];
      if (!entry) return undefined;
      if (entry.identitytoken) return { registry, identityToken: entry.identitytoken };
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0) throw new RunError(`the auths entry for ${server} in config.json is not user:password in base64`);
        return { registry, username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
      }
      if (entry.username && entry.password) return { registry, username: entry.username, password: entry.password };
      return undefined;
    },
  };
}

export async function readDockerConfig(env: Env, home = os.homedir()): Promise<DockerConfig> {
  const file = path.join(env['DOCKER_CONFIG'] || path.join(home, '.docker'), 'config.json');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return {};
  try {
    return JSON.parse(text) as DockerConfig;
  } catch {
    throw new RunError(`${file} is not valid JSON`);
  }
}

/** The sources for one registry, in the docker CLI's order: a registry's own helper wins over the store. */
export function credentialSources(config: DockerConfig, env: Env, registry: string): CredentialSource[] {
  const sources = [environmentCredentials(env)];
  const helper = config.credHelpers?.[serverAddress(registry)] ?? config.credHelpers?.[registry];
  if (helper) sources.push(credentialHelper(helper, env));
  else if (config.credsStore) sources.push(credentialHelper(config.credsStore, env));
  sources.push(configAuths(config));
  return sources;
}

/** Credentials per registry for one run: looked up once (a helper is a process), then reused. */
export function registryCredentials(env: Env = process.env, home = os.homedir()) {
  let config: Promise<DockerConfig> | undefined;
  const found = new Map<string, Promise<Credentials | undefined>>();
  const lookUp = async (registry: string) => {
    config ??= readDockerConfig(env, home);
    for (const source of credentialSources(await config, env, registry)) {
      const auth = await source.find(registry);
      if (auth) return auth;
    }
    return undefined;
  };
  return (registry: string): Promise<Credentials | undefined> => {
    if (!found.has(registry)) found.set(registry, lookUp(registry));
    return found.get(registry)!;
  };
}

/** Runs `docker-credential-X get`; a non-zero exit means it holds nothing for this server. */
function runHelper(program: string, server: string, env: Env): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['get'], { env: { ...process.env, ...env } as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(new RunError(`cannot run ${program}: ${err.code === 'ENOENT' ? 'not found on PATH' : err.code}`, 'install the credential helper that config.json names, or remove it from config.json')),
    );
    child.on('close', (code) => resolve(code === 0 ? out : undefined));
    child.stdin.end(server);
  });
}
