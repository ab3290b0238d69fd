// The Engine interface carried out with dockerode. Loaded only when a command talks to the engine, so that
// --help and --dry-run start without it.
import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { connectionOptions, describeConnection, type ConnectionOptions } from './docker-connection.ts';
import type { BuildRequest, Engine, ImageInfo, RegistryAuth } from './engine.ts';
import { splitReference } from './engine.ts';
import { Interrupted, RunError } from './errors.ts';
import { readProgress } from './progress.ts';

interface EngineFailure {
  statusCode?: number;
  message?: string;
  code?: string;
  json?: { message?: string } | null;
}

export function connectEngine(options: ConnectionOptions = connectionOptions()): Engine {
  // No `timeout`: docker-modem applies it as a socket idle timeout, which kills a long quiet RUN.
  const docker = new Docker(options);
  const where = describeConnection(options);

  const failure = (doing: string, err: unknown, signal?: AbortSignal): Error => {
    if (signal?.aborted) return new Interrupted();
    const e = err as EngineFailure;
    if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'EACCES') {
      return new RunError(
        `cannot reach the Docker engine at ${where} (${e.code})`,
        e.code === 'EACCES'
          ? 'the socket is not yours to use: run as root or join the docker group'
          : 'start it (dockerd, or systemctl start docker), or point DOCKER_HOST at a running engine',
      );
    }
    const detail = e.json?.message ?? e.message ?? String(err);
    return new RunError(`${doing}: ${detail.replace(/^\(HTTP code \d+\) [\w ]+ - /, '').trim()}`);
  };

  const inspectImage = async (ref: string): Promise<ImageInfo | undefined> => {
    try {
      const info = await docker.getImage(ref).inspect();
      return { id: info.Id, labels: info.Config?.Labels ?? {} };
    } catch (err) {
      if ((err as EngineFailure).statusCode === 404) return undefined;
      throw failure(`inspecting ${ref}`, err);
    }
  };

  const streamed = async (doing: string, start: () => Promise<Readable>, onLine: (l: string) => void, signal: AbortSignal) => {
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
  };

  return {
    async ping() {
      try {
        await docker.ping();
      } catch (err) {
        throw failure('asking the engine', err);
      }
    },
    inspectImage,
    async pull(ref, onLine, signal) {
      const result = await streamed(`pulling ${ref}`, () => docker.pull(ref, { abortSignal: signal }) as Promise<Readable>, onLine, signal);
      if (result.error) throw new RunError(`pulling ${ref}: ${result.error}`, 'check the name and tag, and that you can reach its registry');
    },
    async build(request: BuildRequest) {
      const result = await streamed(
        'building',
        () =>
          docker.buildImage(request.context, {
            dockerfile: 'Dockerfile',
            buildargs: { ...request.buildargs },
            labels: { ...request.labels },
            nocache: request.noCache,
            pull: false,
            rm: true,
            // Without forcerm a failed RUN leaves its exited container behind.
            forcerm: true,
            abortSignal: request.signal,
          } as Docker.ImageBuildOptions) as Promise<Readable>,
        request.onLine,
        request.signal,
      );
      if (result.error) {
        throw new RunError(result.lastStep ? `${result.lastStep}: ${result.error}` : result.error);
      }
      const id = result.aux.map((a) => a.ID).filter(Boolean).pop();
      if (!id) throw new RunError('the engine finished the build without naming the image it made');
      return id;
    },
    async tag(id, ref) {
      const { repo, tag } = splitReference(ref);
      try {
        await docker.getImage(id).tag({ repo, tag });
      } catch (err) {
        throw failure(`tagging ${ref}`, err);
      }
    },
    async untag(ref) {
      try {
        await docker.getImage(ref).remove({ noprune: false });
        return true;
      } catch (err) {
        if ((err as EngineFailure).statusCode === 404) return false;
        throw failure(`removing ${ref}`, err);
      }
    },
    async push(ref, auth: RegistryAuth | undefined, onLine, signal) {
      const { repo, tag } = splitReference(ref);
      const result = await streamed(
        `pushing ${ref}`,
        () => docker.getImage(repo).push({ tag, authconfig: auth, abortSignal: signal } as never) as unknown as Promise<Readable>,
        onLine,
        signal,
      );
      if (result.error) throw new RunError(`pushing ${ref}: ${result.error}`);
      return { digest: result.aux.map((a) => a.Digest).filter(Boolean).pop() };
    },
  };
}
