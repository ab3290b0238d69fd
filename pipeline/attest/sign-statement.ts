// Signing an in-toto Statement offline with a local key: a DSSE envelope in a sigstore bundle (v0.3), made
// by @sigstore/sign's DSSE bundle builder with no witness (no transparency log, no timestamp authority: the
// machine may reach neither). `cosign verify-attestation --key KEY.pub --insecure-ignore-tlog` accepts it.
// The key is ECDSA P-256 (what cosign's own keys are, and what it verifies a DSSE envelope with by default).
import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { RunError } from '../model/errors.ts';

export const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const IN_TOTO = 'application/vnd.in-toto+json';
const KEY_HINT = 'generate one: openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt > signing.key';

/**
 * The private key from its PEM. What goes wrong is said without the PEM's content (never printed, not
 * even a line of it: the key may have been pasted into the wrong variable).
 */
export function signingKey(pem: string, from: string): KeyObject {
  if (/ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY/.test(pem)) {
    throw new RunError(`the signing key in ${from} is cosign's encrypted key format, which is not read`, `give an unencrypted PKCS#8 PEM; ${KEY_HINT}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new RunError(`the signing key in ${from} is not a private key in PEM`, KEY_HINT);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new RunError(`the signing key in ${from} is not an ECDSA P-256 key (${key.asymmetricKeyType ?? 'unknown'})`, KEY_HINT);
  }
  return key;
}

/** The public key's PEM: what `cosign verify-attestation --key` is given. */
export function publicKeyPem(key: KeyObject): string {
  return createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
}

/** The sigstore bundle (JSON bytes) of a DSSE envelope over the Statement, signed with the key. */
export async function signStatement(statement: Uint8Array, key: KeyObject): Promise<Buffer> {
  // Lazily: @sigstore/sign brings an HTTP client for Fulcio and Rekor that a run without signing never needs.
  // Both are CommonJS: bundled into the CLI's ES module their exports are under `default` only (tsx and
  // Node give them named too), so they are taken from there.
  const [{ DSSEBundleBuilder }, { bundleToJSON }] = await Promise.all([
    import('@sigstore/sign').then((m) => commonJs(m)),
    import('@sigstore/bundle').then((m) => commonJs(m)),
  ]);
  const publicKey = publicKeyPem(key);
  // No key hint: the builder puts it in the envelope's `keyid` too, and cosign 3 then finds no signature
  // by the key it is given (its verifier's key id is another one): "accepted signatures do not match
  // threshold, Found: 0" (tried with cosign 3.1.1). cosign's own bundles carry no keyid either.
  const signer = {
    sign: async (data: Buffer) => ({ signature: sign('sha256', data, key), key: { $case: 'publicKey' as const, publicKey, hint: '' } }),
  };
  const bundle = await new DSSEBundleBuilder({ signer, witnesses: [] }).create({ data: Buffer.from(statement), type: IN_TOTO });
  return Buffer.from(JSON.stringify(bundleToJSON(bundle)));
}

/** A CommonJS module's exports, whether the loader gave them as named exports or as `default`. */
function commonJs<T extends object>(module: T): T {
  const fallback = (module as { default?: T }).default;
  return fallback && typeof fallback === 'object' ? fallback : module;
}
