// The names of the files a project holds for build-images, in one place.

/** The config, found in the current directory unless --file names another. */
export const DEFAULT_CONFIG_FILE = 'build.config.yaml';

/** The tool's own files in a project: command stamps and the cache of file digests. Git-ignored, never an input. */
export const STATE_DIR = '.build-images';
