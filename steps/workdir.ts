import { instruction, quoted } from '../pipeline/plan/dockerfile.ts';
import { imagePathField } from './fields.ts';
import { defineStep, instructionsOnly } from './step.ts';

export const workdirStep = defineStep({
  kind: 'workdir',
  description: 'the working directory of what follows and of the container',
  schema: imagePathField,
  plan: (dir) => instructionsOnly(instruction('WORKDIR', quoted(dir))),
});
