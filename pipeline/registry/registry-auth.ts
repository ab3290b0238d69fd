// Credentials for a registry, tried in order: the environment variables the config names for that very
// registry (DOCKER_HUB_USER and DOCKER_HUB_PASSWD for DOCKER_HUB_REPO's), then, as the docker CLI finds
// them, config.json's credHelpers or credsStore, then its auths. No other registry ever gets the
// environment's. They go with each request and nowhere else: never to disk, output, events or errors.
import os from 'node:os';
import type { CredentialLookup, CredentialVariables } from '../model/credentials.ts';
import { serverAddress } from '../model/image-ref.ts';
import { configAuths } from './config-auths.ts';
import { credentialHelper } from './credential-helper.ts';
import { firstFound, type CredentialSource, type Env } from './credential-source.ts';
import { readDockerConfig, type DockerConfig } from './docker-config.ts';
import { variableCredentials } from './variable-credentials.ts';

/** The sources for one registry, in order: a registry's own helper wins over the store. */
export function credentialSources(config: DockerConfig, env: Env, registry: string, declared: readonly CredentialVariables[] = []): CredentialSource[] {
  const sources = [variableCredentials(declared, env)];
  const helper = config.credHelpers?.[serverAddress(registry)] ?? config.credHelpers?.[registry];
  if (helper) sources.push(credentialHelper(helper, env));
  else if (config.credsStore) sources.push(credentialHelper(config.credsStore, env));
  sources.push(configAuths(config));
  return sources;
}

/** Credentials per registry for one run: looked up once (a helper is a process), then reused. */
export function registryCredentials(declared: readonly CredentialVariables[] = [], env: Env = process.env, home = os.homedir()): CredentialLookup {
  let config: Promise<DockerConfig> | undefined;
  const found = new Map<string, ReturnType<CredentialLookup>>();
  const lookUp = async (registry: string) => {
    config ??= readDockerConfig(env, home);
    return firstFound(credentialSources(await config, env, registry, declared), registry);
  };
  return (registry) => {
    if (!found.has(registry)) found.set(registry, lookUp(registry));
    return found.get(registry)!;
  };
}
