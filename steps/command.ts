import { createHash } from 'node:crypto';
import { z } from 'zod';
import { FAILURE_KINDS, type FailureHints, type FailureKind } from '../pipeline/model/host-command.ts';
import { commandField } from './fields.ts';
import { defineStep } from './step.ts';

const hintsSchema = z.union([
  z.string().describe('said whatever failed'),
  z
    .strictObject({
      missingProgram: z.string().optional().describe('the program is not installed (not on PATH)'),
      missingDirectory: z.string().optional().describe('the working directory, or the Go checkout, does not exist'),
      failed: z.string().optional().describe('the command ran and failed (a compile error)'),
    } satisfies Record<FailureKind, z.ZodType>)
    .describe('advice by what failed; its last lines of output are shown too'),
]);

const gopathSchema = z
  .strictObject({
    importPath: z
      .string()
      .regex(/^[a-z0-9.-]+(\/[A-Za-z0-9._~-]+)+$/, 'an import path is host/path, such as github.com/portworx/px-installer')
      .describe('the import path its packages use for each other: github.com/portworx/px-installer'),
    checkout: z.string().describe('the checkout, project-relative or NAME:path (px: for the source px)'),
  })
  .describe(
    "a Go checkout from before modules (no go.mod, vendor/ by govendor): built with GO111MODULE=off in a GOPATH of the tool's own where the checkout sits at importPath. One that has a go.mod builds in module mode.",
  );

const commandSchema = z
  .strictObject({
    name: z.string().min(1).optional().describe('a target name that runs this command alone'),
    run: commandField.describe('a string runs under /bin/sh -c; a list runs with no shell'),
    cwd: z.string().optional().describe('project-relative working directory (default: the project)'),
    env: z.record(z.string(), z.string()).optional(),
    gopath: gopathSchema.optional(),
    inputs: z.array(z.string()).default([]).describe('project-relative files or directories it reads'),
    outputs: z.array(z.string()).min(1).describe('project-relative files it writes; `clean` removes them'),
    hint: hintsSchema.optional().describe('what to do when the command fails: one text, or one per kind of failure'),
    reproducible: z
      .boolean()
      .optional()
      .describe(
        'its outputs are a function of its inputs, its command line and environment and the program (go build -trimpath): an image then knows its digest before the command runs, and one up to date in its registry is not compiled for',
      ),
  })
  .refine((step) => !step.reproducible || Array.isArray(step.run), {
    path: ['reproducible'],
    message: 'a reproducible command is a list ([go, build, ...]): its program is part of what decides its outputs, and under sh -c the program is the shell',
  });

// Work on the host before the image's context is packed: the Makefile's compile targets. It adds nothing
// to the Dockerfile; a `copy` step brings its outputs into the image.
export const commandStep = defineStep({
  kind: 'command',
  description: 'run a command on the host before packing, skipped when its outputs are newer than its inputs',
  schema: commandSchema,
  plan(step, ctx) {
    const checkout = step.gopath && ctx.projectPath(step.gopath.checkout, 'gopath.checkout');
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
          hints: hintsByKind(step.hint),
          stamp: ctx.statePath(`commands/${ctx.image}-${ctx.index}`),
          ...(step.reproducible ? { recipe: recipeOf(step) } : {}),
          ...(step.gopath && checkout
            ? {
                // One GOPATH per checkout, shared by its commands: the link in it is the same for all of them.
                gopath: { importPath: step.gopath.importPath, checkout, root: ctx.statePath(`gopath/${shortHash(`${step.gopath.importPath}\n${checkout}`)}`) },
              }
            : {}),
        },
      ],
    };
  },
});

/** The command as written, with what decides its outputs and nothing of this machine: paths as the config names them. */
function recipeOf(step: z.output<typeof commandSchema>): string {
  const { run, cwd = '.', env = {}, gopath, inputs, outputs } = step;
  return JSON.stringify({ run, cwd, env: Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1)), gopath: gopath?.importPath, inputs, outputs });
}

function hintsByKind(hint: z.output<typeof hintsSchema> | undefined): FailureHints {
  if (hint === undefined) return {};
  if (typeof hint === 'string') return Object.fromEntries(FAILURE_KINDS.map((kind) => [kind, hint]));
  return hint;
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}
