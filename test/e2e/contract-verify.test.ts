import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../shared/store/dynamo-client';
import { type ContractApi, startContractApi } from '../support/contract-api';
import {
  assertEntitlementSet,
  sdkEntitlementsResponseSchema,
  sdkProductsResponseSchema,
  sdkUuidResponseSchema,
  sdkVerifyOkSchema,
  sdkVerifyRejectedSchema,
  sdkVerifyResponseSchema,
} from '../support/sdk-schemas';

// Every request and response shape of contract §1 through the local HTTP API emulator (JWT
// authorizer, payload 2.0 events, the real handlers) against the Attesto sandbox on loopback.

let api: ContractApi;

beforeAll(async () => {
  api = await startContractApi();
});
afterAll(async () => {
  await api?.stop();
});
afterEach(() => {
  api.sandbox.setKnobs({ latencyMs: 0, errorRate: 0, burst429: 0, hang: null });
  api.setEnv({
    OWNERSHIP_POLICY: undefined,
    ALLOW_SANDBOX_PURCHASES: undefined,
    ATTESTO_API_KEY: api.sandbox.apiKey,
  });
});

let users = 0;
const newUser = (name: string) => `${name}-${++users}-${Date.now()}`;

async function buyApple(productId: string, appUserId?: string) {
  return (await api.sandbox.buy({ platform: 'apple', productId, ...(appUserId ? { appUserId } : {}) }))
    .purchase;
}
async function buyGoogle(productId: string) {
  return (await api.sandbox.buy({ platform: 'google', productId })).purchase;
}

function ok(response: { status: number; json: unknown }) {
  expect(response.status).toBe(200);
  const body = sdkVerifyOkSchema.parse(response.json);
  assertEntitlementSet(body.entitlements);
  return body;
}

function rejected(response: { status: number; json: unknown }, error: string) {
  expect(response.status).toBe(200);
  const body = sdkVerifyRejectedSchema.parse(response.json);
  expect(body.error).toBe(error);
  return body;
}

async function table() {
  const { Items = [] } = await documentClient().send(
    new ScanCommand({ TableName: api.resources.env.PURCHASES_TABLE, ConsistentRead: true }),
  );
  return Items;
}

describe('verify/apple', () => {
  it('accepts the SDK shape and answers the transaction and the full entitlement set', async () => {
    const user = newUser('apple');
    const sub = await buyApple('premium_monthly');
    const res = await api.call('POST', '/api/iap/verify/apple', {
      user,
      body: { productId: 'premium_monthly', transactionId: sub.token, type: 'subscription' },
    });
    const body = ok(res);
    expect(body.transaction).toMatchObject({
      id: sub.token,
      productId: 'premium_monthly',
      expiresAt: sub.expiresAt,
    });
    expect(Date.parse(String(body.transaction.verifiedAt))).toBeGreaterThan(Date.now() - 60_000);
    expect(body.entitlements).toEqual([
      {
        key: 'premium',
        productId: 'premium_monthly',
        expiresAt: sub.expiresAt,
        status: 'active',
        willRenew: null,
        platform: 'apple',
        environment: 'sandbox',
        source: 'purchase',
      },
    ]);

    // A second purchase: the answer is the whole set, not the delta.
    const ads = await buyApple('remove_ads');
    const second = ok(
      await api.call('POST', '/api/iap/verify/apple', {
        user,
        body: { platform: 'apple', token: ads.token, productId: 'remove_ads', productType: 'product' },
      }),
    );
    expect(second.transaction).toMatchObject({ id: ads.token, productId: 'remove_ads', expiresAt: null });
    expect(second.entitlements.map((e) => [e.key, e.productId, e.expiresAt])).toEqual([
      ['no_ads', 'remove_ads', null],
      ['premium', 'premium_monthly', sub.expiresAt],
    ]);

    const items = await table();
    const purchase = items.find((i) => i.pk === `apple#${sub.subjectKey}`);
    expect(purchase).toMatchObject({ userId: user, productId: 'premium_monthly', environment: 'sandbox' });
    expect(items.find((i) => i.pk === `alias#apple-tx#${sub.token}`)?.target).toBe(`apple#${sub.subjectKey}`);
  });

  it('answers PRODUCT_MISMATCH (permanent to the SDK) when the transaction is for another product', async () => {
    const sub = await buyApple('premium_yearly');
    rejected(
      await api.call('POST', '/api/iap/verify/apple', {
        user: newUser('mismatch'),
        body: { productId: 'premium_monthly', transactionId: sub.token, type: 'subscription' },
      }),
      'PRODUCT_MISMATCH',
    );
    expect((await table()).some((i) => i.pk === `apple#${sub.subjectKey}`)).toBe(false);
  });

  it("passes Attesto's domain errors on as valid:false", async () => {
    rejected(
      await api.call('POST', '/api/iap/verify/apple', {
        body: { productId: 'premium_monthly', transactionId: '999999999999', type: 'subscription' },
      }),
      'TRANSACTION_NOT_FOUND',
    );
    const other = (
      await api.sandbox.buy({ platform: 'apple', productId: 'remove_ads', bundleId: 'com.other.app' })
    ).purchase;
    rejected(
      await api.call('POST', '/api/iap/verify/apple', {
        body: { productId: 'remove_ads', transactionId: other.token, type: 'product' },
      }),
      'BUNDLE_ID_MISMATCH',
    );
  });

  it('answers a refunded transaction valid:true with no entitlement for it', async () => {
    const user = newUser('refund');
    const sub = await buyApple('premium_monthly');
    ok(
      await api.call('POST', '/api/iap/verify/apple', {
        user,
        body: { productId: 'premium_monthly', transactionId: sub.token, type: 'subscription' },
      }),
    );
    await api.sandbox.act(sub.id, 'refund');
    const body = ok(
      await api.call('POST', '/api/iap/verify/apple', {
        user,
        body: { productId: 'premium_monthly', transactionId: sub.token, type: 'subscription' },
      }),
    );
    expect(body.entitlements).toEqual([]);
    expect((await table()).find((i) => i.pk === `apple#${sub.subjectKey}`)?.status).toBe('refunded');
  });

  it('answers an expired subscription valid:true with no entitlement', async () => {
    const sub = await buyApple('premium_monthly');
    await api.sandbox.act(sub.id, 'expire');
    const body = ok(
      await api.call('POST', '/api/iap/verify/apple', {
        user: newUser('expired'),
        body: { productId: 'premium_monthly', transactionId: sub.token, type: 'subscription' },
      }),
    );
    expect(body.entitlements).toEqual([]);
  });

  it('never shortens the expiry when an old renewal transaction is verified', async () => {
    const user = newUser('renewals');
    const sub = await buyApple('premium_monthly');
    for (let i = 0; i < 3; i++) await api.sandbox.act(sub.id, 'renew');
    const latest = api.sandbox.purchases().find((p) => p.id === sub.id);
    if (!latest) throw new Error('the sandbox lost the purchase');
    const transactions = (latest.record as { transactions: { transactionId: string }[] }).transactions;
    const newest = ok(
      await api.call('POST', '/api/iap/verify/apple', {
        user,
        body: { productId: 'premium_monthly', transactionId: latest?.token, type: 'subscription' },
      }),
    );
    expect(newest.entitlements[0]?.expiresAt).toBe(latest?.expiresAt);
    for (const old of transactions.slice(0, -1)) {
      const body = ok(
        await api.call('POST', '/api/iap/verify/apple', {
          user,
          body: { productId: 'premium_monthly', transactionId: old.transactionId, type: 'subscription' },
        }),
      );
      expect(body.transaction.expiresAt).not.toBe(latest?.expiresAt);
      expect(body.entitlements[0]?.expiresAt).toBe(latest?.expiresAt);
    }
    const item = (await table()).find((i) => i.pk === `apple#${sub.subjectKey}`);
    expect(new Date(item?.expiresAt).toISOString()).toBe(latest?.expiresAt);
    expect(item?.latestTransactionId).toBe(latest?.token);
  });

  it('credits a consumable once and keeps one purchase when the same verify arrives 6 times at once', async () => {
    const user = newUser('coins');
    const coins = await buyApple('coins_100');
    const responses = await Promise.all(
      Array.from({ length: 6 }, () =>
        api.call('POST', '/api/iap/verify/apple', {
          user,
          body: { productId: 'coins_100', transactionId: coins.token, type: 'consumable' },
        }),
      ),
    );
    for (const res of responses) expect(ok(res).transaction.id).toBe(coins.token);
    const items = (await table()).filter((i) => String(i.pk).includes(coins.token));
    expect(items.map((i) => i.pk).sort()).toEqual(
      [`alias#apple-tx#${coins.token}`, `apple#${coins.token}`, `credit#apple#${coins.token}`].sort(),
    );
    expect(items.find((i) => i.pk === `credit#apple#${coins.token}`)).toMatchObject({
      creditedTo: user,
      credits: { coins: 100 },
    });
    // Later verifies of the same transaction credit nothing more.
    ok(
      await api.call('POST', '/api/iap/verify/apple', {
        user,
        body: { productId: 'coins_100', transactionId: coins.token, type: 'consumable' },
      }),
    );
    expect(
      (await table()).filter((i) => String(i.pk).startsWith(`credit#apple#${coins.token}`)),
    ).toHaveLength(1);
  });

  it('refuses sandbox purchases when the stage says so', async () => {
    api.setEnv({ ALLOW_SANDBOX_PURCHASES: 'false' });
    const sub = await buyApple('premium_monthly');
    rejected(
      await api.call('POST', '/api/iap/verify/apple', {
        body: { productId: 'premium_monthly', transactionId: sub.token, type: 'subscription' },
      }),
      'SANDBOX_NOT_ALLOWED',
    );
  });
});

describe('ownership', () => {
  it('with OWNERSHIP_POLICY=move, moves an unbound purchase to the second user', async () => {
    api.setEnv({ OWNERSHIP_POLICY: 'move' });
    const [a, b] = [newUser('owner-a'), newUser('owner-b')];
    const sub = await buyApple('premium_yearly');
    const body = { productId: 'premium_yearly', transactionId: sub.token, type: 'subscription' };
    expect(ok(await api.call('POST', '/api/iap/verify/apple', { user: a, body })).entitlements).toHaveLength(
      1,
    );
    expect(ok(await api.call('POST', '/api/iap/verify/apple', { user: b, body })).entitlements).toHaveLength(
      1,
    );
    const first = sdkEntitlementsResponseSchema.parse(
      (await api.call('GET', '/api/iap/entitlements', { user: a })).json,
    );
    expect(first.entitlements).toEqual([]);
    const second = sdkEntitlementsResponseSchema.parse(
      (await api.call('GET', '/api/iap/entitlements', { user: b })).json,
    );
    expect(second.entitlements.map((e) => e.productId)).toEqual(['premium_yearly']);
  });

  it('by default leaves it with the first user and answers ALREADY_OWNED', async () => {
    const [a, b] = [newUser('keep-a'), newUser('keep-b')];
    const sub = await buyApple('premium_monthly');
    const body = { productId: 'premium_monthly', transactionId: sub.token, type: 'subscription' };
    ok(await api.call('POST', '/api/iap/verify/apple', { user: a, body }));
    rejected(await api.call('POST', '/api/iap/verify/apple', { user: b, body }), 'ALREADY_OWNED');
    const second = sdkEntitlementsResponseSchema.parse(
      (await api.call('GET', '/api/iap/entitlements', { user: b })).json,
    );
    expect(second.entitlements).toEqual([]);
    const first = sdkEntitlementsResponseSchema.parse(
      (await api.call('GET', '/api/iap/entitlements', { user: a })).json,
    );
    expect(first.entitlements.map((e) => e.key)).toEqual(['premium']);
  });

  it("never lets user A read or change user B's purchases (the user comes from the token only)", async () => {
    const [a, b] = [newUser('iso-a'), newUser('iso-b')];
    const sub = await buyApple('remove_ads');
    ok(
      await api.call('POST', '/api/iap/verify/apple', {
        user: b,
        body: { productId: 'remove_ads', transactionId: sub.token, type: 'product' },
      }),
    );
    // A body that names another user is ignored: entitlements are the caller's.
    const read = await api.call('GET', '/api/iap/entitlements', { user: a, headers: { 'x-user-id': b } });
    expect(sdkEntitlementsResponseSchema.parse(read.json).entitlements).toEqual([]);
    const other = await buyApple('premium_monthly');
    const wrote = ok(
      await api.call('POST', '/api/iap/verify/apple', {
        user: a,
        body: { productId: 'premium_monthly', transactionId: other.token, type: 'subscription', userId: b },
      }),
    );
    expect(wrote.entitlements.map((e) => e.key)).toEqual(['premium']);
    const ofB = sdkEntitlementsResponseSchema.parse(
      (await api.call('GET', '/api/iap/entitlements', { user: b })).json,
    );
    expect(ofB.entitlements.map((e) => e.key)).toEqual(['no_ads']);
  });
});

describe('verify/google', () => {
  it('verifies a subscription without packageName, in both body shapes', async () => {
    const user = newUser('google');
    const sub = await buyGoogle('premium_monthly');
    const body = ok(
      await api.call('POST', '/api/iap/verify/google', {
        user,
        body: { productId: 'premium_monthly', purchaseToken: sub.token, type: 'subscription' },
      }),
    );
    expect(body.transaction).toMatchObject({
      id: sub.token,
      productId: 'premium_monthly',
      expiresAt: sub.expiresAt,
    });
    expect(body.entitlements).toMatchObject([
      { key: 'premium', productId: 'premium_monthly', platform: 'google', willRenew: true, status: 'active' },
    ]);
    const ads = await buyGoogle('remove_ads');
    const docs = ok(
      await api.call('POST', '/api/iap/verify/google', {
        user,
        body: {
          platform: 'google',
          token: ads.token,
          productId: 'remove_ads',
          productType: 'product',
          packageName: 'com.example.app',
        },
      }),
    );
    expect(docs.entitlements.map((e) => e.key)).toEqual(['no_ads', 'premium']);
    const items = await table();
    expect(items.find((i) => i.pk === `google#${sub.token}`)).toMatchObject({
      userId: user,
      status: 'active',
    });
    expect(items.find((i) => i.pk === `alias#google-token#${sub.token}`)?.target).toBe(`google#${sub.token}`);
  });

  it('refuses another package without calling Attesto', async () => {
    const sub = await buyGoogle('premium_monthly');
    api.sandbox.resetStats();
    rejected(
      await api.call('POST', '/api/iap/verify/google', {
        body: {
          productId: 'premium_monthly',
          purchaseToken: sub.token,
          packageName: 'com.other.app',
          type: 'subscription',
        },
      }),
      'PACKAGE_NAME_MISMATCH',
    );
    expect(api.sandbox.stats().verify.total).toBe(0);
  });

  it('sends consumables to Attesto as product and credits them once', async () => {
    const user = newUser('gcoins');
    const coins = await buyGoogle('coins_100');
    const responses = await Promise.all(
      Array.from({ length: 3 }, () =>
        api.call('POST', '/api/iap/verify/google', {
          user,
          body: { productId: 'coins_100', purchaseToken: coins.token, type: 'consumable' },
        }),
      ),
    );
    for (const res of responses) expect(ok(res).entitlements).toEqual([]);
    expect((await table()).filter((i) => i.pk === `credit#google#${coins.token}`)).toHaveLength(1);
  });

  it('answers PRODUCT_MISMATCH from the line items for a subscription', async () => {
    const sub = await buyGoogle('premium_yearly');
    rejected(
      await api.call('POST', '/api/iap/verify/google', {
        body: { productId: 'premium_monthly', purchaseToken: sub.token, type: 'subscription' },
      }),
      'PRODUCT_MISMATCH',
    );
  });

  it('passes PURCHASE_NOT_FOUND on unchanged (retried by the SDK, not dropped)', async () => {
    rejected(
      await api.call('POST', '/api/iap/verify/google', {
        body: { productId: 'premium_monthly', purchaseToken: 'no-such-token', type: 'subscription' },
      }),
      'PURCHASE_NOT_FOUND',
    );
  });

  it('follows linkedPurchaseToken to the root purchase after an upgrade', async () => {
    const user = newUser('upgrade');
    const sub = await buyGoogle('premium_monthly');
    ok(
      await api.call('POST', '/api/iap/verify/google', {
        user,
        body: { productId: 'premium_monthly', purchaseToken: sub.token, type: 'subscription' },
      }),
    );
    const upgraded = (await api.sandbox.act(sub.id, 'upgrade', { newProductId: 'premium_yearly' })).created;
    expect(upgraded).not.toBeNull();
    const body = ok(
      await api.call('POST', '/api/iap/verify/google', {
        user,
        body: { productId: 'premium_yearly', purchaseToken: upgraded?.token, type: 'subscription' },
      }),
    );
    expect(body.entitlements).toMatchObject([
      { key: 'premium', productId: 'premium_yearly', expiresAt: upgraded?.expiresAt },
    ]);
    const items = await table();
    expect(items.some((i) => i.pk === `google#${upgraded?.token}`)).toBe(false);
    expect(items.find((i) => i.pk === `google#${sub.token}`)).toMatchObject({ productId: 'premium_yearly' });
    expect(items.find((i) => i.pk === `alias#google-token#${upgraded?.token}`)?.target).toBe(
      `google#${sub.token}`,
    );
    // Verifying the replaced token again never undoes the upgrade.
    const again = ok(
      await api.call('POST', '/api/iap/verify/google', {
        user,
        body: { productId: 'premium_monthly', purchaseToken: sub.token, type: 'subscription' },
      }),
    );
    expect(again.entitlements).toMatchObject([{ key: 'premium', productId: 'premium_yearly' }]);
  });
});

describe('entitlements, products, uuid', () => {
  it('GET entitlements answers the SDK schema, empty for a new user', async () => {
    const res = await api.call('GET', '/api/iap/entitlements', { user: newUser('empty') });
    expect(res.status).toBe(200);
    expect(sdkEntitlementsResponseSchema.parse(res.json).entitlements).toEqual([]);
  });

  it('GET products answers the manifest without a token', async () => {
    const res = await api.call('GET', '/api/iap/products', { user: null });
    expect(res.status).toBe(200);
    const body = sdkProductsResponseSchema.parse(res.json);
    expect(body.products).toContainEqual({
      id: 'premium_monthly',
      type: 'subscription',
      androidPlanId: 'monthly-plan',
    });
    expect(body.products).toContainEqual({ id: 'coins_100', type: 'consumable' });
  });

  it('POST and GET uuid give one strict v4 UUID per user, the same under concurrent first calls', async () => {
    const [a, b] = [newUser('uuid-a'), newUser('uuid-b')];
    const first = await Promise.all([
      api.call('POST', '/api/iap/uuid', { user: a }),
      api.call('POST', '/api/iap/uuid', { user: a }),
      api.call('GET', '/api/iap/uuid', { user: a }),
      api.call('POST', '/api/iap/uuid', { user: a }),
    ]);
    const uuids = first.map((r) => {
      expect(r.status).toBe(200);
      return sdkUuidResponseSchema.parse(r.json).uuid;
    });
    expect(new Set(uuids).size).toBe(1);
    const ofB = sdkUuidResponseSchema.parse((await api.call('POST', '/api/iap/uuid', { user: b })).json).uuid;
    expect(ofB).not.toBe(uuids[0]);
    expect(sdkUuidResponseSchema.parse((await api.call('GET', '/api/iap/uuid', { user: a })).json).uuid).toBe(
      uuids[0],
    );
  });
});

describe('verify responses always match the SDK union', () => {
  it('valid and rejected answers both parse as the SDK discriminated union', async () => {
    const sub = await buyApple('premium_monthly');
    for (const transactionId of [sub.token, '1']) {
      const res = await api.call('POST', '/api/iap/verify/apple', {
        body: { productId: 'premium_monthly', transactionId, type: 'subscription' },
      });
      expect(sdkVerifyResponseSchema.safeParse(res.json).success).toBe(true);
    }
  });
});
