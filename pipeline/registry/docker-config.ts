// The docker CLI's config.json: where `docker login` leaves credentials, and which helpers hold them.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RunError } from '../model/errors.ts';
import type { Env } from './credential-source.ts';

export interface DockerConfig {
  auths?: Record<string, { auth?: string; identitytoken?: string; username?: string; password?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`; none is an empty config. */
export async function readDockerConfig(env: Env, home = os.homedir()): Promise<DockerConfig> {
  const file = path.join(env['DOCKER_CONFIG'] || path.join(home, '.docker'), 'config.json');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return {};
  try {
    return JSON.parse(text) as DockerConfig;
  } catch {
    // Not the parser's message: it quotes the file, and the file holds passwords.
    throw new RunError(`${file} is not valid JSON`, 'fix it, or point DOCKER_CONFIG at a directory with a valid config.json');
  }
}
