import { CompactSign, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AppleJwsDecodeError,
  decodeAppleRenewalInfo,
  decodeAppleTransaction,
  decodeJwsPayload,
} from '../../shared/attesto/apple-jws';

// JWS built here with a fresh ES256 key, shaped like Apple's (ES256 header with an x5c chain).
let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let x5c: string[];

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  privateKey = pair.privateKey;
  const jwk = await exportJWK(pair.publicKey);
  // Not a real certificate: the decoder must not look at it.
  x5c = [Buffer.from(JSON.stringify(jwk)).toString('base64')];
});

async function sign(payload: Record<string, unknown>): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', x5c }).sign(privateKey);
}

const transaction = {
  transactionId: '2000000123456790',
  originalTransactionId: '2000000123456789',
  webOrderLineItemId: '2000000011111111',
  bundleId: 'com.example.app',
  productId: 'premium_monthly',
  subscriptionGroupIdentifier: '21000000',
  purchaseDate: 1_767_261_600_000,
  originalPurchaseDate: 1_764_583_200_000,
  expiresDate: 1_769_940_000_000,
  quantity: 1,
  type: 'Auto-Renewable Subscription',
  appAccountToken: '3f0c9a52-6a4e-4c59-9d0b-5c1f3e0a7b21',
  inAppOwnershipType: 'PURCHASED',
  signedDate: 1_767_261_601_000,
  environment: 'Sandbox',
  transactionReason: 'RENEWAL',
  storefront: 'USA',
  storefrontId: '143441',
  price: 9990,
  currency: 'USD',
  someNewAppleField: { nested: true },
};

const renewal = {
  originalTransactionId: '2000000123456789',
  autoRenewProductId: 'premium_yearly',
  productId: 'premium_monthly',
  autoRenewStatus: 1,
  isInBillingRetryPeriod: true,
  gracePeriodExpiresDate: 1_770_544_800_000,
  renewalDate: 1_769_940_000_000,
  signedDate: 1_767_261_601_000,
  environment: 'Production',
};

describe('decodeJwsPayload', () => {
  it('returns the payload of a signed JWS without needing the key', async () => {
    expect(decodeJwsPayload(await sign({ a: 1, b: 'ü' }))).toEqual({ a: 1, b: 'ü' });
  });

  it('names the problem for malformed input', async () => {
    const good = await sign({ a: 1 });
    const [header, , signature] = good.split('.');
    const cases: Array<[string, RegExp]> = [
      ['', /empty/],
      ['not-a-jws', /not a compact JWS/],
      [`${header}.${Buffer.from('not json').toString('base64url')}.${signature}`, /not a compact JWS/],
      [`${header}.${Buffer.from('[1,2]').toString('base64url')}.${signature}`, /not a compact JWS/],
      [`${header}.***.${signature}`, /not a compact JWS/],
      [`garbage.${good.split('.')[1]}.${signature}`, /not a compact JWS/],
      ['a.b.c.d.e', /not a compact JWS/],
    ];
    for (const [input, message] of cases) {
      expect(() => decodeJwsPayload(input, 'signedTransactionInfo'), input).toThrow(AppleJwsDecodeError);
      expect(() => decodeJwsPayload(input, 'signedTransactionInfo'), input).toThrow(message);
    }
  });

  it('decodes a JWS whose payload is not a JWT claim set (CompactSign)', async () => {
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(transaction)))
      .setProtectedHeader({ alg: 'ES256', x5c })
      .sign(privateKey);
    expect(decodeAppleTransaction(jws).originalTransactionId).toBe('2000000123456789');
  });
});

describe('decodeAppleTransaction', () => {
  it('parses Apple field names with millisecond dates and keeps unknown fields', async () => {
    const decoded = decodeAppleTransaction(await sign(transaction));
    expect(decoded).toMatchObject({
      transactionId: '2000000123456790',
      originalTransactionId: '2000000123456789',
      expiresDate: 1_769_940_000_000,
      environment: 'Sandbox',
      appAccountToken: '3f0c9a52-6a4e-4c59-9d0b-5c1f3e0a7b21',
      someNewAppleField: { nested: true },
    });
    expect(decoded.revocationDate).toBeUndefined();
  });

  it('parses a revoked non-consumable without an expiry', async () => {
    const { expiresDate: _e, subscriptionGroupIdentifier: _g, webOrderLineItemId: _w, ...rest } = transaction;
    const decoded = decodeAppleTransaction(
      await sign({ ...rest, type: 'Non-Consumable', revocationDate: 1_767_300_000_000, revocationReason: 0 }),
    );
    expect(decoded.expiresDate).toBeUndefined();
    expect(decoded.revocationDate).toBe(1_767_300_000_000);
  });

  it('refuses a payload missing a field we rely on, naming it', async () => {
    const { originalTransactionId: _o, ...missing } = transaction;
    expect(() => decodeAppleTransaction('x')).toThrow(AppleJwsDecodeError);
    const jws = await sign(missing);
    expect(() => decodeAppleTransaction(jws)).toThrow(/signedTransactionInfo payload.*originalTransactionId/);
  });

  it('refuses ISO strings where Apple sends milliseconds', async () => {
    const jws = await sign({ ...transaction, expiresDate: '2026-02-01T10:00:00Z' });
    expect(() => decodeAppleTransaction(jws)).toThrow(/expiresDate/);
  });
});

describe('decodeAppleRenewalInfo', () => {
  it('parses renewal info', async () => {
    const decoded = decodeAppleRenewalInfo(await sign(renewal));
    expect(decoded).toMatchObject({
      autoRenewStatus: 1,
      autoRenewProductId: 'premium_yearly',
      isInBillingRetryPeriod: true,
      gracePeriodExpiresDate: 1_770_544_800_000,
    });
  });

  it('refuses an autoRenewStatus outside 0/1 and names the field', async () => {
    const jws = await sign({ ...renewal, autoRenewStatus: 'on' });
    expect(() => decodeAppleRenewalInfo(jws)).toThrow(/signedRenewalInfo payload.*autoRenewStatus/);
  });
});
