import path from 'node:path/posix';
import { z } from 'zod';
import { copyArgs, entryName, instruction } from '../pipeline/plan/dockerfile.ts';
import type { FileEdit } from '../pipeline/model/file-edit.ts';
import { imagePathField, singleLine } from './fields.ts';

// A rule is written as one flow map on one line, and appendLine adds one line: a line break would fold or split it.
const editedLine = singleLine('it is written into one line of the edited file');
import { defineStep } from './step.ts';

// A file of the base image, edited in TypeScript instead of with sed in a RUN: the file is read through the
// engine when the image is built, changed, and shipped in the context. It keeps its owner (passed as a
// build arg, since it is known only once the file is read) and its mode.
export const editStep = defineStep({
  kind: 'edit',
  description: 'edit a file of the base image: prepend entries to a YAML list, or append a line once',
  schema: z
    .strictObject({
      file: imagePathField.describe('the file in the base image'),
      prependToList: z
        .strictObject({
          at: z.string().min(1).describe('dotted path of a YAML sequence: provider_context.import_resolver.parameters.rules'),
          items: z.array(z.record(editedLine, editedLine)).min(1).describe('one-entry maps, put first in this order; ones already there are not added again'),
        })
        .optional(),
      appendLine: editedLine.min(1).optional().describe('a line added at the end unless the file has it'),
      executable: z.boolean().default(false).describe('make the file executable'),
    })
    .refine((s) => (s.prependToList ? 1 : 0) + (s.appendLine ? 1 : 0) === 1, {
      message: 'an edit does one thing: prependToList or appendLine',
    }),
  plan(step, ctx) {
    const name = `${ctx.contextDir}/${entryName(path.basename(step.file))}`;
    const ownerArg = `BI_OWNER_${ctx.contextDir.replace(/\W/g, '_').toUpperCase()}`;
    const edit: FileEdit = step.prependToList
      ? { kind: 'prepend-to-list', at: step.prependToList.at.split('.'), items: step.prependToList.items }
      : { kind: 'append-line', line: step.appendLine!, executable: step.executable };
    return {
      instructions: [instruction('ARG', ownerArg), instruction('COPY', `--chown=\${${ownerArg}}`, copyArgs([name], step.file))],
      context: [
        {
          kind: 'image-file',
          name,
          imagePath: step.file,
          edit,
          ownerArg,
          at: { file: ctx.at('file'), ...(step.prependToList ? { path: ctx.at('prependToList.at') } : {}) },
        },
      ],
      hostCommands: [],
    };
  },
});
