import { z } from 'zod';
import { lineField } from './fields.ts';
import { instruction, keyValue } from '../pipeline/plan/dockerfile.ts';
import { defineStep, instructionsOnly } from './step.ts';

export const envStep = defineStep({
  kind: 'env',
  description: 'set environment variables in the image',
  schema: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name'), lineField),
  plan: (vars) =>
    instructionsOnly(
      instruction(
        'ENV',
        Object.entries(vars).map(([key, value]) => keyValue(key, value)),
      ),
    ),
});
