// The step kinds. Adding one is a new file and a line here.
import { cmdStep } from './cmd.ts';
import { commandStep } from './command.ts';
import { copyStep } from './copy.ts';
import { editStep } from './edit.ts';
import { entrypointStep } from './entrypoint.ts';
import { envStep } from './env.ts';
import { exposeStep } from './expose.ts';
import { fetchStep } from './fetch.ts';
import { mkdirStep } from './mkdir.ts';
import { runStep } from './run.ts';
import { userStep } from './user.ts';
import { workdirStep } from './workdir.ts';

export const stepKinds = {
  command: commandStep,
  copy: copyStep,
  fetch: fetchStep,
  edit: editStep,
  mkdir: mkdirStep,
  run: runStep,
  env: envStep,
  workdir: workdirStep,
  user: userStep,
  expose: exposeStep,
  entrypoint: entrypointStep,
  cmd: cmdStep,
} as const;

export type StepKindName = keyof typeof stepKinds;
export const stepKindNames = Object.keys(stepKinds) as StepKindName[];
