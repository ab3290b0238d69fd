// The tool's own files in a project: command stamps and the cache of file digests. Git-ignored, never an input.
export const STATE_DIR = '.build-images';
