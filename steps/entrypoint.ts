import { z } from 'zod';
import { instruction, jsonArgs } from '../pipeline/plan/dockerfile.ts';
import { defineStep, instructionsOnly } from './step.ts';

export const entrypointStep = defineStep({
  kind: 'entrypoint',
  description: 'the container entrypoint, in exec form',
  schema: z.array(z.string()),
  plan: (args) => instructionsOnly(instruction('ENTRYPOINT', jsonArgs(args))),
});
