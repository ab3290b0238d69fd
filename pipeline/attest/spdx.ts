// The SBOM as SPDX 2.3 JSON. npm has no SPDX document library: this writes the spec's fields directly and the
// tests validate the output against the 2.3 schema (and what the schema does not check: a unique
// documentNamespace, a SHA1 on every file). Element IDs come from positions in sorted lists, so the same
// model gives the same document apart from `created` and the namespace.
import { downloadLocation, genericPurl, golangPurl, mainVersion, ociPurl, type SbomFile, type SbomModel } from './sbom-model.ts';

interface Relationship {
  spdxElementId: string;
  relationshipType: string;
  relatedSpdxElement: string;
}

const NOASSERTION = 'NOASSERTION';
const purlRef = (locator: string) => ({ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: locator });

export function spdxDocument(model: SbomModel, made: { created: string; namespace: string }): Record<string, unknown> {
  const packages: Record<string, unknown>[] = [];
  const files: Record<string, unknown>[] = [];
  const relationships: Relationship[] = [];
  const relate = (spdxElementId: string, relationshipType: string, relatedSpdxElement: string) =>
    relationships.push({ spdxElementId, relationshipType, relatedSpdxElement });

  const IMAGE = 'SPDXRef-Image';
  packages.push({
    SPDXID: IMAGE,
    name: model.repository,
    versionInfo: model.digest,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    primaryPackagePurpose: 'CONTAINER',
    externalRefs: [purlRef(ociPurl(model.repository, model.digest))],
    comment: `${model.image}: tags ${model.tags.join(', ')}`,
  });
  relate('SPDXRef-DOCUMENT', 'DESCRIBES', IMAGE);

  if (model.base) {
    const BASE = 'SPDXRef-Base';
    packages.push({
      SPDXID: BASE,
      name: model.base.ref,
      ...(model.base.digest ? { versionInfo: model.base.digest } : {}),
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      primaryPackagePurpose: 'CONTAINER',
      ...(model.base.digest ? { externalRefs: [purlRef(ociPurl(model.base.repository, model.base.digest))] } : {}),
    });
    relate(IMAGE, 'DESCENDANT_OF', BASE);
  }

  model.files.forEach((file, i) => {
    const id = `SPDXRef-File-${i + 1}`;
    files.push({
      SPDXID: id,
      fileName: `.${file.path}`,
      checksums: [
        { algorithm: 'SHA1', checksumValue: file.sha1 },
        { algorithm: 'SHA256', checksumValue: file.sha256 },
      ],
      fileTypes: [file.kind === 'go-binary' ? 'BINARY' : 'OTHER'],
      ...(fileComment(file) ? { comment: fileComment(file) } : {}),
    });
    relate(IMAGE, 'CONTAINS', id);
    if (file.fetch) fetchedPackage(file, i, packages, relate, id);
    if (file.go) goPackages(file, i, packages, relate, id);
  });

  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${model.repository}@${model.digest}`,
    documentNamespace: made.namespace,
    creationInfo: { created: made.created, creators: [`Tool: ${model.tool.name}-${model.tool.version}`] },
    ...(model.notes.length ? { comment: model.notes.join(' ') } : {}),
    documentDescribes: [IMAGE],
    packages,
    files,
    relationships,
  };
}

function fetchedPackage(file: SbomFile, i: number, packages: Record<string, unknown>[], relate: (a: string, t: string, b: string) => void, fileId: string) {
  const fetch = file.fetch!;
  const url = downloadLocation(fetch.url);
  const id = `SPDXRef-Download-${i + 1}`;
  packages.push({
    SPDXID: id,
    name: new URL(url).pathname.split('/').filter(Boolean).at(-1) ?? url,
    downloadLocation: url,
    filesAnalyzed: false,
    primaryPackagePurpose: fetch.extract ? 'ARCHIVE' : 'FILE',
    checksums: [{ algorithm: 'SHA256', checksumValue: fetch.sha256 }],
    externalRefs: [purlRef(genericPurl(url, fetch.sha256))],
    ...(fetch.extract ? { comment: `the image holds its member ${fetch.extract}` } : {}),
  });
  relate(fileId, 'GENERATED_FROM', id);
}

function goPackages(file: SbomFile, i: number, packages: Record<string, unknown>[], relate: (a: string, t: string, b: string) => void, fileId: string) {
  const go = file.go!;
  const main = `SPDXRef-Go-${i + 1}-main`;
  const version = mainVersion(go);
  const modulePath = go.main?.path ?? go.package;
  const settings = go.settings.map(([key, value]) => `${key}=${value}`).join(' ');
  packages.push({
    SPDXID: main,
    name: modulePath,
    ...(version ? { versionInfo: version } : {}),
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    primaryPackagePurpose: 'APPLICATION',
    externalRefs: [purlRef(golangPurl(modulePath, version))],
    comment: [`main package ${go.package}, built with ${go.goVersion}; build settings: ${settings || 'none'}`, sumNote(go.main?.sum)]
      .filter(Boolean)
      .join('. '),
  });
  relate(fileId, 'GENERATED_FROM', main);
  go.deps.forEach((dep, j) => {
    const id = `SPDXRef-Go-${i + 1}-dep-${j + 1}`;
    packages.push({
      SPDXID: id,
      name: dep.path,
      versionInfo: dep.version,
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      primaryPackagePurpose: 'LIBRARY',
      externalRefs: [purlRef(golangPurl(dep.path, dep.version))],
      ...(dep.sum ? { comment: sumNote(dep.sum) } : {}),
    });
    relate(main, 'DEPENDS_ON', id);
  });
  (go.vendored ?? []).forEach((pkg, j) => {
    const id = `SPDXRef-Go-${i + 1}-vendored-${j + 1}`;
    packages.push({
      SPDXID: id,
      name: pkg.path,
      ...(pkg.revision ? { versionInfo: pkg.revision } : {}),
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      primaryPackagePurpose: 'LIBRARY',
      externalRefs: [purlRef(golangPurl(pkg.path, pkg.revision))],
      ...(pkg.revisionTime && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(pkg.revisionTime) ? { releaseDate: pkg.revisionTime } : {}),
      comment: vendorNote(pkg),
    });
    relate(main, 'DEPENDS_ON', id);
  });
}

/** An h1: sum is go.sum's hash of the module's file tree: never in a checksum field, which means a file's bytes. */
export function sumNote(sum: string | undefined): string {
  return sum ? `go.sum hash ${sum} (h1: a SHA-256 over the module's file tree, not of a file in this image)` : '';
}

export function vendorNote(pkg: { entry?: string; checksumSHA1?: string }): string {
  if (!pkg.entry) return 'vendored in vendor/, but not listed in vendor/vendor.json: revision unknown';
  const sum = pkg.checksumSHA1 ? `; its checksumSHA1 ${pkg.checksumSHA1} is govendor's hash of the package's source files, not of a file in this image` : '';
  return `vendored (govendor vendor.json entry ${pkg.entry})${sum}`;
}

/** What a file's comment says: where it came from, and in an image of several platforms, whose it is. */
function fileComment(file: SbomFile): string | undefined {
  const origin = file.origin ? `${file.kind}: ${file.kind === 'fetched' ? downloadLocation(file.origin) : file.origin}` : undefined;
  const platform = file.platform ? `in the ${file.platform} image` : undefined;
  return [origin, platform].filter(Boolean).join('; ') || undefined;
}
