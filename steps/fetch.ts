import path from 'node:path/posix';
import { z } from 'zod';
import { copyArgs, instruction } from '../pipeline/plan/dockerfile.ts';
import { chownFlag, imagePathField, modeField, ownerField } from './fields.ts';
import { defineStep } from './step.ts';
import { DEFAULT_FETCH_TIMEOUTS, type FetchExpect } from '../pipeline/model/context-entries.ts';
import { hasCredentials } from '../pipeline/model/url.ts';

const seconds = z.number().positive().max(3600);

// A file from a URL, put into the image. The download happens when the image is built, through the cache
// and the lock (pipeline/context/fetcher.ts); the plan only says where it goes.
export const fetchStep = defineStep({
  kind: 'fetch',
  description: 'download a file (or one member of a .tar.gz) into the image; cached, and pinned in the lock file',
  schema: z.strictObject({
    url: z
      .url({ protocol: /^https?$/ })
      // A password in a URL would be recorded wherever the URL is: the lock, the image's labels and history.
      .refine((url) => !hasCredentials(url), {
        message: 'a fetch URL may not carry a user or password: it would be recorded in the lock file, the image labels and its history',
      })
      .describe('http or https, without user:password@; redirects are followed'),
    to: imagePathField.describe('where it goes in the image; a trailing / means "into this directory"'),
    sha256: z
      .union([z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 is 64 lower-case hex digits'), z.literal('')])
      .optional()
      .transform((v) => v || undefined)
      .describe('expected digest; empty or absent: the lock file pins the first one seen'),
    extract: z
      .string()
      .min(1)
      .refine((member) => !member.startsWith('/') && !member.split('/').includes('..') && !member.includes('\0'), {
        message: 'extract names a file inside the archive: a relative path without ..',
      })
      .optional()
      .describe('the path of one file inside a fetched .tar.gz to take instead'),
    expect: z
      .enum(['yaml', 'text', 'binary', 'archive'])
      .optional()
      .describe('what the body must be (default: archive with extract, yaml for .yaml/.yml, else binary); never empty or an HTML page'),
    connectTimeout: seconds.optional().describe(`seconds to wait for the server's answer (default ${DEFAULT_FETCH_TIMEOUTS.connect})`),
    idleTimeout: seconds.optional().describe(`seconds in which the download must bring at least 1 KiB (default ${DEFAULT_FETCH_TIMEOUTS.idle})`),
    owner: ownerField.optional(),
    mode: modeField.optional(),
  }),
  plan(step, ctx) {
    const source = step.extract ?? new URL(step.url).pathname;
    const name = `${ctx.contextDir}/${step.to.endsWith('/') ? path.basename(source) : path.basename(step.to)}`;
    return {
      instructions: [instruction('COPY', ...chownFlag(step.owner), copyArgs([name], step.to))],
      context: [
        {
          kind: 'fetch',
          name,
          url: step.url,
          sha256: step.sha256,
          extract: step.extract,
          mode: step.mode ?? 0o644,
          expect: step.expect ?? defaultExpect(step.url, step.extract),
          timeouts: { connect: step.connectTimeout ?? DEFAULT_FETCH_TIMEOUTS.connect, idle: step.idleTimeout ?? DEFAULT_FETCH_TIMEOUTS.idle },
        },
      ],
      hostCommands: [],
    };
  },
});

/** What a step expects when it does not say: an archive for `extract`, YAML for .yaml and .yml. */
export function defaultExpect(url: string, extract?: string): FetchExpect {
  if (extract) return 'archive';
  return /\.ya?ml$/i.test(new URL(url).pathname) ? 'yaml' : 'binary';
}
