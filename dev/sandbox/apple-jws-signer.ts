import { createPrivateKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';

// Signs the sandbox's Apple JWS (signedTransactionInfo, signedRenewalInfo, signedPayload) with an
// ES256 key of its own. They are real compact JWS, so any decoder or ES256 verifier reads them;
// they do not chain to Apple's roots, which is fine because a backend receives them from Attesto,
// whose HMAC is what it checks.

export interface AppleJwsSigner {
  sign(payload: Record<string, unknown>): string;
  /** Private key as JWK, to persist with the world. */
  readonly privateJwk: Record<string, unknown>;
  /** Public key as JWK, for tests that check the signature. */
  readonly publicJwk: Record<string, unknown>;
}

const KID = 'attesto-sandbox';

function base64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url');
}

/** A key with a certificate chain (leaf first, base64 DER), e.g. a test PKI shaped like Apple's. */
export interface AppleSigningChain {
  key: KeyObject;
  x5c: readonly string[];
}

export function createAppleJwsSigner(
  privateJwk?: Record<string, unknown> | null,
  chain?: AppleSigningChain,
): AppleJwsSigner {
  let privateKey: KeyObject;
  if (chain) {
    privateKey = chain.key;
  } else if (privateJwk) {
    privateKey = createPrivateKey({ key: privateJwk as never, format: 'jwk' });
  } else {
    privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  }
  const jwk = privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
  const { d: _d, ...publicJwk } = jwk;
  const header = base64url(
    JSON.stringify(chain ? { alg: 'ES256', x5c: chain.x5c } : { alg: 'ES256', kid: KID, typ: 'JWT' }),
  );
  return {
    privateJwk: jwk,
    publicJwk,
    sign(payload) {
      const signingInput = `${header}.${base64url(JSON.stringify(payload))}`;
      // JWS wants the raw r||s signature (IEEE P1363), not DER.
      const signature = sign('sha256', Buffer.from(signingInput), {
        key: privateKey,
        dsaEncoding: 'ieee-p1363',
      });
      return `${signingInput}.${base64url(signature)}`;
    },
  };
}
