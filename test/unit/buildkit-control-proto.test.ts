// The Control API's messages we write and read by hand (control-proto.ts), against protobufjs reading and
// writing them from upstream's field numbers; the options a build becomes (frontend attributes, cache).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { solveMessage } from '../../pipeline/engine/buildkit/builder.ts';
import { decodeListWorkersResponse, decodeSolveResponse, encodeSolveRequest, encodeStatusRequest } from '../../pipeline/engine/buildkit/control-proto.ts';
import { cacheEntries, frontendAttrs } from '../../pipeline/engine/buildkit/solve.ts';
import { reference } from '../support/protobuf-reference.ts';

const request = {
  ref: 'r1',
  session: 's1',
  frontend: 'dockerfile.v0',
  frontendAttrs: { filename: 'Dockerfile', 'no-cache': '', 'build-arg:Ü': 'ünï ☃' },
  exporter: { type: 'moby', attrs: {} },
  cacheExports: [{ type: 'inline', attrs: {} }],
  cacheImports: [{ type: 'registry', attrs: { ref: 'reg.example:5000/a/b:1' } }],
};

test('a SolveRequest reads back in protobufjs: the exporter in the old fields and in Exporters, the cache, the attributes', () => {
  const decoded = reference('SolveRequest').decode(encodeSolveRequest(request));
  assert.equal(decoded, {
    Ref: 'r1',
    Exporter: 'moby',
    ExporterAttrs: {},
    Session: 's1',
    Frontend: 'dockerfile.v0',
    FrontendAttrs: { filename: 'Dockerfile', 'no-cache': '', 'build-arg:Ü': 'ünï ☃' },
    Cache: {
      ExportRefDeprecated: '',
      ExportAttrsDeprecated: {},
      ImportRefsDeprecated: ['reg.example:5000/a/b:1'],
      Exports: [{ Type: 'inline', Attrs: {} }],
      Imports: [{ Type: 'registry', Attrs: { ref: 'reg.example:5000/a/b:1' } }],
    },
    Exporters: [{ Type: 'moby', Attrs: {} }],
  });
  const onlyNew = reference('SolveRequest').decode(encodeSolveRequest(request, 'new'));
  assert.equal([onlyNew['Exporter'], (onlyNew['Exporters'] as unknown[]).length], ['', 1]);
  const onlyOld = reference('SolveRequest').decode(encodeSolveRequest(request, 'old'));
  assert.equal([onlyOld['Exporter'], (onlyOld['Exporters'] as unknown[]).length], ['moby', 0]);
});

test('a registry cache export goes in Exports only: the daemon would append a deprecated ExportRef to them a second time', () => {
  const exporting = { ...request, cacheExports: [{ type: 'registry', attrs: { ref: 'reg.example:5000/a/cache:x', mode: 'max' } }] };
  const decoded = reference('SolveRequest').decode(encodeSolveRequest(exporting)) as { Cache: Record<string, unknown> };
  assert.equal(decoded.Cache['Exports'], [{ Type: 'registry', Attrs: { ref: 'reg.example:5000/a/cache:x', mode: 'max' } }]);
  assert.is(decoded.Cache['ExportRefDeprecated'], '');
  assert.equal(decoded.Cache['ExportAttrsDeprecated'], {});
});

test('StatusRequest, SolveResponse and ListWorkersResponse as protobufjs writes them', () => {
  assert.equal(reference('StatusRequest').decode(encodeStatusRequest('abc')), { Ref: 'abc' });
  const response = reference('SolveResponse').encode({ ExporterResponse: { 'containerimage.digest': 'sha256:1', 'image.name': '' } });
  assert.equal(decodeSolveResponse(response), { 'containerimage.digest': 'sha256:1', 'image.name': '' });
  const workers = reference('ListWorkersResponse').encode({
    record: [
      {
        ID: 'moby',
        platforms: [
          { OS: 'linux', Architecture: 'amd64' },
          { OS: 'linux', Architecture: 'arm', Variant: 'v7' },
        ],
      },
      { ID: 'w2', Labels: { 'org.mobyproject.buildkit.worker.executor': 'containerd' } },
    ],
  });
  assert.equal(decodeListWorkersResponse(workers), [
    {
      id: 'moby',
      labels: {},
      platforms: [
        { os: 'linux', architecture: 'amd64', variant: '' },
        { os: 'linux', architecture: 'arm', variant: 'v7' },
      ],
      buildkitVersion: '',
    },
    { id: 'w2', labels: { 'org.mobyproject.buildkit.worker.executor': 'containerd' }, platforms: [], buildkitVersion: '' },
  ]);
});

test('a build becomes the Dockerfile frontend options POST /build gave it: no network, args, labels, no-cache', () => {
  assert.equal(frontendAttrs({ buildargs: { A: '1' }, labels: { 'x.y': 'z' }, noCache: true }), {
    filename: 'Dockerfile',
    'force-network-mode': 'none',
    'no-cache': '',
    'build-arg:A': '1',
    'label:x.y': 'z',
  });
  assert.not.ok('no-cache' in frontendAttrs({ buildargs: {}, labels: {}, noCache: false }));
  // A named context replaces what a FROM of that name would resolve (a buildkitd's pinned base).
  const pinned = frontendAttrs({ buildargs: {}, labels: {}, noCache: false, contexts: { 'r/base:1': 'docker-image://r/base@sha256:ab' } });
  assert.is(pinned['context:r/base:1'], 'docker-image://r/base@sha256:ab');
  // The frontend imports what its own options name: both forms, the newer JSON and 20.10's list.
  const withCache = frontendAttrs({ buildargs: {}, labels: {}, noCache: false, cache: { from: ['r/a:1', 'r/b:2'], inline: true } });
  assert.equal(JSON.parse(withCache['cache-imports']!), [
    { Type: 'registry', Attrs: { ref: 'r/a:1' } },
    { Type: 'registry', Attrs: { ref: 'r/b:2' } },
  ]);
  assert.is(withCache['cache-from'], 'r/a:1,r/b:2');
  assert.equal(cacheEntries({ from: ['r/a:1'], inline: true }), {
    exports: [{ type: 'inline', attrs: {} }],
    imports: [{ type: 'registry', attrs: { ref: 'r/a:1' } }],
  });
  assert.equal(cacheEntries(undefined), { exports: [], imports: [] });
  // A registry export is a cache entry of its own, ref and mode as buildx sends them.
  assert.equal(cacheEntries({ from: [], inline: false, registry: { ref: 'r/a:cache', mode: 'max' } }).exports, [
    { type: 'registry', attrs: { ref: 'r/a:cache', mode: 'max' } },
  ]);
  // A directory: dest and src name the session's content store; an import carries the manifest digest its
  // index.json names, and 20.10's list form (registry references only) leaves it out.
  const local = { from: ['r/a:1'], inline: false, local: { dest: '/c/out', mode: 'min' as const } };
  const imports = [{ src: '/c/in', digest: 'sha256:' + 'f'.repeat(64) }];
  assert.equal(cacheEntries(local, imports), {
    exports: [{ type: 'local', attrs: { dest: '/c/out', mode: 'min' } }],
    imports: [
      { type: 'registry', attrs: { ref: 'r/a:1' } },
      { type: 'local', attrs: { src: '/c/in', digest: 'sha256:' + 'f'.repeat(64) } },
    ],
  });
  const localAttrs = frontendAttrs({ buildargs: {}, labels: {}, noCache: false, cache: local, localImports: imports });
  assert.equal(JSON.parse(localAttrs['cache-imports']!)[1], { Type: 'local', Attrs: { src: '/c/in', digest: 'sha256:' + 'f'.repeat(64) } });
  assert.is(localAttrs['cache-from'], 'r/a:1');
  const onlyDirs = frontendAttrs({ buildargs: {}, labels: {}, noCache: false, cache: { from: [], inline: false }, localImports: imports });
  assert.ok(onlyDirs['cache-imports'] && !('cache-from' in onlyDirs));
  const decoded = reference('SolveRequest').decode(
    encodeSolveRequest({ ...request, cacheExports: cacheEntries(local, imports).exports, cacheImports: cacheEntries(local, imports).imports }),
  ) as { Cache: Record<string, unknown> };
  assert.equal(decoded.Cache['ImportRefsDeprecated'], ['r/a:1'], 'the old field holds registry references only');
  assert.equal((decoded.Cache['Imports'] as unknown[]).length, 2);
});

test('a Solve error loses gRPC and frontend wrapping, keeps the daemon words', () => {
  assert.is(
    solveMessage(
      'failed to solve: rpc error: code = Unknown desc = failed to solve with frontend dockerfile.v0: failed to build LLB: executor failed running [/bin/sh -c false]: exit code: 1',
    ),
    'executor failed running [/bin/sh -c false]: exit code: 1',
  );
  assert.is(
    solveMessage('failed to solve: dockerfile parse error on line 2: unknown instruction: FROMM'),
    'dockerfile parse error on line 2: unknown instruction: FROMM',
  );
});

test.run();
