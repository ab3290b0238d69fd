// A fresh CI runner has no fetch cache: the files the lock pins must decide an image's digest by their pins,
// with no download, and give the same digest the downloaded bodies give.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createFetcher } from '../../pipeline/context/fetcher.ts';
import { digestContext, listEntries, packEntries } from '../../pipeline/context/pack-context.ts';
import { resolveFetches } from '../../pipeline/context/resolve-sources.ts';
import { digestEntry } from '../../pipeline/attest/inventory.ts';
import type { ContextSource, PlainSource } from '../../pipeline/model/context-entries.ts';
import { fetchSettings } from '../support/fetch.ts';
import { answer, loopback } from '../support/loopback.ts';

const TYPES = 'tosca_definitions_version: cloudify_dsl_1_3\nnode_types:\n  dcae.nodes.policy:\n    derived_from: cloudify.nodes.Root\n';

const fetchSource = (url: string, sha256?: string): ContextSource => ({
  kind: 'fetch',
  name: 's03-fetch/dcaepolicyplugin_types.yaml',
  url,
  ...(sha256 ? { sha256 } : {}),
  mode: 0o644,
  expect: 'yaml',
  timeouts: { connect: 5, idle: 5 },
});

const contextDigest = async (sources: readonly PlainSource[]) => (await digestContext(await listEntries(sources))).sha256;

test('a file the lock pins decides the digest by its pin on a runner without the cache, downloads nothing, and equals the body’s digest', async () => {
  const server = await loopback(answer(TYPES, 'text/yaml'));
  try {
    const url = `${server.url}/dcaepolicyplugin/2.3.0/dcaepolicyplugin_types.yaml`;
    const first = await fetchSettings();
    const fetched = await resolveFetches([fetchSource(url)], createFetcher(first));
    assert.is(server.requests(), 1);
    const downloaded = await contextDigest(fetched as PlainSource[]);

    // The next job: the committed lock, a new cache.
    const fresh = await fetchSettings({ lockPath: first.lockPath });
    const records: { sha256: string }[] = [];
    const deferred = await resolveFetches([fetchSource(url)], createFetcher(fresh), records as never, true);
    assert.is(deferred[0]!.kind, 'pinned');
    assert.is(await contextDigest(deferred as PlainSource[]), downloaded);
    assert.is(server.requests(), 1, 'nothing fetched to decide');
    assert.is(records[0]!.sha256, (fetched as { path: string }[])[0]!.path.split('/').at(-1));

    // Its SBOM needs the SHA1 of the body: asked for, it comes then (once).
    const [entry] = await listEntries(deferred as PlainSource[]);
    const digests = await digestEntry(entry!);
    await digestEntry(entry!);
    assert.is(digests.size, Buffer.byteLength(TYPES));
    assert.is(server.requests(), 2);
  } finally {
    await server.close();
  }
});

test('a pin is not taken where the config expects another digest, or --update-lock asks again', async () => {
  const server = await loopback(answer(TYPES, 'text/yaml'));
  try {
    const url = `${server.url}/k8splugin/1.4.5/k8splugin_types.yaml`;
    const first = await fetchSettings();
    await resolveFetches([fetchSource(url)], createFetcher(first));
    const other = 'a'.repeat(64);
    assert.is(await createFetcher(await fetchSettings({ lockPath: first.lockPath })).pinned(url, { sha256: other }), undefined);
    assert.is(await createFetcher(await fetchSettings({ lockPath: first.lockPath, updateLock: true })).pinned(url), undefined);
  } finally {
    await server.close();
  }
});

test('a pinned file never reaches a build unfetched', async () => {
  const entries = await listEntries([
    { kind: 'pinned', name: 'types.yaml', sha256: 'b'.repeat(64), size: 3, mode: 0o644, origin: 'http://x/types.yaml', body: async () => '' },
  ]);
  const tar = packEntries(entries);
  const err = await new Promise<Error>((resolve) => {
    tar.on('error', resolve);
    tar.resume();
  });
  assert.match(err.message, /was not fetched before its build/);
});

test.run();
