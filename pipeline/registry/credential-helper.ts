// A docker credential helper (`docker-credential-<name> get`: the server on stdin, JSON on stdout).
import { spawn } from 'node:child_process';
import { RunError } from '../model/errors.ts';
import { serverAddress } from '../model/image-ref.ts';
import type { CredentialSource, Env } from './credential-source.ts';

export function credentialHelper(name: string, env: Env): CredentialSource {
  const program = `docker-credential-${name}`;
  return {
    name: program,
    async find(registry) {
      const server = serverAddress(registry);
      const answer = await runHelper(program, server, env);
      if (answer === undefined) return undefined;
      const parsed = parseAnswer(answer);
      if (!parsed) {
        // Never its words: a helper set up wrongly (pass with no gpg agent) may print the bare secret.
        throw new RunError(
          `${program} answered for ${server} with something that is not JSON (not shown: it may be a secret)`,
          `check the helper: echo ${server} | ${program} get`,
        );
      }
      if (!parsed.Secret) return undefined;
      // A helper answers an identity token with the user name `<token>`.
      if (parsed.Username === '<token>') return { registry, identityToken: parsed.Secret };
      return { registry, username: parsed.Username ?? '', password: parsed.Secret };
    },
  };
}

function parseAnswer(answer: string): { Username?: string; Secret?: string } | undefined {
  try {
    const parsed = JSON.parse(answer) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    const { Username, Secret } = parsed as Record<string, unknown>;
    if ((Username !== undefined && typeof Username !== 'string') || (Secret !== undefined && typeof Secret !== 'string')) return undefined;
    return { Username, Secret };
  } catch {
    return undefined;
  }
}

/** Runs `docker-credential-X get`; a non-zero exit means it holds nothing for this server. */
function runHelper(program: string, server: string, env: Env): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['get'], { env: { ...process.env, ...env } as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        new RunError(
          `cannot run ${program}: ${err.code === 'ENOENT' ? 'not found on PATH' : err.code}`,
          'install the credential helper that config.json names, or remove it from config.json',
        ),
      ),
    );
    child.on('close', (code) => resolve(code === 0 ? out : undefined));
    child.stdin.on('error', () => {});
    child.stdin.end(server);
  });
}
