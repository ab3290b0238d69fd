// A file the tool rewrites whole during a run (the lock, the digest cache). Images finish in parallel, so
// writes go one after the other; each is written beside the file and renamed over it, so an interrupted
// run leaves the old file or the new one, never half of one.
import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export function stateFileWriter(file: string): (text: string) => Promise<void> {
  let queue = Promise.resolve();
  return (text) => {
    queue = queue.then(async () => {
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${randomUUID()}`;
      await writeFile(tmp, text);
      await rename(tmp, file);
    });
    return queue;
  };
}
