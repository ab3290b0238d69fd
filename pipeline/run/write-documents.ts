// The documents of the images a run ended with, written next to the metadata file (--metadata-file), for the
// subject each was pushed as in this run; an image pushed nowhere is named by its ID on the engine. Each
// image's files are told in a `documents` event (--json, and the metadata file's `build-images.documents`).
import path from 'node:path';
import { writeStateFile } from '../context/state-file.ts';
import { imageRef, repositoryOf } from '../model/image-ref.ts';
import { RunError } from '../model/errors.ts';
import type { AttestationSubject } from '../attest/attestation.ts';
import type { ImagePlan } from '../plan/plan.ts';
import type { RunServices } from './services.ts';

/** The media type of a subject known only on the engine: no manifest was pushed, its digest is the image ID. */
export const LOCAL_SUBJECT = 'application/vnd.build-images.local-image';

export interface DocumentTarget {
  image: ImagePlan;
  id: string;
  /** The first tag pushed in this run with the registry's digest for it. */
  pushed?: { tag: string; digest: string };
}

/** Writes each image's documents; false when one could not be made (its event says why). */
export async function writeDocuments(targets: readonly DocumentTarget[], services: Pick<RunServices, 'documents' | 'emit'>, dir: string): Promise<boolean> {
  const documents = services.documents;
  if (!documents) return true;
  let ok = true;
  // Side by side: each image's files are hashed and its binaries asked of Go while the others' are.
  const one = async ({ image, id, pushed }: DocumentTarget) => {
    const subject: AttestationSubject = pushed
      ? { repository: repositoryOf(imageRef(pushed.tag)), digest: pushed.digest, mediaType: '', size: 0 }
      : { repository: repositoryOf(imageRef(image.tags[0]!)), digest: id, mediaType: LOCAL_SUBJECT, size: 0 };
    try {
      const made = await documents(image.name, subject);
      if (made.length === 0) return;
      const files = made.map((doc) => path.join(dir, doc.fileName));
      await Promise.all(made.map((doc, i) => writeStateFile(files[i]!, new TextDecoder().decode(doc.body))));
      services.emit({ type: 'documents', image: image.name, subject: subject.digest, files });
    } catch (err) {
      if (!(err instanceof RunError)) throw err;
      ok = false;
      services.emit({ type: 'documents', image: image.name, subject: subject.digest, files: [], error: err.message, ...(err.hint ? { hint: err.hint } : {}) });
    }
  };
  await Promise.all(targets.map(one));
  return ok;
}
