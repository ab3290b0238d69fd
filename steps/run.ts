import { instruction, jsonArgs } from '../pipeline/plan/dockerfile.ts';
import { commandField } from './fields.ts';
import { defineStep, instructionsOnly } from './step.ts';

export const runStep = defineStep({
  kind: 'run',
  description: 'run a command in the image at build time (a string runs under /bin/sh -c)',
  schema: commandField,
  plan: (command) =>
    instructionsOnly(typeof command === 'string' ? instruction('RUN', command) : instruction('RUN', jsonArgs(command))),
});
