import { z } from 'zod';
import { commandField } from './fields.ts';
import { defineStep } from './step.ts';

// Work on the host before the image's context is packed: the Makefile's compile targets. It adds nothing
// to the Dockerfile; a `copy` step brings its outputs into the image.
export const commandStep = defineStep({
  kind: 'command',
  description: 'run a command on the host before packing, skipped when its outputs are newer than its inputs',
  schema: z.strictObject({
    name: z.string().min(1).optional().describe('a target name that runs this command alone'),
    run: commandField.describe('a string runs under /bin/sh -c; a list runs with no shell'),
    cwd: z.string().optional().describe('project-relative working directory (default: the project)'),
    env: z.record(z.string(), z.string()).optional(),
    inputs: z.array(z.string()).default([]).describe('project-relative files or directories it reads'),
    outputs: z.array(z.string()).min(1).describe('project-relative files it writes; `clean` removes them'),
    hint: z.string().optional().describe('said when the command cannot run: what to install or set'),
  }),
  plan(step, ctx) {
    return {
      instructions: [],
      context: [],
      hostCommands: [
        {
          name: step.name,
          image: ctx.image,
          run: step.run,
          cwd: ctx.projectPath(step.cwd ?? '.', 'cwd'),
          env: step.env ?? {},
          inputs: step.inputs.map((p, i) => ctx.projectPath(p, `inputs.${i}`)),
          outputs: step.outputs.map((p, i) => ctx.projectPath(p, `outputs.${i}`)),
          hint: step.hint,
          stamp: ctx.statePath(`commands/${ctx.image}-${ctx.index}`),
        },
      ],
    };
  },
});
