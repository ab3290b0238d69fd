import { z } from 'zod';
import { instruction } from '../pipeline/plan/dockerfile.ts';
import { defineStep, instructionsOnly } from './step.ts';

const port = z.union([z.number().int().min(1).max(65535), z.string().regex(/^\d{1,5}(\/(tcp|udp|sctp))?$/, 'a port: 8080 or 8080/udp')]);

export const exposeStep = defineStep({
  kind: 'expose',
  description: 'ports the container listens on',
  schema: z.union([port, z.array(port).min(1)]),
  plan: (ports) => instructionsOnly(instruction('EXPOSE', [ports].flat().map(String))),
});
