// The image store on the Docker Engine API, and the engine's failures said as a user needs them: the small
// calls on our own client (engine-api.ts), what streams on dockerode, loaded at its first use. Loaded only
// when a command talks to the engine, so that --help and --dry-run start without it.
import { enginePlatform } from '../../model/platform.ts';
import type Docker from 'dockerode';
import path from 'node:path';
import type { Header } from 'tar-stream';
import type { Readable } from 'node:stream';
import type { ImageFile, ImageIdKind, ImageInfo, ImageStore } from '../engine.ts';
import type { Credentials } from '../../model/credentials.ts';
import { serverAddress } from '../../model/image-ref.ts';
import { imageRef, parseImageRef, repositoryOf, tagOf } from '../../model/image-ref.ts';
import { InputMismatch, Interrupted, RunError, UserError } from '../../model/errors.ts';
import { EDITABLE_FILE_MAX } from '../../model/file-edit.ts';
import { readProgress } from './progress.ts';
import { nameInPath, ping, type EngineApi } from './engine-api.ts';

interface EngineFailure {
  statusCode?: number;
  message?: string;
  code?: string;
  syscall?: string;
  json?: { message?: string } | null;
}

export type Failure = (doing: string, err: unknown, signal?: AbortSignal) => Error;

/** Turns what dockerode throws into our errors: an unreachable engine says how to start one. */
export function engineFailure(where: string): Failure {
  return (doing, err, signal) => {
    if (signal?.aborted) return new Interrupted();
    // Our own errors, such as the context's (a file that changed or vanished while packed), pass through:
    // an ENOENT of the context is not the engine's socket.
    const own = [err, (err as { cause?: unknown })?.cause].find((e) => e instanceof RunError || e instanceof UserError);
    if (own) return own as Error;
    const e = err as EngineFailure;
    if (e.syscall === 'connect' && (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'EACCES')) {
      return new RunError(
        `cannot reach the Docker engine at ${where} (${e.code})`,
        e.code === 'EACCES'
          ? 'the socket is not yours to use: run as root or join the docker group'
          : 'start it (dockerd, or systemctl start docker), or point DOCKER_HOST at a running engine',
      );
    }
    // The answer cut off half-way: the engine stopped or restarted (dockerd killed, out of memory).
    if (e.code === 'ECONNRESET' || e.code === 'EPIPE' || e.message === 'aborted' || e.code === 'ERR_STREAM_PREMATURE_CLOSE') {
      return new RunError(
        `${doing}: the Docker engine at ${where} closed the connection (${e.code ?? e.message})`,
        'did dockerd stop or restart? its log (journalctl -u docker) says why',
      );
    }
    const detail = e.json?.message ?? e.message ?? String(err);
    return new RunError(`${doing}: ${detail.replace(/^\(HTTP code \d+\) [\w ]+ - /, '').trim()}`);
  };
}

/** Reads a progress stream to its end; a request refused before the stream is a failure too. */
export async function streamed(failure: Failure, doing: string, start: () => Promise<Readable>, onLine: (l: string) => void, signal: AbortSignal) {
  let stream: Readable;
  try {
    stream = await start();
  } catch (err) {
    throw failure(doing, err, signal);
  }
  const result = await readProgress(stream, onLine).catch((err: unknown) => {
    throw failure(doing, err, signal);
  });
  if (signal.aborted) throw new Interrupted();
  return result;
}

export function dockerImageStore(api: EngineApi, dockerode: () => Promise<Docker>, failure: Failure): ImageStore {
  const inspectImage = async (ref: string): Promise<ImageInfo | undefined> => {
    try {
      const info = (await api.request('GET', `/images/${nameInPath(ref)}/json`)).json as Docker.ImageInspectInfo;
      return { id: info.Id, labels: info.Config?.Labels ?? {}, repoDigests: info.RepoDigests ?? [] };
    } catch (err) {
      if ((err as EngineFailure).statusCode === 404) return undefined;
      throw failure(`inspecting ${ref}`, err);
    }
  };

  // GET /info, asked once: the image store (for image IDs), the version (for the provenance) and the
  // engine's own platform (what it builds without emulation) all come from it.
  let info: Promise<{ idKind: ImageIdKind; version?: string; platform?: string }> | undefined;
  const engineInfo = () =>
    (info ??= api.request('GET', '/info').then(
      ({ json }) => {
        const answer = json as { DriverStatus?: [string, string][] | null; ServerVersion?: unknown; OSType?: unknown; Architecture?: unknown };
        const status = (answer.DriverStatus ?? []).flat();
        const idKind: ImageIdKind = status.some((s) => s.startsWith('io.containerd.snapshotter')) ? 'manifest' : 'config';
        return {
          idKind,
          ...(typeof answer.ServerVersion === 'string' ? { version: answer.ServerVersion } : {}),
          ...(typeof answer.OSType === 'string' && typeof answer.Architecture === 'string'
            ? { platform: enginePlatform(answer.OSType, answer.Architecture) }
            : {}),
        };
      },
      (err: unknown) => {
        info = undefined;
        throw failure('asking the engine about its image store', err);
      },
    ));
  return {
    imageIds: async () => (await engineInfo()).idKind,
    engineVersion: async () => (await engineInfo()).version,
    nativePlatform: async () => (await engineInfo()).platform,
    // Nothing is remembered here: cached-store.ts remembers.
    knownImage: async () => undefined,
    async findImage(label, value) {
      let found: Docker.ImageInfo | undefined;
      try {
        const filters = JSON.stringify({ label: [`${label}=${value}`] });
        [found] = (await api.request('GET', '/images/json', { filters })).json as Docker.ImageInfo[];
      } catch (err) {
        throw failure(`looking for an image labelled ${label}`, err);
      }
      // The list's summary has all an ImageInfo holds: no inspect after it.
      return found && { id: found.Id, labels: found.Labels ?? {}, repoDigests: found.RepoDigests ?? [] };
    },
    async newestImage(label, value, repositories) {
      let listed: Docker.ImageInfo[];
      try {
        listed = (await api.request('GET', '/images/json', { filters: JSON.stringify({ label: [`${label}=${value}`] }) })).json as Docker.ImageInfo[];
      } catch (err) {
        throw failure(`looking for earlier images labelled ${label}`, err);
      }
      const wanted = new Set<string | undefined>(repositories);
      // Another project's image of the same name is in other repositories; `<none>:<none>` parses as none.
      const ours = listed.filter((i) => (i.RepoTags ?? []).some((tag) => wanted.has(repositoryOfTag(tag))));
      const newest = ours.reduce<Docker.ImageInfo | undefined>((a, b) => (a && a.Created >= b.Created ? a : b), undefined);
      return newest && { id: newest.Id, labels: newest.Labels ?? {}, repoDigests: newest.RepoDigests ?? [] };
    },
    async ping() {
      try {
        await ping(api);
      } catch (err) {
        throw failure('asking the engine', err);
      }
    },
    inspectImage,
    async pull(ref, auth, onLine, signal) {
      const hint = 'check the name and tag, that you can reach its registry, and its credentials';
      // The engine refuses some pulls at once (an unknown host) and others inside the stream (no such tag).
      const result = await streamed(
        failure,
        `pulling ${ref}`,
        async () => (await dockerode()).pull(ref, { authconfig: authConfig(auth), abortSignal: signal }) as Promise<Readable>,
        onLine,
        signal,
      ).catch((err: unknown) => {
        throw err instanceof RunError && !err.hint ? new RunError(err.message, hint) : err;
      });
      if (result.error) throw new RunError(`pulling ${ref}: ${result.error}`, hint);
    },
    async tag(id, ref) {
      const parsed = imageRef(ref);
      const [repo, tag] = [repositoryOf(parsed), tagOf(parsed)];
      try {
        await api.request('POST', `/images/${nameInPath(id)}/tag`, { repo, tag });
      } catch (err) {
        throw failure(`tagging ${ref}`, err);
      }
    },
    async untag(ref) {
      try {
        await api.request('DELETE', `/images/${nameInPath(ref)}`);
        return true;
      } catch (err) {
        if ((err as EngineFailure).statusCode === 404) return false;
        throw failure(`removing ${ref}`, err);
      }
    },
    async readFile(image, file, labels) {
      const container = await dockerode()
        .then((docker) => docker.createContainer({ Image: image, Entrypoint: [], Cmd: ['/nonexistent'], NetworkDisabled: true, Labels: { ...labels } }))
        .catch((err: unknown) => {
          throw failure(`reading ${file} of ${shortRef(image)}`, err);
        });
      try {
        let current = file;
        for (let hop = 0; hop < 10; hop++) {
          const entry = await readEntry(container, current);
          if (!entry)
            throw new InputMismatch(`${file} does not exist in the base image ${shortRef(image)}`, 'check the path, and that the base is the one you mean');
          if (entry.linkname === undefined) return entry.file;
          // A link is not followed by the archive call: resolve it and ask again.
          current = entry.linkname.startsWith('/') ? entry.linkname : path.posix.join(path.posix.dirname(current), entry.linkname);
        }
        throw new RunError(`${file} in ${shortRef(image)}: too many symbolic links`);
      } finally {
        await container.remove({ force: true, v: true }).catch(() => {});
      }
    },
    async push(ref, auth, onLine, signal) {
      const parsed = imageRef(ref);
      const [repo, tag] = [repositoryOf(parsed), tagOf(parsed)];
      let said: string | undefined;
      const result = await streamed(
        failure,
        `pushing ${ref}`,
        async () =>
          (await dockerode()).getImage(repo).push({ tag, authconfig: authConfig(auth), abortSignal: signal } as never) as unknown as Promise<Readable>,
        (line) => {
          said = pushedDigest(line, tag) ?? said;
          onLine(line);
        },
        signal,
      );
      if (result.error) throw new RunError(`pushing ${ref}: ${result.error}`);
      return {
        digest:
          result.aux
            .map((a) => a.Digest)
            .filter(Boolean)
            .pop() ?? said,
      };
    },
  };
}

/**
 * The digest of a pushed tag from the line both image stores end a push with, `<tag>: digest: sha256:… size: N`:
 * the containerd store sends no `aux.Digest`, which the graphdriver's pusher does.
 */
export function pushedDigest(line: string, tag: string): string | undefined {
  const m = /^(\S+): digest: (sha256:[0-9a-f]{64}) size: \d+$/.exec(line.trim());
  return m && m[1] === tag ? m[2] : undefined;
}

/** Our credentials as the engine's X-Registry-Auth header wants them. */
function authConfig(credentials: Credentials | undefined) {
  if (!credentials) return undefined;
  const serveraddress = serverAddress(credentials.registry);
  return 'identityToken' in credentials
    ? { identitytoken: credentials.identityToken, serveraddress }
    : { username: credentials.username, password: credentials.password, serveraddress };
}

function shortRef(image: string): string {
  return image.startsWith('sha256:') ? image.slice(7, 19) : image;
}

/** Why an archive entry is not a file edit can read: a directory (it made /etc/etc), a device, a huge file. */
function unreadable(file: string, header: Header): RunError | undefined {
  if (header.type !== 'file' && header.type !== 'symlink' && header.type !== 'contiguous-file') {
    return new InputMismatch(
      `${file} is a ${header.type === 'directory' ? 'directory' : header.type} in the base image: edit changes one file`,
      'name a file, such as /etc/app/config.yaml',
    );
  }
  if ((header.size ?? 0) > EDITABLE_FILE_MAX) {
    const mib = (n: number) => `${Math.round(n / 1024 / 1024)} MiB`;
    return new InputMismatch(
      `${file} in the base image is ${mib(header.size!)}: edit reads files of up to ${mib(EDITABLE_FILE_MAX)}`,
      'edit is for config files and scripts, which are small; for a large file, copy one of your own',
    );
  }
  return undefined;
}

/** The single entry of GET /containers/{id}/archive: a file's bytes and header, or a link's target. */
async function readEntry(container: Docker.Container, file: string): Promise<{ file: ImageFile; linkname?: string } | undefined> {
  let archive: NodeJS.ReadableStream;
  try {
    archive = await container.getArchive({ path: file });
  } catch (err) {
    if ((err as EngineFailure).statusCode === 404) return undefined;
    throw new RunError(`reading ${file}: ${(err as Error).message}`);
  }
  // Loaded here: a run that reads no base file (most) never needs it.
  const { default: tar } = await import('tar-stream');
  const extract = tar.extract();
  let result: { file: ImageFile; linkname?: string } | undefined;
  await new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      // Refused from the header, before a byte is buffered; the rest of the archive is not even downloaded.
      const refused = result ? undefined : unreadable(file, header);
      if (refused) {
        stream.on('error', () => {});
        reject(refused);
        (archive as Readable).destroy();
        extract.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        if (!result) {
          const meta = { mode: (header.mode ?? 0o644) & 0o7777, uid: header.uid ?? 0, gid: header.gid ?? 0 };
          result =
            header.type === 'symlink'
              ? { file: { content: Buffer.alloc(0), ...meta }, linkname: header.linkname ?? '' }
              : { file: { content: Buffer.concat(chunks), ...meta } };
        }
        next();
      });
    });
    archive.pipe(extract).on('finish', resolve).on('error', reject);
  });
  return result;
}

function repositoryOfTag(tag: string): string | undefined {
  const parsed = parseImageRef(tag);
  return parsed.ok ? repositoryOf(parsed.ref) : undefined;
}
