import { z } from 'zod';
import { copyArgs, instruction } from '../pipeline/plan/dockerfile.ts';
import { chownFlag, imagePathField, modeField, ownerField } from './fields.ts';
import { defineStep } from './step.ts';

// A directory (a mount point such as /opt/onap) made without RUN: an empty directory in the context, copied
// with --chown. The base image then needs no shell, and the layer holds just that directory.
export const mkdirStep = defineStep({
  kind: 'mkdir',
  description: 'create an empty directory in the image, with an owner and mode',
  schema: z.strictObject({
    path: imagePathField.describe('the directory to create'),
    owner: ownerField.optional(),
    mode: modeField.optional(),
  }),
  plan(step, ctx) {
    const entry = `${ctx.contextDir}/dir`;
    return {
      instructions: [instruction('COPY', ...chownFlag(step.owner), copyArgs([`${entry}/`], `${step.path.replace(/\/+$/, '')}/`))],
      context: [{ kind: 'dir', name: entry, mode: step.mode ?? 0o755 }],
      hostCommands: [],
    };
  },
});
