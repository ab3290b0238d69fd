import path from 'node:path/posix';
import { z } from 'zod';
import { copyArgs, instruction } from '../pipeline/plan/dockerfile.ts';
import { chownFlag, imagePathField, modeField, ownerField } from './fields.ts';
import { defineStep } from './step.ts';

// A file from a URL, put into the image. The download happens when the image is built, through the cache
// and the lock (pipeline/fetcher.ts); the plan only says where it goes.
export const fetchStep = defineStep({
  kind: 'fetch',
  description: 'download a file (or one member of a .tar.gz) into the image; cached, and pinned in the lock file',
  schema: z.strictObject({
    url: z.url({ protocol: /^https?$/ }).describe('http or https; redirects are followed'),
    to: imagePathField.describe('where it goes in the image; a trailing / means "into this directory"'),
    sha256: z
      .union([z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 is 64 lower-case hex digits'), z.literal('')])
      .optional()
      .transform((v) => v || undefined)
      .describe('expected digest; empty or absent: the lock file pins the first one seen'),
    extract: z.string().min(1).optional().describe('the path of one file inside a fetched .tar.gz to take instead'),
    owner: ownerField.optional(),
    mode: modeField.optional(),
  }),
  plan(step, ctx) {
    const source = step.extract ?? new URL(step.url).pathname;
    const name = `${ctx.contextDir}/${step.to.endsWith('/') ? path.basename(source) : path.basename(step.to)}`;
    return {
      instructions: [instruction('COPY', ...chownFlag(step.owner), copyArgs([name], step.to))],
      context: [{ kind: 'fetch', name, url: step.url, sha256: step.sha256, extract: step.extract, mode: step.mode ?? 0o644 }],
      hostCommands: [],
    };
  },
});
