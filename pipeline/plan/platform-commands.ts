// Host commands of an image built for several platforms: a command whose output the image copies runs once
// per platform, compiling for it (GOOS, GOARCH, GOARM over the step's own env), and each platform's outputs
// are kept apart under .build-images/, so that one platform's binary never replaces another's. The image's
// COPY then takes the platform's own by BuildKit's TARGETPLATFORM (copy.ts).
import path from 'node:path';
import { goEnv } from '../model/platform.ts';
import type { HostCommand } from '../model/host-command.ts';

/** Where a platform's copy of an output is: a context source per platform in place of the output. */
export interface PlatformOutput {
  platform: string;
  path: string;
}

/**
 * The command for one platform. With `keep` (several platforms), its outputs are moved there after it
 * ran, and its stamp and outputs are the platform's own; with one platform it only compiles for it.
 */
export function commandForPlatform(command: HostCommand, platform: string, keep?: (output: string, index: number) => string): HostCommand {
  const forPlatform: HostCommand = {
    ...command,
    env: { ...command.env, ...goEnv(platform) },
    // The platform decides the outputs: a recipe names it (its env does too, for a human reading the record).
    ...(command.recipe !== undefined ? { recipe: JSON.stringify([command.recipe, platform]) } : {}),
  };
  if (!keep) return forPlatform;
  return {
    ...forPlatform,
    outputs: command.outputs.map(keep),
    writes: command.outputs,
    stamp: `${command.stamp}-${platform.replaceAll('/', '-')}`,
  };
}

/** The platform's place for an output of a command: `.build-images/platforms/IMAGE-STEP/OS-ARCH/I/NAME`. */
export function keptOutputName(image: string, step: number, platform: string, output: string, index: number): string {
  return `platforms/${image}-${step}/${platform.replaceAll('/', '-')}/${index}/${path.basename(output)}`;
}
