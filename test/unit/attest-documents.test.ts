// The supply-chain documents of one image, made from a real plan and a record of its inputs shaped as a
// build leaves it: validated as consumers validate them, deterministic, without secrets, h1: sums never as
// sha256, Go's modules and govendor's packages as they are reported.
import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { documentFileName, documentsFor, refuseSecrets, type DocumentSettings, type RunFacts } from '../../pipeline/attest/documents.ts';
import { copyLines, inputLog, placeEntries } from '../../pipeline/attest/inventory.ts';
import { copyArgs, platformCopyArgs } from '../../pipeline/plan/dockerfile.ts';
import { commandFlags, parseVendorJson, parseVersionM, vendoredPackages } from '../../pipeline/attest/go-modules.ts';
import { documentChoice } from '../../pipeline/attest/document-choice.ts';
import { documentFlags } from '../../pipeline/cli/options.ts';
import { createdStamp } from '../../pipeline/plan/labels.ts';
import { isSecretName } from '../../pipeline/cli/document-services.ts';
import { downloadLocation, genericPurl, ociPurl } from '../../pipeline/attest/sbom-model.ts';
import type { AttestationDocument, AttestationSubject } from '../../pipeline/attest/attestation.ts';
import type { PackEntry } from '../../pipeline/model/context-entries.ts';
import type { SbomFile } from '../../pipeline/attest/sbom-model.ts';
import { RunError } from '../../pipeline/model/errors.ts';
import { prepareText, problemsOf, yaml } from '../support/config.ts';
import { cyclonedxProblems, provenanceProblems, spdxProblems } from '../support/documents.ts';

const SECRET = 'hunter2-build-secret';
const SET_TOKEN = 'tok-7f3a9c1e-given-on-the-command-line';
const BASE_DIGEST = `sha256:${'b'.repeat(64)}`;
const SUBJECT: AttestationSubject = {
  repository: 'registry.example:5000/team/app',
  digest: `sha256:${'a'.repeat(64)}`,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  size: 1234,
};

const CONFIG = yaml`
variables:
  VERSION: ''
  DEPLOY_TOKEN: ''
secrets:
  npm_token: { env: NPM_TOKEN }
attestations: { provenance: max }
images:
  app:
    base: alpine:3.20
    tags: [registry.example:5000/team/app:1.0]
    steps:
      - fetch: { url: 'https://files.example/tools/tool-1.0.tar.gz', extract: tool-1.0/bin/tool, to: /usr/local/bin/tool, sha256: '${'c'.repeat(64)}' }
      - fetch: { url: 'https://files.example/types/app_types.yaml', to: /opt/types/app_types.yaml }
      - copy: { from: conf/, to: /etc/app/ }
      - command: { name: app/app, run: [go, build, -trimpath, -ldflags, '-X main.Version=${'${VERSION}'} -s', -o, bin/app, ./cmd/app], outputs: [bin/app] }
      - copy: { from: bin/app, to: /usr/local/bin/app, mode: '0755' }
      - edit: { file: /etc/passwd, appendLine: 'app:x:1000:1000::/home/app:/bin/sh' }
      - run: { command: 'npm ci', secrets: [npm_token] }
  other:
    base: alpine:3.20
    tags: [other]
    attestations: { sbom: false, provenance: false }
`;

// What `go version -m` says of a module build (Go 1.19): main module, deps (one replaced), build settings.
const VERSION_M = [
  'bin/app: go1.19.8',
  '\tpath\texample.com/app/cmd/app',
  '\tmod\texample.com/app\tv1.4.0\th1:mainmainmainmainmainmainmainmainmainmainmai=',
  '\tdep\tgithub.com/pkg/errors\tv0.9.1\th1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=',
  '\tdep\tgolang.org/x/sys\tv0.1.0',
  '\t=>\tgolang.org/x/sys\tv0.2.0\th1:ljd4t30dBnAvMZaQCevtY0xLLD0A+bRZXbgLMLU1F/A=',
  '\tbuild\t-compiler=gc',
  '\tbuild\t-trimpath=true',
  '\tbuild\tCGO_ENABLED=0',
  '',
].join('\n');

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** The context as packed: every COPY's source as the packer names it, with contents of our own. */
function packedEntries(dockerfile: string): PackEntry[] {
  const entries: PackEntry[] = [];
  const file = (name: string, text: string, extra: Partial<PackEntry> = {}) =>
    entries.push({ name, type: 'file', mode: 0o644, size: text.length, data: bytes(text), ...extra });
  for (const { sources } of copyLines(dockerfile)) {
    for (const source of sources) {
      if (source.endsWith('/conf') || source.endsWith('_conf') || source.endsWith('conf')) {
        file(`${source}/app.conf`, 'listen 8080\n', { origin: 'conf/app.conf' });
        file(`${source}/sub/extra.conf`, 'debug off\n', { origin: 'conf/sub/extra.conf' });
      } else if (source.endsWith('/app')) file(source, '\x7fELF binary', { path: '/project/bin/app', origin: 'bin/app' });
      else if (source.endsWith('/tool')) file(source, 'tool binary');
      else if (source.endsWith('app_types.yaml')) file(source, 'node_types: {}\n');
      else file(source, 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n', { origin: '/etc/passwd' });
    }
  }
  return entries;
}

function settingsFor(sets: Record<string, string> = {}, clock = () => new Date('2026-12-04T22:00:00.000Z')): DocumentSettings & { goCalls: string[] } {
  const prepared = prepareText(CONFIG, { NPM_TOKEN: SECRET }, sets);
  const plan = prepared.plan;
  const app = plan.images.get('app')!;
  const inputs = inputLog();
  const entries = packedEntries(app.dockerfile);
  const fetchName = (url: string) => app.context.find((s) => s.kind === 'fetch' && s.url === url)!.name;
  inputs.record('app', {
    imageId: `sha256:${'d'.repeat(64)}`,
    entries,
    standIns: [],
    fetches: [
      {
        name: fetchName('https://files.example/tools/tool-1.0.tar.gz'),
        url: 'https://files.example/tools/tool-1.0.tar.gz',
        sha256: 'c'.repeat(64),
        extract: 'tool-1.0/bin/tool',
      },
      { name: fetchName('https://files.example/types/app_types.yaml'), url: 'https://files.example/types/app_types.yaml', sha256: 'e'.repeat(64) },
    ],
  });
  inputs.base('app', { ref: 'alpine:3.20', id: 'sha256:1', digest: BASE_DIGEST });
  const goCalls: string[] = [];
  const run: RunFacts = {
    config: { path: 'build.config.yaml', sha256: 'f'.repeat(64) },
    targets: ['app', 'deploy'],
    variables: Object.entries(sets).map(([name, value]) => (/TOKEN/.test(name) ? { name } : { name, value })),
    builder: 'buildkit',
    imageStore: 'containerd',
    commits: [{ name: 'project', uri: 'git+https://github.com/build-images/build-images', commit: '1'.repeat(40) }],
    invocationId: 'invocation-1',
    startedOn: '2026-12-04T21:59:00.000Z',
  };
  return {
    goCalls,
    plan,
    inputs,
    images: { readFile: async () => assert.unreachable('nothing to read: the image was built') as never },
    choice: (image) => documentChoice({}, prepared.config.attestations, prepared.config.images[image]?.attestations),
    run: async () => run,
    secrets: () => [
      SECRET,
      ...Object.entries(sets)
        .filter(([n]) => /TOKEN/.test(n))
        .map(([, v]) => v),
    ],
    async goInfo(binary, command): Promise<NonNullable<SbomFile['go']>> {
      goCalls.push(binary);
      return {
        ...parseVersionM(VERSION_M),
        settings: [...parseVersionM(VERSION_M).settings, ...commandFlags(command)],
        source: { importPath: '', commit: '2'.repeat(40) },
      };
    },
    now: clock,
  };
}

const json = (doc: AttestationDocument) => JSON.parse(new TextDecoder().decode(doc.body)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const byKind = (docs: readonly AttestationDocument[], kind: string) => docs.find((d) => d.kind === kind)!;

test('placeEntries: each COPY source lands where COPY puts it (a file into a directory, a directory under it, a file to a path)', () => {
  const { plan } = prepareText(CONFIG);
  const placed = placeEntries(packedEntries(plan.images.get('app')!.dockerfile), plan.images.get('app')!.dockerfile).map((p) => p.path);
  assert.equal(placed, [
    '/etc/app/app.conf',
    '/etc/app/sub/extra.conf',
    '/etc/passwd',
    '/opt/types/app_types.yaml',
    '/usr/local/bin/app',
    '/usr/local/bin/tool',
  ]);
});

test('placeEntries: a COPY by the build’s platform places each platform’s entry at the path, told by its platform; an escaped ${TARGETPLATFORM} in a name is only a name', () => {
  const file = (name: string) => ({ name, type: 'file' as const, mode: 0o755, size: 1 });
  const entries = ['s01-copy/linux/amd64/px-oci-mon', 's01-copy/linux/arm64/px-oci-mon', 's02-copy/${TARGETPLATFORM}.txt'].map(file);
  // As plan/dockerfile.ts writes them.
  const dockerfile = `FROM scratch\nARG TARGETPLATFORM\nCOPY ${platformCopyArgs('s01-copy', 'px-oci-mon', '/px-oci-mon')}\nCOPY ${copyArgs(['s02-copy/${TARGETPLATFORM}.txt'], '/etc/')}\n`;
  const placed = placeEntries(entries, dockerfile, ['linux/amd64', 'linux/arm64']).map((p) => [p.path, p.platform, p.entry.name]);
  assert.equal(placed, [
    ['/etc/${TARGETPLATFORM}.txt', undefined, 's02-copy/${TARGETPLATFORM}.txt'],
    ['/px-oci-mon', 'linux/amd64', 's01-copy/linux/amd64/px-oci-mon'],
    ['/px-oci-mon', 'linux/arm64', 's01-copy/linux/arm64/px-oci-mon'],
  ]);
});

test('SPDX 2.3: valid against the schema, a unique namespace, SHA1 and SHA256 of every file, the image, its base, fetched files, the Go binary and its modules', async () => {
  const settings = settingsFor();
  const docs = await documentsFor(settings)('app', SUBJECT);
  assert.equal(
    docs.map((d) => [d.kind, d.fileName, d.artifactType]),
    [
      ['spdx', 'app.spdx.json', 'application/spdx+json'],
      ['cyclonedx', 'app.cyclonedx.json', 'application/vnd.cyclonedx+json'],
      ['provenance', 'app.provenance.json', 'application/vnd.in-toto+json'],
    ],
  );
  const spdx = json(byKind(docs, 'spdx'));
  assert.equal(spdxProblems(spdx), []);
  const again = json(byKind(await documentsFor(settingsFor())('app', SUBJECT), 'spdx'));
  assert.equal(spdxProblems(again), [], 'a second document has a namespace of its own');

  const image = spdx['packages'].find((p: { SPDXID: string }) => p.SPDXID === 'SPDXRef-Image');
  assert.is(image.externalRefs[0].referenceLocator, `pkg:oci/app@sha256%3A${'a'.repeat(64)}?repository_url=registry.example%3A5000%2Fteam%2Fapp`);
  assert.ok(
    spdx['relationships'].some(
      (r: Record<string, string>) =>
        r['spdxElementId'] === 'SPDXRef-Image' && r['relationshipType'] === 'DESCENDANT_OF' && r['relatedSpdxElement'] === 'SPDXRef-Base',
    ),
  );
  const base = spdx['packages'].find((p: { SPDXID: string }) => p.SPDXID === 'SPDXRef-Base');
  assert.is(base.versionInfo, BASE_DIGEST);

  const files = new Map<string, Record<string, any>>(spdx['files'].map((f: { fileName: string }) => [f.fileName, f])); // eslint-disable-line @typescript-eslint/no-explicit-any
  const sha = (algorithm: string, text: string) => createHash(algorithm).update(text).digest('hex');
  assert.equal(files.get('./etc/app/app.conf')!['checksums'], [
    { algorithm: 'SHA1', checksumValue: sha('sha1', 'listen 8080\n') },
    { algorithm: 'SHA256', checksumValue: sha('sha256', 'listen 8080\n') },
  ]);
  const downloads = spdx['packages'].filter((p: { SPDXID: string }) => p.SPDXID.startsWith('SPDXRef-Download-'));
  assert.equal(
    downloads.map((p: Record<string, any>) => [p['downloadLocation'], p['checksums'], p['externalRefs'][0].referenceLocator]), // eslint-disable-line @typescript-eslint/no-explicit-any
    // In the order of the files in the image: /opt/types/app_types.yaml, /usr/local/bin/tool.
    [
      [
        'https://files.example/types/app_types.yaml',
        [{ algorithm: 'SHA256', checksumValue: 'e'.repeat(64) }],
        genericPurl('https://files.example/types/app_types.yaml', 'e'.repeat(64)),
      ],
      [
        'https://files.example/tools/tool-1.0.tar.gz',
        [{ algorithm: 'SHA256', checksumValue: 'c'.repeat(64) }],
        genericPurl('https://files.example/tools/tool-1.0.tar.gz', 'c'.repeat(64)),
      ],
    ],
  );
  assert.is(
    genericPurl('https://files.example/types/app_types.yaml', 'e'.repeat(64)),
    `pkg:generic/app_types.yaml?checksum=sha256%3A${'e'.repeat(64)}&download_url=https%3A%2F%2Ffiles.example%2Ftypes%2Fapp_types.yaml`,
  );

  const main = spdx['packages'].find((p: { name: string }) => p.name === 'example.com/app');
  assert.is(main.versionInfo, 'v1.4.0');
  assert.is(main.externalRefs[0].referenceLocator, 'pkg:golang/example.com/app@v1.4.0');
  assert.match(main.comment, /go1\.19\.8/);
  assert.match(main.comment, /-ldflags=-X main\.Version= -s/);
  const deps = spdx['relationships'].filter((r: Record<string, string>) => r['spdxElementId'] === main.SPDXID && r['relationshipType'] === 'DEPENDS_ON');
  const depNames = deps.map(
    (r: Record<string, string>) => spdx['packages'].find((p: { SPDXID: string }) => p.SPDXID === r['relatedSpdxElement']).externalRefs[0].referenceLocator,
  );
  assert.equal(depNames, ['pkg:golang/github.com/pkg/errors@v0.9.1', 'pkg:golang/golang.org/x/sys@v0.2.0']);
  const binary = files.get('./usr/local/bin/app')!;
  assert.ok(
    spdx['relationships'].some(
      (r: Record<string, string>) =>
        r['spdxElementId'] === binary['SPDXID'] && r['relationshipType'] === 'GENERATED_FROM' && r['relatedSpdxElement'] === main.SPDXID,
    ),
  );
  assert.equal(settings.goCalls, ['/project/bin/app']);
});

test('h1: sums are never a sha256: said in comments and properties, in no checksum or hash field', async () => {
  const docs = await documentsFor(settingsFor())('app', SUBJECT);
  const spdx = json(byKind(docs, 'spdx'));
  const checksums = JSON.stringify([...spdx['files'], ...spdx['packages']].map((e: { checksums?: unknown }) => e.checksums ?? []));
  assert.not.match(checksums, /FEBLx1zS214/);
  assert.match(
    JSON.stringify(spdx['packages']),
    /go\.sum hash h1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4= \(h1: a SHA-256 over the module's file tree, not of a file in this image\)/,
  );
  const cdx = json(byKind(docs, 'cyclonedx'));
  const hashes = JSON.stringify(cdx['components'].map((c: { hashes?: unknown }) => c.hashes ?? []));
  assert.not.match(hashes, /FEBLx1zS214/);
  const errors = cdx['components'].find((c: { name: string }) => c.name === 'github.com/pkg/errors');
  assert.equal(errors.properties, [
    {
      name: 'build-images:go:h1',
      value: "go.sum hash h1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4= (h1: a SHA-256 over the module's file tree, not of a file in this image)",
    },
  ]);
});

test('CycloneDX 1.6: the library strict validator accepts it; the image is its subject, files and modules are components', async () => {
  const docs = await documentsFor(settingsFor())('app', SUBJECT);
  const text = new TextDecoder().decode(byKind(docs, 'cyclonedx').body);
  assert.is(await cyclonedxProblems(text), null);
  const cdx = JSON.parse(text);
  assert.is(cdx.specVersion, '1.6');
  assert.is(cdx.metadata.component.purl, ociPurl(SUBJECT.repository, SUBJECT.digest));
  const file = cdx.components.find((c: { name: string }) => c.name === '/etc/app/app.conf');
  assert.equal(file.hashes, [
    { alg: 'SHA-1', content: createHash('sha1').update('listen 8080\n').digest('hex') },
    { alg: 'SHA-256', content: createHash('sha256').update('listen 8080\n').digest('hex') },
  ]);
  const binary = cdx.components.find((c: { name: string }) => c.name === '/usr/local/bin/app');
  assert.is(binary.purl, 'pkg:golang/example.com/app@v1.4.0');
  assert.ok(binary.properties.some((p: { name: string; value: string }) => p.name === 'build-images:go:build:-ldflags' && p.value === '-X main.Version= -s'));
  const fetched = cdx.components.find((c: { name: string }) => c.name === '/opt/types/app_types.yaml');
  assert.is(fetched.externalReferences[0].url, 'https://files.example/types/app_types.yaml');
});

test('deterministic: the same inputs give the same documents apart from timestamps, namespace and serial number', async () => {
  const strip = (doc: AttestationDocument) =>
    new TextDecoder()
      .decode(doc.body)
      .replace(/"(created|timestamp|finishedOn)": "[^"]+"/g, '"$1": "T"')
      .replace(/"documentNamespace": "[^"]+"/, '"documentNamespace": "N"')
      .replace(/"serialNumber": "[^"]+"/, '"serialNumber": "S"');
  const documents = documentsFor(settingsFor());
  const first = await documents('app', SUBJECT);
  assert.is(await documents('app', SUBJECT), first, 'asked again for the same subject (deploy, then the files): the same documents');
  const second = await documentsFor(settingsFor({}, () => new Date('2027-01-01T00:00:00.000Z')))('app', SUBJECT);
  assert.equal(first.map(strip), second.map(strip));
  assert.is.not(new TextDecoder().decode(first[0]!.body), new TextDecoder().decode(second[0]!.body));
});

test('provenance: an in-toto Statement of SLSA v1, subject the pushed digest, parameters and dependencies by digest; max adds the Dockerfile and host commands', async () => {
  const docs = await documentsFor(settingsFor({ VERSION: '1.4.0', DEPLOY_TOKEN: SET_TOKEN }))('app', SUBJECT);
  const doc = byKind(docs, 'provenance');
  assert.equal(doc.statement, { predicateType: 'https://slsa.dev/provenance/v1' });
  const statement = json(doc);
  assert.equal(provenanceProblems(statement, SUBJECT.digest), []);
  const definition = statement['predicate'].buildDefinition;
  assert.is(definition.buildType, 'https://github.com/build-images/build-images/blob/main/README.md#provenance-build-type-v1');
  assert.equal(definition.externalParameters.variables, { VERSION: '1.4.0' });
  assert.equal(definition.externalParameters.secretVariables, ['DEPLOY_TOKEN']);
  assert.equal(definition.externalParameters.secrets, ['npm_token']);
  assert.equal(
    definition.resolvedDependencies.map((d: { uri: string }) => d.uri),
    [
      'docker-image://alpine:3.20',
      'https://files.example/tools/tool-1.0.tar.gz',
      'https://files.example/types/app_types.yaml',
      'git+https://github.com/build-images/build-images',
    ],
  );
  assert.match(definition.internalParameters.dockerfile, /^FROM alpine:3\.20\n/);
  assert.match(definition.internalParameters.hostCommands[0].line, /go build -trimpath -ldflags/);
  assert.is(statement['predicate'].runDetails.metadata.invocationId, 'invocation-1');
});

test('secrets: no build secret and no secret --set value in any document; a value that got in anyway fails the documents, unprinted', async () => {
  const docs = await documentsFor(settingsFor({ DEPLOY_TOKEN: SET_TOKEN }))('app', SUBJECT);
  for (const doc of docs) {
    const text = new TextDecoder().decode(doc.body);
    assert.not.ok(text.includes(SECRET), doc.fileName);
    assert.not.ok(text.includes(SET_TOKEN), doc.fileName);
  }
  assert.is(downloadLocation(`https://deploy:${SECRET}@files.example/x.yaml#part`), 'https://files.example/x.yaml');
  try {
    refuseSecrets({ fileName: 'app.spdx.json', body: bytes(`{"comment": "https://x:${SECRET}@host/"}`) }, [SECRET]);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, RunError);
    assert.not.ok(`${(err as RunError).message} ${(err as RunError).hint}`.includes(SECRET));
  }
});

test('opt-outs: the command line beats the image, the image the top level; an image with both off gets none', async () => {
  assert.equal(documentChoice({}, undefined, undefined), { sbom: true, provenance: 'min' });
  assert.equal(documentChoice({}, { provenance: 'max' }, { provenance: true }), { sbom: true, provenance: 'min' });
  assert.equal(documentChoice({ sbom: false, provenance: false }, { sbom: true }, { sbom: true, provenance: 'max' }), { sbom: false, provenance: false });
  assert.equal(documentFlags('false', 'false'), { sbom: false, provenance: false });
  assert.is(documentFileName('team/app', 'spdx'), 'team_app.spdx.json');
  assert.equal(documentFlags(undefined, 'max'), { provenance: 'max' });
  assert.throws(() => documentFlags('no', undefined), /--sbom=no: expected true or false/);
  assert.throws(() => documentFlags(undefined, 'full'), /--provenance=full: expected false, true, min or max/);
  assert.equal(await documentsFor(settingsFor())('other', SUBJECT), []);
  const settings = settingsFor();
  const docs = await documentsFor({ ...settings, choice: () => ({ sbom: false, provenance: 'min' }) })('app', SUBJECT);
  assert.equal(
    docs.map((d) => d.kind),
    ['provenance'],
  );
  assert.equal(
    problemsOf(yaml`
images:
  app: { base: a, tags: [a], attestations: { sbom: 'yes' } }
`).length,
    1,
  );
});

test('go version -m: module builds give main module, deps with replacements, build settings; -ldflags from the command line when Go left it out', () => {
  const info = parseVersionM(VERSION_M);
  assert.is(info.goVersion, 'go1.19.8');
  assert.is(info.package, 'example.com/app/cmd/app');
  assert.equal(info.main, { path: 'example.com/app', version: 'v1.4.0', sum: 'h1:mainmainmainmainmainmainmainmainmainmainmai=' });
  assert.equal(
    info.deps.map((d) => `${d.path}@${d.version}`),
    ['github.com/pkg/errors@v0.9.1', 'golang.org/x/sys@v0.2.0'],
  );
  assert.equal(info.settings[0], ['-compiler', 'gc']);
  assert.equal(commandFlags({ run: ['go', 'build', '-trimpath', '-ldflags', '-X main.PXTAG=1.2 -extldflags -static', '-o', 'x', '.'] }), [
    ['-ldflags', '-X main.PXTAG=1.2 -extldflags -static'],
  ]);
  assert.equal(commandFlags({ run: 'go build -ldflags=-s .' }), []);
});

test("govendor: the packages go list -deps names under vendor/, each with vendor.json's revision; a tree entry covers those under it; a file that is not JSON gives none", () => {
  const vendorJson = parseVendorJson(
    JSON.stringify({
      package: [
        { path: 'github.com/sirupsen/logrus', revision: 'd682213848ed68c0a260ca37d6dd5ace8423f5ba', checksumSHA1: 'x=', revisionTime: '2017-12-05T20:32:29Z' },
        { path: 'k8s.io/api', revision: '4df58c8', tree: true },
        { path: 42 },
      ],
    }),
  );
  const found = vendoredPackages(
    [
      'github.com/portworx/px-installer/vendor/github.com/sirupsen/logrus',
      'github.com/portworx/px-installer/px-oci-mon/utils',
      'github.com/portworx/px-installer/vendor/k8s.io/api/core/v1',
      'github.com/portworx/px-installer/vendor/github.com/unlisted/pkg',
    ],
    vendorJson,
  );
  assert.equal(found, [
    {
      path: 'github.com/sirupsen/logrus',
      revision: 'd682213848ed68c0a260ca37d6dd5ace8423f5ba',
      revisionTime: '2017-12-05T20:32:29Z',
      checksumSHA1: 'x=',
      entry: 'github.com/sirupsen/logrus',
    },
    { path: 'github.com/unlisted/pkg' },
    { path: 'k8s.io/api/core/v1', revision: '4df58c8', entry: 'k8s.io/api' },
  ]);
  assert.equal(parseVendorJson('<html>'), []);
});

test('a --set variable is secret by a word of its name: DEPLOY_TOKEN, NPM_AUTH, API_KEY, DB_PASSWORD, but not AUTHOR or MONKEY', () => {
  for (const name of ['DEPLOY_TOKEN', 'NPM_AUTH', 'API_KEY', 'DB_PASSWORD', 'TOKEN', 'aws_secret_key']) assert.ok(isSecretName(name), name);
  for (const name of ['AUTHOR', 'MONKEY', 'PXTAG', 'PASSAGE', 'TOKENIZER_VERSION']) assert.not.ok(isSecretName(name), name);
});

test('org.opencontainers.image.created: SOURCE_DATE_EPOCH when set (reproducible), else now; a value not in seconds is named', () => {
  assert.is(createdStamp({ SOURCE_DATE_EPOCH: '1700000000' }, new Date('2026-12-04T00:00:00Z')), '2023-11-14T22:13:20.000Z');
  assert.is(createdStamp({}, new Date('2026-12-04T00:00:00Z')), '2026-12-04T00:00:00.000Z');
  assert.throws(() => createdStamp({ SOURCE_DATE_EPOCH: 'yesterday' }), /SOURCE_DATE_EPOCH=yesterday: expected whole seconds since 1970-01-01 UTC/);
});

test.run();
