import { instruction, jsonArgs, shellArgs } from '../pipeline/plan/dockerfile.ts';
import { commandField } from './fields.ts';
import { defineStep, instructionsOnly } from './step.ts';

export const runStep = defineStep({
  kind: 'run',
  description: 'run a command in the image at build time (a string, of one line or many, runs under /bin/sh -c)',
  schema: commandField,
  // A string is a shell script: in exec form, so that its lines stay one instruction (a shell-form RUN ends
  // at the first line break, and the next line became an instruction of its own) and a trailing backslash
  // cannot join the next Dockerfile line to it.
  plan: (command) => instructionsOnly(instruction('RUN', typeof command === 'string' ? shellArgs(command) : jsonArgs(command))),
});
