// The documents as in-toto Statements, for where only Statements go (BuildKit's attestation manifest,
// attestations: {storage: index}): the provenance is one already; an SBOM becomes the predicate of one whose
// subject is the manifest it describes, under the predicate type BuildKit and buildx use for SPDX
// (`https://spdx.dev/Document`), and CycloneDX's own (`https://cyclonedx.org/bom`, which buildx passes over).
import type { AttestationDocument, AttestationSubject, DocumentKind } from './attestation.ts';
import { STATEMENT_TYPE } from './provenance.ts';

export const SPDX_PREDICATE = 'https://spdx.dev/Document';
export const CYCLONEDX_PREDICATE = 'https://cyclonedx.org/bom';

const PREDICATES: Partial<Record<DocumentKind, string>> = { spdx: SPDX_PREDICATE, cyclonedx: CYCLONEDX_PREDICATE };

export interface Statement {
  predicateType: string;
  body: Uint8Array;
}

/** Each document as a Statement about `subject`, in the documents' order. */
export function statementsOf(documents: readonly AttestationDocument[], subject: Pick<AttestationSubject, 'repository' | 'digest'>): Statement[] {
  return documents.flatMap((doc): Statement[] => {
    if (doc.statement) return [{ predicateType: doc.statement.predicateType, body: doc.body }];
    const predicateType = PREDICATES[doc.kind];
    if (!predicateType) return [];
    const predicate: unknown = JSON.parse(new TextDecoder().decode(doc.body));
    return [{ predicateType, body: inTotoStatement(predicateType, predicate, { name: subject.repository, digest: subject.digest }) }];
  });
}

/** An in-toto Statement v1 about one manifest. */
export function inTotoStatement(predicateType: string, predicate: unknown, subject: { name: string; digest: string }): Uint8Array {
  const statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: subject.name, digest: { sha256: subject.digest.replace(/^sha256:/, '') } }],
    predicateType,
    predicate,
  };
  return Buffer.from(JSON.stringify(statement));
}
