import { createHmac, timingSafeEqual } from 'node:crypto';

// Attesto's webhook signature (contract §3.2): header `t=<unix seconds>,v1=<64 lowercase hex>`,
// v1 = HMAC-SHA256 over `${t}.` followed by the exact body bytes, keyed with the UTF-8 bytes of
// the secret string as configured (never base64-decoded). Each delivery attempt is signed afresh,
// so a 300 s window never breaks Attesto's retries.

const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

const V1_PATTERN = /^[0-9a-f]{64}$/;
const T_PATTERN = /^\d{1,15}$/;

type RawBody = string | Uint8Array;

function bodyBytes(rawBody: RawBody): Uint8Array {
  return typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
}

function hmacHex(rawBody: RawBody, secret: string, t: number): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(`${t}.`, 'utf8')
    .update(bodyBytes(rawBody))
    .digest('hex');
}

/** Returns the `X-Attesto-Signature` header value Attesto would send for this body at time `t`. */
export function signAttestoPayload(rawBody: RawBody, secret: string, t: number): string {
  if (!Number.isSafeInteger(t) || t < 0)
    throw new RangeError('t must be a non-negative integer (unix seconds)');
  return `t=${t},v1=${hmacHex(rawBody, secret, t)}`;
}

export type SignatureFailure =
  | 'missing_header'
  | 'malformed_header'
  | 'stale_timestamp'
  | 'signature_mismatch';

export type SignatureCheck = { ok: true; t: number } | { ok: false; reason: SignatureFailure };

export interface VerifyAttestoSignatureInput {
  /** The body exactly as received (base64-decoded first when the event says isBase64Encoded). */
  rawBody: RawBody;
  header: string | null | undefined;
  /** Every secret currently accepted: the current one first, a previous one during rotation. */
  secrets: readonly string[];
  nowSeconds: number;
  toleranceSeconds?: number;
}

/** More v1 values than any rotation needs are refused rather than each compared. */
const MAX_V1_VALUES = 8;

/**
 * Splits on `,` then on the first `=`. Whitespace around the separators is tolerated (Attesto's
 * own reference verifier trims), anything else odd — a part without `=`, a second `t`, a
 * non-integer `t`, a `v1` that is not 64 hex characters — makes the whole header malformed.
 * `v1` may repeat, as in Stripe-style schemes: a sender rotating its own secret signs with both
 * for a while, and either signature is enough. Unknown keys are ignored so a future `v2`
 * alongside `v1` does not break us.
 */
function parseHeader(header: string): { t: number; v1: string[] } | null {
  let t: string | undefined;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq === -1) return null;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (t !== undefined) return null;
      t = value;
    } else if (key === 'v1') {
      const hex = value.toLowerCase();
      if (!V1_PATTERN.test(hex)) return null;
      v1.push(hex);
    }
  }
  if (t === undefined || !T_PATTERN.test(t) || v1.length === 0 || v1.length > MAX_V1_VALUES) return null;
  return { t: Number(t), v1 };
}

/** Like verifyAttestoSignature, but says why a signature was refused (for logs; never the secret). */
export function checkAttestoSignature(input: VerifyAttestoSignatureInput): SignatureCheck {
  const tolerance = input.toleranceSeconds ?? DEFAULT_SIGNATURE_TOLERANCE_SECONDS;
  if (!input.header) return { ok: false, reason: 'missing_header' };
  const parsed = parseHeader(input.header);
  if (!parsed) return { ok: false, reason: 'malformed_header' };
  // Both directions: a far-future t is as suspect as an old one.
  if (Math.abs(Math.floor(input.nowSeconds) - parsed.t) > tolerance) {
    return { ok: false, reason: 'stale_timestamp' };
  }
  const given = parsed.v1.map((hex) => Buffer.from(hex, 'hex'));
  let matched = false;
  for (const secret of input.secrets) {
    if (!secret) continue;
    const expected = Buffer.from(hmacHex(input.rawBody, secret, parsed.t), 'hex');
    // No early exit: every secret is tried against every v1, so timing does not reveal which matched.
    for (const candidate of given) {
      if (expected.length === candidate.length && timingSafeEqual(expected, candidate)) matched = true;
    }
  }
  return matched ? { ok: true, t: parsed.t } : { ok: false, reason: 'signature_mismatch' };
}

/** True when the header is a valid, fresh Attesto signature of rawBody under any of the secrets. */
export function verifyAttestoSignature(input: VerifyAttestoSignatureInput): boolean {
  return checkAttestoSignature(input).ok;
}
