import path from 'node:path/posix';
import { z } from 'zod';
import { copyArgs, entryName, instruction, platformCopyArgs } from '../pipeline/plan/dockerfile.ts';
import { STATE_DIR } from '../pipeline/model/project-files.ts';
import { chownFlag, imagePathField, modeField, ownerField } from './fields.ts';
import { defineStep } from './step.ts';

// A file or a directory of the project, copied into the image. Whether `from` is a file or a directory is
// found out only when the context is packed: the Dockerfile line is the same for both, because the entry
// is placed in the context under the name it should have in the image, and COPY of a directory copies its
// contents. That keeps planning free of disk reads, and `--dry-run` works before a compile step has run.
export const copyStep = defineStep({
  kind: 'copy',
  description: 'copy a project file or directory into the image',
  schema: z.strictObject({
    from: z.string().min(1).describe('project-relative path of a file or directory'),
    to: imagePathField.describe('where it goes in the image; a trailing / means "into this directory"'),
    owner: ownerField.optional(),
    mode: modeField.optional().describe("mode for the copied files (directories keep theirs), e.g. '0755'"),
    exclude: z.array(z.string()).optional().describe('.dockerignore-style patterns, for a directory'),
  }),
  plan(step, ctx) {
    const intoDirectory = step.to.endsWith('/');
    const written = path.basename(path.normalize(intoDirectory ? step.from.replace(/^[a-z0-9][a-z0-9._/-]*:/, '') : step.to));
    // `from: .` (the whole project) or a source root (`px:`) has no name of its own in the context.
    const name = written === '.' || written === '' ? 'content' : written;
    // COPY reads its sources as globs: a name with `[`, `*`, `?` (or anything unusual) goes in under one it
    // reads literally. Copied into a directory, the file keeps its own name inside one of that name.
    const literal = entryName(name) === name;
    const entry = `${ctx.contextDir}/${entryName(name)}`;
    const source = ctx.projectPath(step.from, 'from');
    const perPlatform = ctx.platformOutputs?.(source);
    if (perPlatform) {
      // Each platform's own build of the file, under its platform in the context; BuildKit's TARGETPLATFORM
      // picks the one of the platform it builds.
      return {
        instructions: [instruction('COPY', ...chownFlag(step.owner), platformCopyArgs(ctx.contextDir, entryName(name), step.to))],
        context: perPlatform.map(({ platform, path: kept }) => ({
          kind: 'path' as const,
          name: `${ctx.contextDir}/${platform}/${entryName(name)}`,
          path: kept,
          root: ctx.projectRoot('.'),
          origin: path.normalize(step.from),
          mode: step.mode,
          at: ctx.at('from'),
          excludes: [],
        })),
        hostCommands: [],
      };
    }
    return {
      instructions: [instruction('COPY', ...chownFlag(step.owner), copyArgs([entry], step.to))],
      context: [
        // The tool's own state changes every run; copied, it would make every image out of date.
        {
          kind: 'path',
          name: entry,
          path: source,
          root: ctx.projectRoot(step.from),
          origin: path.normalize(step.from),
          mode: step.mode,
          at: ctx.at('from'),
          excludes: [...(step.exclude ?? []), STATE_DIR],
          ...(intoDirectory && !literal ? { wrapFile: true } : {}),
        },
      ],
      hostCommands: [],
    };
  },
});
