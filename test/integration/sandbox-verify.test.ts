import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttestoSandbox, startAttestoSandbox } from '../../dev/sandbox/server';
import {
  appleVerifyOkSchema,
  attestoErrorSchema,
  googleProductOkSchema,
  googleSubscriptionOkSchema,
  verifyRejectedSchema,
} from '../../shared/attesto/schemas';

// Every answer of the sandbox's verify endpoints, over real HTTP, against the wire schemas the
// backend's Attesto client parses with.

const API_KEY = 'attesto_test_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const PACKAGE = 'com.example.app';
const BUNDLE = 'com.example.app';
const USER = '0b6d3c57-8f3e-4c2a-9d1b-7a5e4f3c2b1a';

let sandbox: AttestoSandbox;

beforeAll(async () => {
  sandbox = await startAttestoSandbox({
    apiKey: API_KEY,
    webhookSecret: 'whsec-sandbox-verify-test-0123456789abcdefghij',
    packageName: PACKAGE,
    bundleId: BUNDLE,
  });
});

afterAll(async () => {
  await sandbox.stop();
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${sandbox.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    json: (await response.json()) as Record<string, unknown>,
  };
}

describe('sandbox verify: success answers', () => {
  it('answers Apple verify for a subscription with every field of contract §2.2', async () => {
    const { purchase } = await sandbox.buy({
      platform: 'apple',
      productId: 'premium_monthly',
      appUserId: USER,
    });
    const transactionId = purchase.token;

    const res = await post('/v1/apple/verify', { transactionId });

    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^req_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(res.headers.get('x-attesto-version')).toBeTruthy();
    const ok = appleVerifyOkSchema.parse(res.json);
    expect(ok.environment).toBe('sandbox');
    expect(ok.appUserId).toBe(USER);
    expect(ok.version).toBe(res.headers.get('x-attesto-version'));
    expect(ok.transaction).toMatchObject({
      transactionId,
      originalTransactionId: transactionId,
      bundleId: BUNDLE,
      productId: 'premium_monthly',
      type: 'Auto-Renewable Subscription',
      inAppOwnershipType: 'PURCHASED',
      transactionReason: 'PURCHASE',
      revocationDate: null,
      appAccountToken: USER,
    });
    expect(Date.parse(ok.transaction.expiresDate ?? '')).toBeGreaterThan(
      Date.parse(ok.transaction.purchaseDate),
    );
    // Every documented key is present, null or not.
    const keys = Object.keys(res.json.transaction as object);
    for (const key of [
      'webOrderLineItemId',
      'revocationReason',
      'offerType',
      'offerIdentifier',
      'storefront',
      'storefrontId',
      'currency',
      'price',
      'quantity',
      'originalPurchaseDate',
      'signedTransactionInfo',
      'rawDecodedPayload',
    ]) {
      expect(keys).toContain(key);
    }
    const decoded = JSON.parse(
      Buffer.from(ok.transaction.signedTransactionInfo.split('.')[1] ?? '', 'base64url').toString(),
    );
    expect(decoded).toEqual(ok.transaction.rawDecodedPayload);
    expect(decoded.environment).toBe('Sandbox');
  });

  it('answers Apple verify for a consumable with no expiry', async () => {
    const { purchase } = await sandbox.buy({ platform: 'apple', productId: 'coins_100' });
    const res = await post('/v1/apple/verify', purchase.verify.body);
    const ok = appleVerifyOkSchema.parse(res.json);
    expect(ok.transaction.type).toBe('Consumable');
    expect(ok.transaction.expiresDate).toBeNull();
    expect(ok.appUserId).toBeNull();
  });

  it('answers Google verify for a subscription with SubscriptionPurchaseV2 as rawResponse', async () => {
    const { purchase } = await sandbox.buy({
      platform: 'google',
      productId: 'premium_monthly',
      appUserId: USER,
    });

    const res = await post('/v1/google/verify', purchase.verify.body);

    expect(res.status).toBe(200);
    const ok = googleSubscriptionOkSchema.parse(res.json);
    expect(ok.appUserId).toBe(USER);
    expect(ok.purchase.kind).toBe('androidpublisher#subscriptionPurchaseV2');
    expect(ok.purchase.obfuscatedExternalAccountId).toBe(USER);
    expect(ok.purchase.orderId).toMatch(/^GPA\.\d{4}-\d{4}-\d{4}-\d{5}$/);
    expect(ok.purchase.autoRenewing).toBe(true);
    expect(ok.purchase.acknowledgementState).toBeNull();
    const raw = ok.purchase.rawResponse as {
      subscriptionState: string;
      lineItems: { productId: string; expiryTime: string; offerDetails: { basePlanId: string } }[];
      testPurchase: unknown;
    };
    expect(raw.subscriptionState).toBe('SUBSCRIPTION_STATE_ACTIVE');
    expect(raw.lineItems[0]?.productId).toBe('premium_monthly');
    expect(raw.lineItems[0]?.offerDetails.basePlanId).toBe('monthly-plan');
    expect(raw.lineItems[0]?.expiryTime).toBe(ok.purchase.expiryTime);
    expect(raw.testPurchase).toEqual({});
  });

  it('answers Google verify for a one-time product with ProductPurchase as rawResponse', async () => {
    const { purchase } = await sandbox.buy({ platform: 'google', productId: 'remove_ads', appUserId: USER });

    const res = await post('/v1/google/verify', purchase.verify.body);

    const ok = googleProductOkSchema.parse(res.json);
    expect(ok.purchase).toMatchObject({
      kind: 'androidpublisher#productPurchase',
      productId: 'remove_ads',
      purchaseState: 0,
      consumptionState: 0,
      obfuscatedExternalAccountId: USER,
    });
    expect(ok.appUserId).toBe(USER);
    expect(ok.purchase.purchaseTimeMillis).toMatch(/^\d+$/);
  });
});

describe('sandbox verify: domain rejections (HTTP 200 valid:false)', () => {
  it.each([['an unknown transaction', { transactionId: '2000000999999999' }, 'TRANSACTION_NOT_FOUND']])(
    'Apple: %s → %s',
    async (_, body, code) => {
      const res = await post('/v1/apple/verify', body);
      expect(res.status).toBe(200);
      expect(verifyRejectedSchema.parse(res.json).error).toBe(code);
    },
  );

  it('Apple: a sandbox transaction asked for in production → TRANSACTION_NOT_FOUND', async () => {
    const { purchase } = await sandbox.buy({ platform: 'apple', productId: 'premium_monthly' });
    const res = await post('/v1/apple/verify', { ...purchase.verify.body, environment: 'production' });
    expect(verifyRejectedSchema.parse(res.json).error).toBe('TRANSACTION_NOT_FOUND');
  });

  it('Apple: a transaction of another app → BUNDLE_ID_MISMATCH', async () => {
    const { purchase } = await sandbox.buy({
      platform: 'apple',
      productId: 'premium_monthly',
      bundleId: 'com.other.app',
    });
    const res = await post('/v1/apple/verify', purchase.verify.body);
    expect(res.status).toBe(200);
    expect(verifyRejectedSchema.parse(res.json).error).toBe('BUNDLE_ID_MISMATCH');
  });

  it('Google: unknown token, wrong type, wrong package → PURCHASE_NOT_FOUND / PACKAGE_NAME_MISMATCH', async () => {
    const { purchase } = await sandbox.buy({ platform: 'google', productId: 'premium_monthly' });
    const body = purchase.verify.body as Record<string, string>;

    const unknown = await post('/v1/google/verify', { ...body, purchaseToken: 'nope.AO-J1Onope' });
    const wrongType = await post('/v1/google/verify', { ...body, type: 'product' });
    const wrongPackage = await post('/v1/google/verify', { ...body, packageName: 'com.other.app' });

    for (const res of [unknown, wrongType, wrongPackage]) {
      expect(res.status).toBe(200);
      verifyRejectedSchema.parse(res.json);
    }
    expect(unknown.json.error).toBe('PURCHASE_NOT_FOUND');
    expect(wrongType.json.error).toBe('PURCHASE_NOT_FOUND');
    expect(wrongPackage.json.error).toBe('PACKAGE_NAME_MISMATCH');
  });
});

describe('sandbox verify: error envelopes', () => {
  it.each([
    ['no key', undefined],
    ['a wrong key', 'Bearer attesto_test_wrong'],
    ['no Bearer prefix', API_KEY],
  ])('401 UNAUTHENTICATED with %s', async (_, authorization) => {
    const response = await fetch(`${sandbox.url}/v1/apple/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ transactionId: '1' }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    expect(attestoErrorSchema.parse(await response.json()).error).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['a missing transactionId', '/v1/apple/verify', { environment: 'sandbox' }, {}],
    ['an unknown environment', '/v1/apple/verify', { transactionId: '1', environment: 'staging' }, {}],
    ['JSON that does not parse', '/v1/apple/verify', '{"transactionId":', {}],
    [
      'Google type consumable',
      '/v1/google/verify',
      { packageName: PACKAGE, productId: 'coins_100', purchaseToken: 't', type: 'consumable' },
      {},
    ],
    ['a text/plain body', '/v1/apple/verify', { transactionId: '1' }, { 'content-type': 'text/plain' }],
    ['a body over 16 KB', '/v1/apple/verify', { transactionId: '1', pad: 'x'.repeat(17 * 1024) }, {}],
  ])('400 INVALID_REQUEST for %s', async (_, path, body, headers) => {
    const res = await post(path, body, headers);
    expect(res.status).toBe(400);
    const error = attestoErrorSchema.parse(res.json);
    expect(error.error).toBe('INVALID_REQUEST');
    expect(error.valid).toBe(false);
  });
});
