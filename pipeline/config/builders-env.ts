// BUILD_IMAGES_BUILDERS: the builders of this machine or CI job, over the config's (as DOCKER_HOST is over
// the default engine). JSON, in the config's shape: `[{"name":"a","endpoint":"tcp://10.0.0.5:2376",...}]`.
// The schema (zod and every step kind) is loaded only when the variable is set: a run whose plan was
// remembered never loads it, and this module is on every run's path.
import type { BuilderConfig, Config } from './schema.ts';
import { UserError } from '../model/errors.ts';

export const BUILDERS_VARIABLE = 'BUILD_IMAGES_BUILDERS';

/** The run's builders and where their relative paths start; undefined: the one engine of DOCKER_HOST. */
export async function chosenBuilders(
  config: Pick<Config, 'builders'>,
  projectDir: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  cwd = process.cwd(),
): Promise<{ list: BuilderConfig[]; baseDir: string } | undefined> {
  const given = env[BUILDERS_VARIABLE];
  if (!given) return config.builders ? { list: config.builders, baseDir: projectDir } : undefined;
  let json: unknown;
  try {
    json = JSON.parse(given);
  } catch (err) {
    throw new UserError({ message: `${BUILDERS_VARIABLE} is not JSON (${(err as Error).message})`, hint: hint() });
  }
  const { buildersSchema } = await import('./schema.ts');
  const parsed = buildersSchema.safeParse(json);
  if (!parsed.success) {
    throw new UserError(
      parsed.error.issues.map((issue) => ({
        message: `${BUILDERS_VARIABLE}${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${issue.message}`,
        hint: hint(),
      })),
    );
  }
  return { list: parsed.data, baseDir: cwd };
}

const hint = () =>
  `${BUILDERS_VARIABLE}='[{"name":"a","endpoint":"unix:///var/run/docker.sock"},{"name":"b","endpoint":"tcp://host:2376","tls":{"ca":"ca.pem","cert":"cert.pem","key":"key.pem"}}]'`;
