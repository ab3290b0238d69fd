// The config's secrets, read when a build asks for one and handed to the builder alone: never logged, never
// an input to a digest (a rotated token rebuilds nothing), and never named by value in an error.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config/schema.ts';
import { RunError } from '../model/errors.ts';

export function secretReader(
  declared: Config['secrets'],
  projectDir: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): (id: string) => () => Promise<Buffer> {
  return (id) => async () => {
    const source = declared[id];
    if (!source) throw new RunError(`the secret '${id}' is not declared`, 'declare it under `secrets:`');
    if ('env' in source) {
      const value = env[source.env];
      if (value === undefined || value === '')
        throw new RunError(`the secret '${id}' comes from $${source.env}, which is not set`, `export ${source.env} before the build`);
      return Buffer.from(value);
    }
    const file = source.file.startsWith('~/') ? path.join(os.homedir(), source.file.slice(2)) : path.resolve(projectDir, source.file);
    return readFile(file).catch((err: NodeJS.ErrnoException) => {
      throw new RunError(`the secret '${id}' cannot be read from ${file} (${err.code ?? 'unreadable'})`, 'check the path in `secrets:` and its permissions');
    });
  };
}
