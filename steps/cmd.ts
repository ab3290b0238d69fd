import { z } from 'zod';
import { instruction, jsonArgs } from '../pipeline/plan/dockerfile.ts';
import { defineStep, instructionsOnly } from './step.ts';

export const cmdStep = defineStep({
  kind: 'cmd',
  description: 'the container command (or the entrypoint arguments), in exec form; [] for none',
  schema: z.array(z.string()),
  plan: (args) => instructionsOnly(instruction('CMD', jsonArgs(args))),
});
