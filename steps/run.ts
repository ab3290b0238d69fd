import { z } from 'zod';
import { instruction, jsonArgs, shellArgs } from '../pipeline/plan/dockerfile.ts';
import { commandField, secretId } from './fields.ts';
import { defineStep } from './step.ts';

const withSecrets = z.strictObject({
  command: commandField,
  secrets: z.array(secretId).min(1).describe("ids from the config's `secrets:`, each mounted at /run/secrets/ID for this command only"),
});

export const runStep = defineStep({
  kind: 'run',
  description: 'run a command in the image at build time (a string, of one line or many, runs under /bin/sh -c)',
  schema: z.union([commandField, withSecrets]),
  plan: (step) => {
    const { command, secrets = [] } = typeof step === 'object' && !Array.isArray(step) ? step : { command: step };
    // BuildKit mounts a secret for one RUN as a file under /run/secrets; it is in no layer and no history.
    const mounts = secrets.map((id) => `--mount=type=secret,id=${id},required=true`);
    // A string is a shell script: in exec form, so that its lines stay one instruction (a shell-form RUN ends
    // at the first line break, and the next line became an instruction of its own) and a trailing backslash
    // cannot join the next Dockerfile line to it.
    const args = typeof command === 'string' ? shellArgs(command) : jsonArgs(command);
    return { instructions: [instruction('RUN', ...mounts, args)], context: [], hostCommands: [], secrets };
  },
});
