// The SBOM as CycloneDX 1.6 JSON, built with the CycloneDX project's own library (@cyclonedx/cyclonedx-library),
// loaded only when a document is made: a run that builds nothing never loads it. The same model as spdx.ts:
// the image is the BOM's subject, its base and every file components, each Go binary with its modules as
// components it depends on.
import type * as CycloneDX from '@cyclonedx/cyclonedx-library';
import { downloadLocation, genericPurl, golangPurl, mainVersion, ociPurl, type SbomFile, type SbomModel } from './sbom-model.ts';
import { sumNote, vendorNote } from './spdx.ts';

type Cdx = typeof CycloneDX;

export async function cyclonedxDocument(model: SbomModel, made: { created: string; serialNumber: string }): Promise<string> {
  const cdx: Cdx = await import('@cyclonedx/cyclonedx-library');
  const { Models, Enums } = cdx;
  const image = new Models.Component(Enums.ComponentType.Container, model.repository, {
    bomRef: 'image',
    version: model.digest,
    purl: ociPurl(model.repository, model.digest),
    description: `${model.image}: tags ${model.tags.join(', ')}`,
  });
  const bom = new Models.Bom({ serialNumber: made.serialNumber, version: 1 });
  bom.metadata.timestamp = new Date(made.created);
  bom.metadata.component = image;
  bom.metadata.tools.components.add(new Models.Component(Enums.ComponentType.Application, model.tool.name, { version: model.tool.version }));
  for (const note of model.notes) bom.metadata.properties.add(new Models.Property('build-images:note', note));

  if (model.base) {
    const base = new Models.Component(Enums.ComponentType.Container, model.base.ref, {
      bomRef: 'base',
      ...(model.base.digest ? { version: model.base.digest, purl: ociPurl(model.base.repository, model.base.digest) } : {}),
    });
    base.properties.add(new Models.Property('build-images:relationship', 'base image (the image descends from it)'));
    bom.components.add(base);
    image.dependencies.add(base.bomRef);
  }
  model.files.forEach((file, i) => addFile(cdx, bom, image, file, i));
  return new cdx.Serialize.JsonSerializer(new cdx.Serialize.JSON.Normalize.Factory(cdx.Spec.Spec1dot6)).serialize(bom, { sortLists: true, space: 2 });
}

function addFile(cdx: Cdx, bom: InstanceType<Cdx['Models']['Bom']>, image: InstanceType<Cdx['Models']['Component']>, file: SbomFile, i: number) {
  const { Models, Enums } = cdx;
  const component = new Models.Component(file.go ? Enums.ComponentType.Application : Enums.ComponentType.File, file.path, { bomRef: `file-${i + 1}` });
  component.hashes.set(Enums.HashAlgorithm['SHA-1'], file.sha1);
  component.hashes.set(Enums.HashAlgorithm['SHA-256'], file.sha256);
  component.properties.add(new Models.Property('build-images:kind', file.kind));
  if (file.origin) component.properties.add(new Models.Property('build-images:origin', file.fetch ? downloadLocation(file.origin) : file.origin));
  if (file.platform) component.properties.add(new Models.Property('build-images:platform', file.platform));
  bom.components.add(component);
  image.dependencies.add(component.bomRef);
  if (file.fetch) {
    const url = downloadLocation(file.fetch.url);
    component.purl = genericPurl(url, file.fetch.sha256);
    component.externalReferences.add(
      new Models.ExternalReference(url, Enums.ExternalReferenceType.Distribution, {
        hashes: new Models.HashDictionary([[Enums.HashAlgorithm['SHA-256'], file.fetch.sha256]]),
        comment: file.fetch.extract ? `an archive; the image holds its member ${file.fetch.extract}` : 'the file as fetched',
      }),
    );
  }
  if (file.go) addGo(cdx, bom, component, file, i);
}

function addGo(cdx: Cdx, bom: InstanceType<Cdx['Models']['Bom']>, binary: InstanceType<Cdx['Models']['Component']>, file: SbomFile, i: number) {
  const { Models, Enums } = cdx;
  const go = file.go!;
  const modulePath = go.main?.path ?? go.package;
  const version = mainVersion(go);
  binary.purl = golangPurl(modulePath, version);
  if (version) binary.version = version;
  binary.properties.add(new Models.Property('build-images:go:package', go.package));
  binary.properties.add(new Models.Property('build-images:go:version', go.goVersion));
  for (const [key, value] of go.settings) binary.properties.add(new Models.Property(`build-images:go:build:${key}`, value));
  if (go.main?.sum) binary.properties.add(new Models.Property('build-images:go:h1', sumNote(go.main.sum)));
  go.deps.forEach((dep, j) => {
    const library = new Models.Component(Enums.ComponentType.Library, dep.path, {
      bomRef: `file-${i + 1}-dep-${j + 1}`,
      version: dep.version,
      purl: golangPurl(dep.path, dep.version),
    });
    // go.sum's h1: is not a hash of anything in the image: a property, never `hashes`.
    if (dep.sum) library.properties.add(new Models.Property('build-images:go:h1', sumNote(dep.sum)));
    bom.components.add(library);
    binary.dependencies.add(library.bomRef);
  });
  (go.vendored ?? []).forEach((pkg, j) => {
    const library = new Models.Component(Enums.ComponentType.Library, pkg.path, {
      bomRef: `file-${i + 1}-vendored-${j + 1}`,
      ...(pkg.revision ? { version: pkg.revision } : {}),
      purl: golangPurl(pkg.path, pkg.revision),
    });
    library.properties.add(new Models.Property('build-images:go:vendored', vendorNote(pkg)));
    if (pkg.revisionTime) library.properties.add(new Models.Property('build-images:go:revisionTime', pkg.revisionTime));
    bom.components.add(library);
    binary.dependencies.add(library.bomRef);
  });
}
