// The wiring of a real run, in one place: the engine's backends, the fetcher and its lock, the digest cache,
// credentials as the docker CLI finds them, the registry client. Tests build their own RunServices.
import path from 'node:path';
import { loadDigestCache } from '../context/digest-cache.ts';
import { rememberingEdits } from '../context/edit-cache.ts';
import { defaultCacheDir } from '../context/cache-dir.ts';
import { createFetcher, LOCK_FILE } from '../context/fetcher.ts';
import { createEngine, type EngineOptions } from '../engine/create-engine.ts';
import type { BuildMachine, Engine, ImageStore } from '../engine/engine.ts';
import type { BuilderConfig } from '../config/schema.ts';
import { cachingImageFiles, rememberingFoundImages, rememberingInspections } from '../engine/cached-store.ts';
import { STATE_DIR } from '../model/project-files.ts';
import { registryCredentials } from '../registry/registry-auth.ts';
import { remoteDigest } from '../registry/registry-client.ts';
import { putRemoteTag, remoteImage, remoteManifest, remoteManifestJson, type RemoteImage } from '../registry/registry-images.ts';
import { attachReferrers } from '../registry/referrers.ts';
import { putAttestationTag } from '../registry/cosign-tags.ts';
import { manifestPlatform, putIndex } from '../registry/attestation-index.ts';
import type { RunEvent } from './events.ts';
import type { Config } from '../config/schema.ts';
import type { CredentialVariables } from '../model/credentials.ts';
import type { GivenValues } from '../model/given-values.ts';
import { secretReader } from './secrets.ts';
import { sleep, type RunServices } from './services.ts';

export interface ServiceSettings {
  projectDir: string;
  offline: boolean;
  updateLock: boolean;
  signal: AbortSignal;
  secrets: Config['secrets'];
  /** Which environment variables carry which registry's credentials (they go to that registry only). */
  credentials: readonly CredentialVariables[];
  /** Values given with --set or by the environment, which no file the tool writes may hold. */
  given: GivenValues;
  /** undefined when the line needs no engine (host commands alone). */
  engine: EngineOptions | undefined;
  /** The builders a config or BUILD_IMAGES_BUILDERS names: then these, not DOCKER_HOST's engine. */
  builders?: { list: readonly BuilderConfig[]; baseDir: string; capacity: number };
  emit(event: RunEvent): void;
}

export async function createServices(settings: ServiceSettings): Promise<RunServices> {
  const cacheDir = defaultCacheDir();
  // The digest cache is read while the engine answers its ping.
  const pruneStamps = path.join(cacheDir, 'pruned.json');
  const machinesMade = settings.engine && settings.builders ? machinesOf(settings.engine, settings.builders, pruneStamps, cacheDir) : undefined;
  const [engine, machines, digests] = await Promise.all([
    machinesMade ? machinesMade.then((m) => m[0]!) : settings.engine ? createEngine({ ...settings.engine, pruneStamps }) : noEngine(),
    machinesMade,
    loadDigestCache(path.join(settings.projectDir, STATE_DIR, 'digests.json'), {
      notice: (message) => settings.emit({ type: 'notice', message }),
    }),
  ]);
  return {
    images: machines ? engine.images : cached(engine.images, cacheDir, 'found-images.json'),
    builder: engine.builder,
    ...(machines ? { machines } : {}),
    edit: rememberingEdits(path.join(cacheDir, 'edited-files'), undefined, settings.given),
    emit: settings.emit,
    signal: settings.signal,
    fetcher: createFetcher({
      cacheDir,
      lockPath: path.join(settings.projectDir, LOCK_FILE),
      offline: settings.offline,
      updateLock: settings.updateLock,
      signal: settings.signal,
      given: settings.given,
    }),
    digests,
    credentials: registryCredentials(settings.credentials),
    remoteDigest: (ref, credentials) => remoteDigest(ref, credentials),
    registry: rememberingRegistry(),
    referrers: {
      subject: remoteManifest,
      attach: attachReferrers,
      attestationTag: putAttestationTag,
      index: { read: remoteManifestJson, platform: manifestPlatform, put: putIndex },
    },
    sleep,
    now: Date.now,
    secret: secretReader(settings.secrets, settings.projectDir),
  };
}

/** Asking nothing twice (cached-store.ts); a builder's found images are kept apart from another's. */
function cached(store: ImageStore, cacheDir: string, foundFile: string): ImageStore {
  return cachingImageFiles(rememberingFoundImages(rememberingInspections(store), path.join(cacheDir, foundFile)), path.join(cacheDir, 'image-files'));
}

async function machinesOf(
  engine: EngineOptions,
  builders: NonNullable<ServiceSettings['builders']>,
  pruneStamps: string,
  cacheDir: string,
): Promise<BuildMachine[]> {
  const { createBuilders } = await import('../engine/create-builders.ts');
  const machines = await createBuilders(builders.list, { ...engine, pruneStamps, baseDir: builders.baseDir, capacity: builders.capacity });
  return machines.map((m) => ({ ...m, images: cached(m.images, cacheDir, `found-images-${m.name.replace(/\//g, '_')}.json`) }));
}

/** For a line that only runs host commands: the engine is never asked, so any use of it is a bug. */
function noEngine(): Engine {
  const unused = () => {
    throw new Error('the engine was used by a line that was planned not to need it');
  };
  return {
    images: {
      ping: unused,
      inspectImage: unused,
      findImage: unused,
      knownImage: unused,
      newestImage: unused,
      imageIds: unused,
      pull: unused,
      tag: unused,
      untag: unused,
      push: unused,
      readFile: unused,
    },
    builder: { name: 'classic', build: unused, pruneCache: unused },
  };
}

/** The registry asked once per tag in a run (two images on one base ask for it once); a tag made there is asked again. */
function rememberingRegistry(): RunServices['registry'] {
  const asked = new Map<string, Promise<RemoteImage | undefined>>();
  return {
    image(ref, credentials) {
      let answer = asked.get(ref);
      if (!answer) {
        answer = remoteImage(ref, credentials);
        asked.set(ref, answer);
        answer.catch(() => asked.delete(ref));
      }
      return answer;
    },
    async putTag(image, target, credentials) {
      asked.delete(target);
      return putRemoteTag(image, target, credentials);
    },
  };
}
