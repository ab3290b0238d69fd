// Asking the engine nothing twice. Within a run, an image's inspection is remembered until the run itself
// changes what the reference names (tag, untag, pull). Across runs, a file read from an image is kept by
// image ID: an ID names immutable content, so a run that changed nothing reads the Cloudify base's files
// without creating a container; and the image found for a label (the digest of a build's inputs) is
// remembered, so that finding it again is one inspect, not a listing of every image.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageFile, ImageInfo, ImageStore } from './engine.ts';
import { writePrivately } from '../context/state-file.ts';

export function rememberingInspections(store: ImageStore): ImageStore {
  const known = new Map<string, Promise<ImageInfo | undefined>>();
  const forget = (ref: string) => known.delete(ref);
  return {
    ...store,
    inspectImage(ref) {
      let info = known.get(ref);
      if (!info) {
        info = store.inspectImage(ref);
        known.set(ref, info);
        // A failed inspection is not remembered: the next ask tries again.
        info.catch(() => forget(ref));
      }
      return info;
    },
    async pull(ref, credentials, onLine, signal) {
      forget(ref);
      await store.pull(ref, credentials, onLine, signal);
      forget(ref);
    },
    async tag(id, ref) {
      forget(ref);
      await store.tag(id, ref);
      forget(ref);
    },
    async untag(ref) {
      forget(ref);
      const removed = await store.untag(ref);
      forget(ref);
      return removed;
    },
    async push(ref, credentials, onLine, signal) {
      // A push adds a repo digest to the image.
      const pushed = await store.push(ref, credentials, onLine, signal);
      forget(ref);
      return pushed;
    },
  };
}

/** At most this many labels are remembered; the oldest go first. */
const FOUND_IMAGES_KEPT = 1000;

/**
 * The image found for a label, remembered in `file` across runs. Listing images by label makes the engine
 * read every image's config (16-47 ms with 73 images here, growing with the engine's images); ONAP's
 * timestamped tag asks it on every run. What is remembered is only a hint: the image is inspected, and used
 * only while it still carries the label (another engine, a removed image, a hostile file: it is listed again).
 */
export function rememberingFoundImages(store: ImageStore, file: string): ImageStore {
  let remembered: Promise<Map<string, string>> | undefined;
  const load = () => (remembered ??= readFile(file, 'utf8').then(parseFound, () => new Map<string, string>()));
  const knownImage = async (label: string, value: string) => {
    const id = (await load()).get(`${label}=${value}`);
    const info = id ? await store.inspectImage(id) : undefined;
    return info?.labels[label] === value ? info : store.knownImage(label, value);
  };
  return {
    ...store,
    knownImage,
    async findImage(label, value) {
      const known = await knownImage(label, value);
      if (known) return known;
      const found = await store.findImage(label, value);
      if (found) {
        const key = `${label}=${value}`;
        const ids = await load();
        ids.delete(key);
        ids.set(key, found.id);
        await saveFound(file, ids).catch(() => {
          // Not remembered: the next run lists images again, nothing worse.
        });
      }
      return found;
    },
  };
}

function parseFound(text: string): Map<string, string> {
  try {
    const entries = Object.entries(JSON.parse(text) as Record<string, unknown>);
    return new Map(entries.filter((e): e is [string, string] => typeof e[1] === 'string' && /^sha256:[a-f0-9]{64}$/.test(e[1])));
  } catch {
    return new Map();
  }
}

function saveFound(file: string, known: Map<string, string>): Promise<void> {
  return writePrivately(file, JSON.stringify(Object.fromEntries([...known].slice(-FOUND_IMAGES_KEPT))));
}

interface CachedFile {
  mode: number;
  uid: number;
  gid: number;
  content: string;
}

/** Files of images named by ID, kept in `dir` (the user's cache, mode 0600: a base's files may be private). */
export function cachingImageFiles(store: ImageStore, dir: string): ImageStore {
  return {
    ...store,
    async readFile(image, file, labels) {
      if (!/^sha256:[a-f0-9]{64}$/.test(image)) return store.readFile(image, file, labels);
      const key = path.join(dir, image.slice(7), `${createHash('sha256').update(file).digest('hex')}.json`);
      const cached = await readFile(key, 'utf8').then(parseCached, () => undefined);
      if (cached) return cached;
      const read = await store.readFile(image, file, labels);
      await saveCached(key, read).catch(() => {
        // A cache that cannot be written only costs the next run a container.
      });
      return read;
    },
  };
}

function parseCached(text: string): ImageFile | undefined {
  try {
    const entry = JSON.parse(text) as CachedFile;
    if (typeof entry.content !== 'string' || typeof entry.mode !== 'number') return undefined;
    return { content: Buffer.from(entry.content, 'base64'), mode: entry.mode, uid: entry.uid, gid: entry.gid };
  } catch {
    return undefined;
  }
}

function saveCached(key: string, file: ImageFile): Promise<void> {
  const entry: CachedFile = { mode: file.mode, uid: file.uid, gid: file.gid, content: file.content.toString('base64') };
  return writePrivately(key, JSON.stringify(entry));
}
