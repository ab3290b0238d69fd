import type { z } from 'zod';
import type { SourcePosition } from '../pipeline/model/errors.ts';
import type { ContextSource } from '../pipeline/model/context-entries.ts';
import type { HostCommand } from '../pipeline/model/host-command.ts';

/** What a step may ask of the planner: where it stands, and how to turn a config path into a real one. */
export interface StepPlanContext {
  /** The step's position in its image, used to give its context entries a prefix of their own. */
  readonly index: number;
  readonly image: string;
  /** The step's folder in the build context, unique to the step: `s03-copy`. */
  readonly contextDir: string;
  /** A project-relative path from the config, made absolute; a path leaving the project is a user error. */
  projectPath(relative: string, field: string): string;
  /** The directory that path must stay in once links are resolved: the project, or its named source. */
  projectRoot(relative: string): string;
  /** Where a field of the step (`from`, `prependToList.at`) is in the config file. */
  at(field: string): SourcePosition;
  /** A file of the tool's own under the project's .build-images/, for state such as command stamps. */
  statePath(name: string): string;
  /**
   * For an image of several platforms, each platform's copy of a host command's output (a project path):
   * a copy step then copies the one of the platform being built. Undefined for any other path.
   */
  platformOutputs?(source: string): readonly { platform: string; path: string }[] | undefined;
}

/** A step turned into what the build needs: Dockerfile lines, context entries, work on the host. */
export interface StepPlan {
  instructions: string[];
  context: ContextSource[];
  hostCommands: HostCommand[];
  /** Ids of the config's secrets the step's instructions mount. */
  secrets?: string[];
}

export interface StepKind<S extends z.ZodType = z.ZodType> {
  readonly kind: string;
  readonly schema: S;
  readonly description: string;
  plan(step: z.output<S>, ctx: StepPlanContext): StepPlan;
}

export function defineStep<S extends z.ZodType>(step: StepKind<S>): StepKind<S> {
  return step;
}

export function instructionsOnly(...instructions: string[]): StepPlan {
  return { instructions, context: [], hostCommands: [] };
}
