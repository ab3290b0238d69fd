// What an image's platforms ask of the engine that builds it, refused before its commands run or anything
// is built: several platforms make an image index, which dockerd stores only in the containerd image store
// and only BuildKit builds; a `run` step for a platform other than the engine's own would need emulation
// (binfmt_misc with QEMU), which the tool does not set up: px's binaries are cross-compiled on the host.
import { UserError } from '../model/errors.ts';
import { runsNatively } from '../model/platform.ts';
import type { Builder, ImageStore } from '../engine/engine.ts';
import type { ImagePlan } from '../plan/plan.ts';

export async function refuseUnbuildablePlatforms(image: ImagePlan, engine: { images: ImageStore; builder: Pick<Builder, 'name'> }): Promise<void> {
  const platforms = image.platforms;
  if (!platforms) return;
  const named = `${image.name}: platforms ${platforms.join(', ')}`;
  const native = await engine.images.nativePlatform?.();
  const foreign = native === undefined ? [] : platforms.filter((platform) => !runsNatively(platform, native));
  if (engine.builder.name !== 'buildkit' && (platforms.length > 1 || foreign.length > 0)) {
    throw new UserError({
      message: `${named}: the classic builder builds only the engine's own platform${native ? ` (${native})` : ''}`,
      hint: 'build with BuildKit (--builder buildkit)',
    });
  }
  if (platforms.length > 1 && (await engine.images.imageIds()) !== 'manifest') {
    throw new UserError({
      message: `${named}: this engine keeps its images in a graphdriver, which holds one platform of an image; an image index of several needs the containerd image store`,
      hint: `build one platform here (--platform ${native ?? platforms[0]}), or turn on the containerd image store (daemon.json features."containerd-snapshotter": true)`,
    });
  }
  if (image.runStep && foreign.length > 0) {
    throw new UserError({
      message: `${image.name}: its run step needs emulation for ${foreign.join(', ')}; this engine runs ${native} and the tool sets up no emulation`,
      hint: "compile on the host instead (a command step with the platform's GOOS/GOARCH, then copy), or build it on a builder of that platform (builders: platforms)",
      at: image.runStep,
    });
  }
}
