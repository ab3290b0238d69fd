// Configs for unit tests: parsed from text as a user would write them.
import { UserError } from '../../pipeline/model/errors.ts';
import { parseConfig } from '../../pipeline/config/load-config.ts';
import { prepareLoaded, type Prepared } from '../../pipeline/config/prepare.ts';

export const PROJECT = '/project';

export function prepareText(text: string, env: Record<string, string | undefined> = {}, sets: Record<string, string> = {}): Prepared {
  return prepareLoaded(parseConfig(text, 'build.config.yaml', PROJECT), sets, { USER: 'alice', ...env });
}

/** The problems a config has, each as `line:col message`, for tests that read like the error a user sees. */
export function problemsOf(text: string, env: Record<string, string | undefined> = {}, sets: Record<string, string> = {}): string[] {
  try {
    prepareText(text, env, sets);
  } catch (err) {
    if (err instanceof UserError) return err.problems.map((p) => `${p.at ? `${p.at.line}:${p.at.col} ` : ''}${p.message}${p.hint ? ` (${p.hint})` : ''}`);
    throw err;
  }
  return [];
}

export const yaml = (strings: TemplateStringsArray, ...values: unknown[]) => String.raw({ raw: strings }, ...values).replace(/^\n/, '');
