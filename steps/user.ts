import { instruction } from '../pipeline/plan/dockerfile.ts';
import { ownerField } from './fields.ts';
import { defineStep, instructionsOnly } from './step.ts';

export const userStep = defineStep({
  kind: 'user',
  description: 'the user that what follows, and the container, run as',
  schema: ownerField,
  plan: (user) => instructionsOnly(instruction('USER', user)),
});
