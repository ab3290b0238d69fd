// How a consumer checks our documents: SPDX against the 2.3 schema (spdx-2.3-schema.json, with ajv) and what
// that schema cannot say (a unique documentNamespace, a SHA1 on every file, relationships between elements
// that exist); CycloneDX with its own library's strict JSON validator; provenance by its Statement's shape.
import { readFileSync } from 'node:fs';
import AjvModule, { type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// CommonJS packages: Node hands their module.exports as the default, TypeScript types it as the namespace.
const Ajv = (AjvModule as unknown as { default: typeof AjvModule.default }).default ?? AjvModule;
const addFormats = (addFormatsModule as unknown as { default: typeof addFormatsModule.default }).default ?? addFormatsModule;

let spdxSchema: ValidateFunction | undefined;
const namespaces = new Set<string>();

function spdxValidator(): ValidateFunction {
  if (spdxSchema) return spdxSchema;
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  const compiled = ajv.compile(JSON.parse(readFileSync(new URL('./spdx-2.3-schema.json', import.meta.url), 'utf8')) as object);
  spdxSchema = compiled;
  return compiled;
}

/** Problems with an SPDX document; [] when there are none. Every namespace seen in this process must be new, unless `seenBefore`. */
export function spdxProblems(document: unknown, options: { seenBefore?: boolean } = {}): string[] {
  const validate = spdxValidator();
  const problems = validate(document) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
  const doc = document as {
    documentNamespace?: string;
    files?: { SPDXID: string; checksums?: { algorithm: string }[] }[];
    packages?: { SPDXID: string }[];
    relationships?: { spdxElementId: string; relatedSpdxElement: string }[];
  };
  if (!doc.documentNamespace) problems.push('no documentNamespace');
  // The same document read back from elsewhere (a registry) has the namespace it was checked with.
  else if (namespaces.has(doc.documentNamespace) && !options.seenBefore) problems.push(`documentNamespace ${doc.documentNamespace} was used before`);
  else namespaces.add(doc.documentNamespace);
  for (const file of doc.files ?? []) if (!file.checksums?.some((c) => c.algorithm === 'SHA1')) problems.push(`${file.SPDXID} has no SHA1`);
  const ids = ['SPDXRef-DOCUMENT', ...(doc.packages ?? []).map((p) => p.SPDXID), ...(doc.files ?? []).map((f) => f.SPDXID)];
  if (new Set(ids).size !== ids.length) problems.push('an SPDXID is used twice');
  for (const r of doc.relationships ?? []) {
    for (const id of [r.spdxElementId, r.relatedSpdxElement]) if (!ids.includes(id)) problems.push(`a relationship names ${id}, which is not in the document`);
  }
  return problems;
}

/** The CycloneDX library's strict validator on a 1.6 JSON document: null when valid. */
export async function cyclonedxProblems(json: string): Promise<unknown> {
  const { Validation, Spec } = await import('@cyclonedx/cyclonedx-library');
  return new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(json);
}

/** Problems with an in-toto Statement v1 of SLSA provenance v1 for `digest`. */
interface Statement {
  _type?: string;
  predicateType?: string;
  subject?: { name?: string; digest?: { sha256?: string } }[];
  predicate?: {
    buildDefinition?: { buildType?: unknown; externalParameters?: unknown; resolvedDependencies?: { uri?: string; digest?: Record<string, string> }[] };
    runDetails?: { builder?: { id?: unknown }; metadata?: Record<string, unknown> };
  };
}

export function provenanceProblems(statement: Statement, digest: string): string[] {
  const problems: string[] = [];
  if (statement._type !== 'https://in-toto.io/Statement/v1') problems.push(`_type ${statement._type}`);
  if (statement.predicateType !== 'https://slsa.dev/provenance/v1') problems.push(`predicateType ${statement.predicateType}`);
  const subject = statement.subject?.[0];
  if (subject?.digest?.sha256 !== digest.replace(/^sha256:/, '')) problems.push(`subject ${JSON.stringify(subject)} is not ${digest}`);
  const definition = statement.predicate?.buildDefinition;
  if (typeof definition?.buildType !== 'string') problems.push('no buildType');
  if (typeof definition?.externalParameters !== 'object') problems.push('no externalParameters');
  for (const dep of definition?.resolvedDependencies ?? []) if (!dep.digest || Object.keys(dep.digest).length === 0) problems.push(`${dep.uri} has no digest`);
  const run = statement.predicate?.runDetails;
  if (typeof run?.builder?.id !== 'string') problems.push('no runDetails.builder.id');
  for (const key of ['invocationId', 'startedOn', 'finishedOn']) if (!run?.metadata?.[key]) problems.push(`no metadata.${key}`);
  return problems;
}

export const PROVENANCE = 'https://slsa.dev/provenance/v1';

/**
 * cosign 3's offline check of a signed Statement of `type` hanging off `ref`, with the public key cosign.pub
 * in the working directory, against a plain-HTTP registry; `extra` adds flags (--new-bundle-format=false).
 */
export function verifyAttestationArgs(ref: string, type = PROVENANCE, extra: readonly string[] = []): string[] {
  return [
    'verify-attestation',
    '--key',
    'cosign.pub',
    '--insecure-ignore-tlog',
    ...extra,
    '--allow-insecure-registry',
    '--allow-http-registry',
    '--type',
    type,
    ref,
  ];
}

/** The digest the first verified Statement's subject names, from what `cosign verify-attestation` printed. */
export function verifiedSubject(stdout: string): string {
  const envelope = JSON.parse(stdout.trim().split('\n')[0]!) as { payload: string };
  const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString()) as { subject: { digest: { sha256: string } }[] };
  return `sha256:${statement.subject[0]!.digest.sha256}`;
}
