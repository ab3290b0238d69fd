// The user's cache of build-images: fetched files, files read from base images, edits, prepared configs.
// Each user's own (the files of a private base land here), never the project's, which a checkout could plant.
import os from 'node:os';
import path from 'node:path';

export function defaultCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env['BUILD_IMAGES_CACHE']) return env['BUILD_IMAGES_CACHE'];
  return path.join(env['XDG_CACHE_HOME'] || path.join(os.homedir(), '.cache'), 'build-images');
}
