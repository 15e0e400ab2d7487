import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  checkAttestoSignature,
  signAttestoPayload,
  verifyAttestoSignature,
} from '../../shared/attesto/webhook-signature';
import { opensslSignature } from '../support/openssl-signature';

// Reference vectors come from openssl (test/support/openssl-signature.ts), not from the code
// under test.

// Shaped like `openssl rand -base64 32`, which is how Attesto operators create secrets.
const SECRET = 'q0Zk3Vt1c8yR2mO9xWb4Hn7LpJf6Ds5Ae+Gi/Uo1TzA=';
const PREVIOUS = 'Mv8Yd2Kp4Qs6Rt1Wx3Zb5Nc7Fg9Hj0Lk+Pm/Oe2Ia4U=';
const BODY = JSON.stringify({
  event: 'subscription.renewed',
  eventId: 'evt_01J9ZQ3W6Y8KX2V4T5R7N9M1B3',
  subject: { key: '2000000123456789', productId: 'premium_monthly', type: 'subscription' },
});
const NOW = 1_760_000_000;

function header(t: number, secret = SECRET, body: Uint8Array | string = BODY): string {
  return `t=${t},v1=${opensslSignature(secret, t, body)}`;
}

function verify(h: string | undefined, rawBody: Uint8Array | string = BODY, secrets = [SECRET], now = NOW) {
  return verifyAttestoSignature({ rawBody, header: h, secrets, nowSeconds: now });
}

describe('signAttestoPayload', () => {
  it('produces the header Attesto sends, byte for byte', () => {
    expect(signAttestoPayload(BODY, SECRET, NOW)).toBe(header(NOW));
    expect(signAttestoPayload(Buffer.from(BODY), SECRET, NOW)).toBe(header(NOW));
  });

  it('rejects a non-integer timestamp', () => {
    expect(() => signAttestoPayload(BODY, SECRET, 1.5)).toThrow(RangeError);
  });
});

describe('verifyAttestoSignature', () => {
  it('accepts a valid signature over string and byte bodies', () => {
    expect(verify(header(NOW))).toBe(true);
    expect(verify(header(NOW), Buffer.from(BODY, 'utf8'))).toBe(true);
    expect(verify(header(NOW), new Uint8Array(Buffer.from(BODY, 'utf8')))).toBe(true);
  });

  it('refuses the wrong secret', () => {
    expect(
      checkAttestoSignature({
        rawBody: BODY,
        header: header(NOW, 'not-the-secret'),
        secrets: [SECRET],
        nowSeconds: NOW,
      }),
    ).toEqual({
      ok: false,
      reason: 'signature_mismatch',
    });
  });

  it('refuses a tampered body, even a one-byte change', () => {
    const h = header(NOW);
    expect(verify(h, BODY.replace('renewed', 'purchased'))).toBe(false);
    expect(verify(h, `${BODY} `)).toBe(false);
    expect(verify(h, JSON.stringify(JSON.parse(BODY), null, 2))).toBe(false);
  });

  it('refuses timestamps more than 300 s away in either direction', () => {
    expect(
      checkAttestoSignature({ rawBody: BODY, header: header(NOW - 301), secrets: [SECRET], nowSeconds: NOW }),
    ).toEqual({
      ok: false,
      reason: 'stale_timestamp',
    });
    expect(verify(header(NOW + 301))).toBe(false);
  });

  it('accepts timestamps exactly 300 s away', () => {
    expect(verify(header(NOW - 300))).toBe(true);
    expect(verify(header(NOW + 300))).toBe(true);
    // A fractional clock (Date.now() / 1000) is floored, as Attesto's verifier does.
    expect(verify(header(NOW - 300), BODY, [SECRET], NOW + 0.9)).toBe(true);
  });

  it('honours a custom tolerance', () => {
    expect(
      verifyAttestoSignature({
        rawBody: BODY,
        header: header(NOW - 61),
        secrets: [SECRET],
        nowSeconds: NOW,
        toleranceSeconds: 60,
      }),
    ).toBe(false);
  });

  it('refuses a missing header', () => {
    for (const h of [undefined, null, '']) {
      expect(checkAttestoSignature({ rawBody: BODY, header: h, secrets: [SECRET], nowSeconds: NOW })).toEqual(
        {
          ok: false,
          reason: 'missing_header',
        },
      );
    }
  });

  it('refuses garbled headers', () => {
    const v1 = opensslSignature(SECRET, NOW, BODY);
    const garbled = [
      `t=${NOW}`, // no v1
      `v1=${v1}`, // no t
      `t=abc,v1=${v1}`, // non-numeric t
      `t=${NOW}.5,v1=${v1}`, // fractional t
      `t=-${NOW},v1=${v1}`,
      `t=,v1=${v1}`,
      `t=${NOW},v1=${v1.slice(0, 63)}`, // short
      `t=${NOW},v1=${v1}00`, // long
      `t=${NOW},v1=${v1.slice(0, 62)}zz`, // not hex
      `t=${NOW},v1=${v1.slice(0, 30)} ${v1.slice(30, 63)}`, // space inside the hex
      `t=${NOW};v1=${v1}`, // wrong separator
      `t=${NOW},v1=${v1},`, // trailing empty part
      `t=${NOW},v1=${v1},t=${NOW}`, // repeated key
      `t ${NOW},v1=${v1}`,
      `T=${NOW},V1=${v1}`, // keys are case-sensitive
      'garbage',
    ];
    for (const h of garbled) {
      expect(
        checkAttestoSignature({ rawBody: BODY, header: h, secrets: [SECRET], nowSeconds: NOW }),
        h,
      ).toEqual({
        ok: false,
        reason: 'malformed_header',
      });
    }
  });

  it('tolerates whitespace around separators, key order, uppercase hex and unknown keys', () => {
    const v1 = opensslSignature(SECRET, NOW, BODY);
    expect(verify(` t = ${NOW} ,  v1=${v1} `)).toBe(true);
    expect(verify(`v1=${v1},t=${NOW}`)).toBe(true);
    expect(verify(`t=${NOW},v1=${v1.toUpperCase()}`)).toBe(true);
    expect(verify(`t=${NOW},v1=${v1},v2=abc`)).toBe(true);
  });

  it('accepts the previous secret during a rotation, and refuses once it is dropped', () => {
    const signedWithPrevious = header(NOW, PREVIOUS);
    expect(verify(signedWithPrevious, BODY, [SECRET, PREVIOUS])).toBe(true);
    expect(verify(header(NOW), BODY, [SECRET, PREVIOUS])).toBe(true);
    expect(verify(signedWithPrevious, BODY, [SECRET])).toBe(false);
  });

  it('accepts two v1 values (a sender signing with two secrets) when either matches a secret of ours', () => {
    const theirs = opensslSignature('a-secret-we-never-had-0123456789', NOW, BODY);
    const ours = opensslSignature(SECRET, NOW, BODY);
    const previous = opensslSignature(PREVIOUS, NOW, BODY);
    expect(verify(`t=${NOW},v1=${ours},v1=${theirs}`)).toBe(true);
    expect(verify(`t=${NOW},v1=${theirs},v1=${ours}`)).toBe(true);
    expect(verify(`v1=${theirs}, t=${NOW}, v1=${previous.toUpperCase()}`, BODY, [SECRET, PREVIOUS])).toBe(
      true,
    );
    expect(
      checkAttestoSignature({
        rawBody: BODY,
        header: `t=${NOW},v1=${ours},v1=${ours}`,
        secrets: [SECRET],
        nowSeconds: NOW,
      }),
    ).toEqual({ ok: true, t: NOW });
  });

  it('refuses two v1 values when neither matches, and a header whose second v1 is malformed', () => {
    const theirs = opensslSignature('a-secret-we-never-had-0123456789', NOW, BODY);
    const ours = opensslSignature(SECRET, NOW, BODY);
    expect(
      checkAttestoSignature({
        rawBody: BODY,
        header: `t=${NOW},v1=${theirs},v1=${opensslSignature(PREVIOUS, NOW, BODY)}`,
        secrets: [SECRET],
        nowSeconds: NOW,
      }),
    ).toEqual({ ok: false, reason: 'signature_mismatch' });
    for (const h of [
      `t=${NOW},v1=${ours},v1=${ours.slice(0, 63)}`,
      `t=${NOW},v1=${ours},v1=`,
      `t=${NOW},v1=${ours},v1=${theirs},t=${NOW}`,
      `t=${NOW},${Array(9).fill(`v1=${ours}`).join(',')}`,
    ]) {
      expect(
        checkAttestoSignature({ rawBody: BODY, header: h, secrets: [SECRET], nowSeconds: NOW }),
        h,
      ).toEqual({
        ok: false,
        reason: 'malformed_header',
      });
    }
  });

  it('refuses everything when no secret is configured', () => {
    expect(verify(header(NOW), BODY, [])).toBe(false);
    expect(verify(header(NOW, ''), BODY, [''])).toBe(false);
  });

  it('verifies a base64-encoded event body after decoding it, not the base64 text', () => {
    const h = header(NOW);
    const isBase64Encoded = Buffer.from(BODY, 'utf8').toString('base64');
    expect(verify(h, Buffer.from(isBase64Encoded, 'base64'))).toBe(true);
    expect(verify(h, isBase64Encoded)).toBe(false);
  });

  it('hashes non-ASCII bodies as their UTF-8 bytes', () => {
    const body = JSON.stringify({ event: 'test', note: 'café — 日本語 🎉', bytes: '\u0000\u00ff' });
    const h = header(NOW, SECRET, Buffer.from(body, 'utf8'));
    expect(verify(h, body)).toBe(true);
    expect(verify(h, Buffer.from(body, 'utf8'))).toBe(true);
    // Latin-1 re-encoding of the same text changes the bytes and must not verify.
    expect(verify(h, Buffer.from(body, 'latin1'))).toBe(false);
  });

  it('uses the UTF-8 bytes of a non-ASCII secret, not a decoded form', () => {
    const secret = 'clé-secrète-🔑';
    const h = header(NOW, secret);
    expect(verify(h, BODY, [secret])).toBe(true);
    // Keyed with the base64-DECODED secret bytes (a common mistake): must not verify.
    const decodedKey = Buffer.from(SECRET, 'base64').toString('hex');
    const out = execFileSync(
      'openssl',
      ['dgst', '-sha256', '-mac', 'HMAC', '-macopt', `hexkey:${decodedKey}`],
      {
        input: Buffer.from(`${NOW}.${BODY}`, 'utf8'),
      },
    ).toString();
    expect(verify(`t=${NOW},v1=${out.trim().split('= ').pop()}`, BODY, [SECRET])).toBe(false);
  });
});
