import { describe, expect, it } from 'vitest';
import {
  type AppleVerifyOk,
  appleVerifyOkSchema,
  googleProductOkSchema,
  googleSubscriptionOkSchema,
} from '../../shared/attesto/schemas';
import { appleSnapshot } from '../../shared/attesto/translate/apple-snapshot';
import { googleSnapshot } from '../../shared/attesto/translate/google-snapshot';
import { mergeUpdate, updateFor } from '../../shared/domain/state-machine';

const T0 = Date.parse('2026-11-01T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function appleOk(
  tx: Partial<AppleVerifyOk['transaction']> = {},
  environment: 'sandbox' | 'production' = 'production',
) {
  return appleVerifyOkSchema.parse({
    valid: true,
    environment,
    appUserId: null,
    transaction: {
      transactionId: '2000000000000002',
      originalTransactionId: '2000000000000001',
      bundleId: 'com.example.app',
      productId: 'premium_monthly',
      purchaseDate: iso(T0),
      originalPurchaseDate: iso(T0 - 86_400_000),
      expiresDate: iso(T0 + 30 * 86_400_000),
      type: 'Auto-Renewable Subscription',
      signedTransactionInfo: 'x.y.z',
      rawDecodedPayload: {},
      ...tx,
    },
  });
}

describe('appleSnapshot', () => {
  it('keys by originalTransactionId, aliases the transactionId and orders at purchaseDate', () => {
    const s = appleSnapshot(appleOk());
    expect(s.pk).toBe('apple#2000000000000001');
    expect(s.aliases).toEqual(['alias#apple-tx#2000000000000002']);
    expect(s.event).toMatchObject({
      kind: 'snapshot',
      occurredAt: T0,
      fields: {
        productType: 'subscription',
        expiresAt: T0 + 30 * 86_400_000,
        latestTransactionId: '2000000000000002',
      },
    });
    expect(s.credit).toBeUndefined();
    expect(s.transaction).toEqual({
      id: '2000000000000002',
      productId: 'premium_monthly',
      expiresAt: iso(T0 + 30 * 86_400_000),
    });
  });

  it('orders a refund at its revocationDate and marks it refunded (revoked when family-shared)', () => {
    const refunded = appleSnapshot(appleOk({ revocationDate: iso(T0 + 5_000) }));
    expect(refunded.event.occurredAt).toBe(T0 + 5_000);
    expect(updateFor(refunded.event).set.status).toBe('refunded');
    const revoked = appleSnapshot(
      appleOk({ revocationDate: iso(T0 + 5_000), inAppOwnershipType: 'FAMILY_SHARED' }),
    );
    expect(updateFor(revoked.event).set).toMatchObject({ status: 'revoked', ownership: 'FAMILY_SHARED' });
  });

  it('credits a consumable once per transaction, never a refunded one', () => {
    const coins = appleOk({
      productId: 'coins_100',
      type: 'Consumable',
      expiresDate: null,
      transactionId: '7',
      originalTransactionId: '7',
    });
    expect(appleSnapshot(coins).credit).toEqual({
      key: 'credit#apple#7',
      productId: 'coins_100',
      credits: { coins: 100 },
    });
    expect(
      appleSnapshot({ ...coins, transaction: { ...coins.transaction, revocationDate: iso(T0) } }).credit,
    ).toBeUndefined();
  });

  it("takes the product type from the catalog, as webhooks do, and Apple's type only for unlisted products", () => {
    const listed = appleOk({ productId: 'coins_100', type: 'Non-Consumable', expiresDate: null });
    expect(appleSnapshot(listed).event.fields.productType).toBe('consumable');
    expect(appleSnapshot(listed).credit?.productId).toBe('coins_100');
    const unlisted = appleOk({
      productId: 'season_pass',
      type: 'Non-Renewing Subscription',
      expiresDate: null,
    });
    expect(appleSnapshot(unlisted).event.fields.productType).toBe('subscription');
  });

  it('an old renewal verified after the newest never shortens the expiry', () => {
    const identity = { pk: 'apple#1', platform: 'apple' as const, subjectKey: '1' };
    const newest = appleSnapshot(
      appleOk({ transactionId: '3', purchaseDate: iso(T0 + 2e9), expiresDate: iso(T0 + 4e9) }),
    );
    const old = appleSnapshot(
      appleOk({ transactionId: '2', purchaseDate: iso(T0), expiresDate: iso(T0 + 2e9) }),
    );
    const state = mergeUpdate(
      mergeUpdate(undefined, updateFor(newest.event), identity),
      updateFor(old.event),
      identity,
    );
    expect(state).toMatchObject({ expiresAt: T0 + 4e9, latestTransactionId: '3' });
  });
});

function googleSub(raw: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return googleSubscriptionOkSchema.parse({
    valid: true,
    appUserId: null,
    purchase: {
      kind: 'androidpublisher#subscriptionPurchaseV2',
      packageName: 'com.example.app',
      productId: 'premium_monthly',
      purchaseToken: 'tok-2',
      startTime: iso(T0),
      expiryTime: iso(T0 + 1e9),
      orderId: 'GPA.1..1',
      rawResponse: {
        subscriptionState: 'SUBSCRIPTION_STATE_ACTIVE',
        startTime: iso(T0),
        lineItems: [
          {
            productId: 'premium_monthly',
            expiryTime: iso(T0 + 1e9),
            autoRenewingPlan: { autoRenewEnabled: true },
            latestSuccessfulOrderId: 'GPA.1..1',
          },
        ],
        testPurchase: {},
        ...raw,
      },
      ...extra,
    },
  });
}

const sub = { productId: 'premium_monthly', productType: 'subscription' as const };

describe('googleSnapshot', () => {
  it('maps an active subscription, orders it at startTime and aliases token and order', () => {
    const out = googleSnapshot(googleSub(), sub, T0 + 5e9);
    if (out.outcome !== 'snapshot') throw new Error('rejected');
    expect(out.snapshot.event).toMatchObject({
      occurredAt: T0,
      fields: {
        status: 'active',
        willRenew: true,
        expiresAt: T0 + 1e9,
        environment: 'sandbox',
        productType: 'subscription',
      },
    });
    expect(out.snapshot.aliases).toEqual(['alias#google-token#tok-2', 'alias#google-order#GPA.1..1']);
    expect(out.snapshot.linkedPurchaseToken).toBeUndefined();
  });

  it('answers PRODUCT_MISMATCH from the line items, since Attesto only echoes productId', () => {
    const out = googleSnapshot(googleSub(), { productId: 'premium_yearly', productType: 'subscription' }, T0);
    expect(out).toMatchObject({ outcome: 'rejected', error: 'PRODUCT_MISMATCH' });
  });

  it.each([
    ['SUBSCRIPTION_STATE_CANCELED', { status: 'active', willRenew: false }],
    ['SUBSCRIPTION_STATE_IN_GRACE_PERIOD', { status: 'grace', gracePeriodExpiresAt: T0 + 1e9 }],
    ['SUBSCRIPTION_STATE_ON_HOLD', { status: 'on_hold' }],
    ['SUBSCRIPTION_STATE_PAUSED', { status: 'paused' }],
    ['SUBSCRIPTION_STATE_EXPIRED', { status: 'expired', willRenew: false }],
  ])('maps %s', (state, fields) => {
    const out = googleSnapshot(googleSub({ subscriptionState: state }), sub, T0);
    expect(out.outcome === 'snapshot' && out.snapshot.event.fields).toMatchObject(fields);
  });

  it('refuses a pending purchase with a code the SDK retries', () => {
    expect(
      googleSnapshot(googleSub({ subscriptionState: 'SUBSCRIPTION_STATE_PENDING' }), sub, T0),
    ).toMatchObject({
      outcome: 'rejected',
      error: 'PURCHASE_PENDING',
    });
  });

  it('reports linkedPurchaseToken and production for a real purchase', () => {
    const out = googleSnapshot(googleSub({ linkedPurchaseToken: 'tok-1', testPurchase: undefined }), sub, T0);
    if (out.outcome !== 'snapshot') throw new Error('rejected');
    expect(out.snapshot.linkedPurchaseToken).toBe('tok-1');
    expect(out.snapshot.environment).toBe('production');
  });

  const product = (purchaseState: number, productId = 'coins_100') =>
    googleProductOkSchema.parse({
      valid: true,
      purchase: {
        kind: 'androidpublisher#productPurchase',
        packageName: 'com.example.app',
        productId,
        purchaseToken: 'ptok',
        purchaseTimeMillis: String(T0),
        purchaseState,
        orderId: 'GPA.9',
        rawResponse: { productId, purchaseType: 0 },
      },
    });

  it('credits a purchased consumable, never a canceled one, and orders a cancel at now', () => {
    const bought = googleSnapshot(product(0), { productId: 'coins_100', productType: 'consumable' }, T0 + 9);
    expect(bought.outcome === 'snapshot' && bought.snapshot.credit).toEqual({
      key: 'credit#google#ptok',
      productId: 'coins_100',
      credits: { coins: 100 },
    });
    const canceled = googleSnapshot(
      product(1),
      { productId: 'coins_100', productType: 'consumable' },
      T0 + 9,
    );
    if (canceled.outcome !== 'snapshot') throw new Error('rejected');
    expect(canceled.snapshot.credit).toBeUndefined();
    expect(canceled.snapshot.event).toMatchObject({ occurredAt: T0 + 9, fields: { status: 'revoked' } });
    expect(
      googleSnapshot(product(2), { productId: 'coins_100', productType: 'consumable' }, T0),
    ).toMatchObject({
      error: 'PURCHASE_PENDING',
    });
  });

  it('records a non-consumable as a lifetime product', () => {
    const out = googleSnapshot(
      product(0, 'remove_ads'),
      { productId: 'remove_ads', productType: 'product' },
      T0,
    );
    expect(out.outcome === 'snapshot' && out.snapshot.event.fields).toMatchObject({
      productType: 'product',
      status: 'active',
      expiresAt: null,
    });
  });
});
