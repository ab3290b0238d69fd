// Turns the sources known only at build time into plain ones: fetched files into cache paths, files of
// the base image into edited bytes (and their owners into build args).
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import type { ContextSource, PlainSource } from './context-entries.ts';
import type { ImageFile } from './engine.ts';
import { RunError } from './errors.ts';
import type { Fetcher } from './fetcher.ts';
import { applyEdit } from './file-edits.ts';

export interface SourceResolvers {
  fetcher: Fetcher;
  /** Reads a file of the image being built upon. */
  readBaseFile(imagePath: string): Promise<ImageFile>;
}

export interface ResolvedSources {
  sources: PlainSource[];
  args: Record<string, string>;
}

export async function resolveSources(sources: readonly ContextSource[], resolvers: SourceResolvers): Promise<ResolvedSources> {
  const resolved: PlainSource[] = [];
  const args: Record<string, string> = {};
  for (const source of sources) {
    if (source.kind === 'fetch') {
      const fetched = await resolvers.fetcher.fetch(source.url, source.sha256);
      if (source.extract) {
        const data = await extractMember(fetched.path, source.extract, source.url);
        resolved.push({ kind: 'bytes', name: source.name, data, mode: source.mode, origin: `${source.url}#${source.extract}` });
      } else {
        resolved.push({ kind: 'path', name: source.name, path: fetched.path, origin: source.url, mode: source.mode, excludes: [] });
      }
    } else if (source.kind === 'image-file') {
      const file = await resolvers.readBaseFile(source.imagePath);
      const edited = applyEdit(source.imagePath, file.content.toString('utf8'), file.mode, source.edit);
      resolved.push({ kind: 'bytes', name: source.name, data: edited.text, mode: edited.mode, origin: source.imagePath });
      args[source.ownerArg] = `${file.uid}:${file.gid}`;
    } else {
      resolved.push(source);
    }
  }
  return { sources: resolved, args };
}

/** One file out of a .tar.gz, held in memory: a single binary, such as the static docker client. */
async function extractMember(archive: string, member: string, url: string): Promise<Buffer> {
  const wanted = path.posix.normalize(member).replace(/^\.?\//, '');
  const extract = tar.extract();
  let found: Buffer | undefined;
  extract.on('entry', (header, stream, next) => {
    const name = path.posix.normalize(header.name).replace(/^\.?\//, '');
    if (name === wanted && header.type === 'file') {
      const chunks: Buffer[] = [];
      stream.on("data", (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        found = Buffer.concat(chunks);
        next();
      });
    } else {
      stream.on('end', next);
      stream.resume();
    }
  });
  await new Promise<void>((resolve, reject) => {
    createReadStream(archive).on('error', reject).pipe(createGunzip()).on('error', reject).pipe(extract).on('error', reject).on('finish', resolve);
  }).catch((err: Error) => {
    throw new RunError(`${url} is not a readable .tar.gz: ${err.message}`);
  });
  if (!found) throw new RunError(`${url} has no file ${member}`, 'check the path inside the archive (tar tzf lists it)');
  return found;
}
