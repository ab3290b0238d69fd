// What an SBOM says, once, as plain data: spdx.ts and cyclonedx.ts write the same facts in their two forms,
// and the unit tests build it by hand. Made by documents.ts from what the run recorded (inventory.ts).
import type { GoBinaryInfo } from './go-modules.ts';

export interface SbomFile {
  /** Absolute, in the image. */
  path: string;
  sha1: string;
  sha256: string;
  size: number;
  kind: 'copied' | 'fetched' | 'edited' | 'go-binary';
  /** Where it came from: the project-relative path, the URL, the base image's file that was edited. */
  origin?: string;
  fetch?: { url: string; sha256: string; extract?: string };
  go?: GoBinaryInfo & { source?: { importPath: string; commit?: string } };
  /** In an image of several platforms: the platform whose image holds this file at `path`. */
  platform?: string;
}

export interface SbomModel {
  /** The config's name of the image. */
  image: string;
  /** The repository it was pushed to (or is tagged in), without tag. */
  repository: string;
  /** The pushed manifest's digest; for an image pushed nowhere, its ID on the engine. */
  digest: string;
  tags: readonly string[];
  base?: { ref: string; repository: string; digest?: string };
  files: SbomFile[];
  /** What the SBOM could not see, said in the document rather than left out silently. */
  notes: string[];
  tool: { name: string; version: string };
}

// purl (github.com/package-url/purl-spec): a version or qualifier value is percent-encoded, `:` included.
const encode = (value: string) => encodeURIComponent(value);

/** `pkg:oci/<name>@sha256%3A…?repository_url=<registry/path>`: the name is the repository's last part. */
export function ociPurl(repository: string, digest: string): string {
  const name = repository.split('/').at(-1)!.toLowerCase();
  return `pkg:oci/${encode(name)}@${encode(digest)}?repository_url=${encode(repository)}`;
}

/** `pkg:golang/<path>@<version>`: the path's segments each encoded, the slashes kept. */
export function golangPurl(modulePath: string, version: string | undefined): string {
  const name = modulePath.split('/').map(encode).join('/');
  return `pkg:golang/${name}${version ? `@${encode(version)}` : ''}`;
}

/** `pkg:generic/<file name>?checksum=sha256:…&download_url=…`, qualifiers in the spec's sorted order. */
export function genericPurl(url: string, sha256: string): string {
  const name = new URL(url).pathname.split('/').filter(Boolean).at(-1) ?? 'download';
  return `pkg:generic/${encode(name)}?checksum=${encode(`sha256:${sha256}`)}&download_url=${encode(url)}`;
}

/** The URL without user, password or fragment: a document outlives the run and goes to registries. */
export function downloadLocation(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.hash = '';
    return parsed.toString();
  } catch {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1');
  }
}

/** The main module's version; a GOPATH build has none, so the checkout's commit stands for it. */
export function mainVersion(go: NonNullable<SbomFile['go']>): string | undefined {
  const version = go.main?.version;
  if (version && version !== '(devel)') return version;
  return go.source?.commit;
}
