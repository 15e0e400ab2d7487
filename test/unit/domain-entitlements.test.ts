import { describe, expect, it } from 'vitest';
import { parseCatalog } from '../../shared/domain/catalog';
import { type EntitlementPolicy, entitlementsOf } from '../../shared/domain/entitlements';
import type { Grant } from '../../shared/domain/grant';
import type { Purchase } from '../../shared/domain/purchase';
import { DAY, iso, NOW, policy, subscription } from '../support/domain-purchases';

let seq = 0;
/** A subscription under a transaction id of its own. */
function purchase(overrides: Partial<Purchase>): Purchase {
  seq += 1;
  return subscription(overrides, String(1000 + seq));
}

describe('entitlementsOf: one purchase', () => {
  it.each<[string, Partial<Purchase>, Partial<EntitlementPolicy>, string | null | 'none']>([
    ['active, expiring later', {}, {}, iso(NOW + DAY)],
    ['active, expiring exactly now', { expiresAt: NOW }, {}, 'none'],
    ['active, expiring 1 ms after now', { expiresAt: NOW + 1 }, {}, iso(NOW + 1)],
    ['active, expired 1 ms ago', { expiresAt: NOW - 1 }, {}, 'none'],
    ['active with unknown expiry', { expiresAt: undefined }, {}, 'none'],
    ['without a status', { status: undefined }, {}, 'none'],
    ['without a product', { productId: undefined }, {}, 'none'],
    [
      'grace until its grace end',
      { status: 'grace', expiresAt: NOW - DAY, gracePeriodExpiresAt: NOW + 2 * DAY },
      {},
      iso(NOW + 2 * DAY),
    ],
    [
      'grace ending exactly now',
      { status: 'grace', expiresAt: NOW - DAY, gracePeriodExpiresAt: NOW },
      {},
      'none',
    ],
    [
      'grace without an end falls back to expiry',
      { status: 'grace', expiresAt: NOW + DAY },
      {},
      iso(NOW + DAY),
    ],
    [
      'grace with a null end falls back to expiry (past)',
      { status: 'grace', expiresAt: NOW - 1, gracePeriodExpiresAt: null },
      {},
      'none',
    ],
    [
      'billing retry within the cap',
      { status: 'billing_retry', expiresAt: NOW - DAY },
      {},
      iso(NOW + 15 * DAY),
    ],
    ['billing retry at exactly the cap', { status: 'billing_retry', expiresAt: NOW - 16 * DAY }, {}, 'none'],
    ['billing retry past the cap', { status: 'billing_retry', expiresAt: NOW - 20 * DAY }, {}, 'none'],
    [
      'billing retry with a shorter cap',
      { status: 'billing_retry', expiresAt: NOW - DAY },
      { billingRetryMaxDays: 1 },
      'none',
    ],
    [
      'billing retry when the policy says no',
      { status: 'billing_retry', expiresAt: NOW + DAY },
      { billingRetryEntitled: false },
      'none',
    ],
    ['on hold', { status: 'on_hold' }, {}, 'none'],
    ['paused', { status: 'paused' }, {}, 'none'],
    ['expired', { status: 'expired' }, {}, 'none'],
    ['revoked', { status: 'revoked' }, {}, 'none'],
    ['refunded', { status: 'refunded' }, {}, 'none'],
    ['a lifetime product', { productId: 'remove_ads', productType: 'product', expiresAt: null }, {}, null],
    [
      'a refunded lifetime product',
      { productId: 'remove_ads', productType: 'product', expiresAt: null, status: 'refunded' },
      {},
      'none',
    ],
    ['a consumable', { productId: 'coins_100', productType: 'consumable', expiresAt: null }, {}, 'none'],
    ['an unknown product', { productId: 'legacy_sku' }, {}, 'none'],
    [
      'a sandbox purchase when sandbox purchases are accepted',
      { environment: 'sandbox' },
      {},
      iso(NOW + DAY),
    ],
    [
      'a sandbox purchase when sandbox purchases are refused',
      { environment: 'sandbox' },
      { allowSandboxPurchases: false },
      'none',
    ],
    [
      'a sandbox lifetime product when sandbox purchases are refused',
      { environment: 'sandbox', productId: 'remove_ads', productType: 'product', expiresAt: null },
      { allowSandboxPurchases: false },
      'none',
    ],
    [
      'a production purchase when sandbox purchases are refused',
      { environment: 'production' },
      { allowSandboxPurchases: false },
      iso(NOW + DAY),
    ],
  ])('%s', (_name, overrides, policyOverrides, expected) => {
    const result = entitlementsOf([purchase(overrides)], NOW, { ...policy, ...policyOverrides });
    if (expected === 'none') expect(result).toEqual([]);
    else expect(result.map((e) => e.expiresAt)).toEqual([expected]);
  });

  it('describes the entitlement in the SDK shape with pass-through details', () => {
    const p = purchase({
      platform: 'google',
      environment: 'sandbox',
      willRenew: false,
      status: 'grace',
      gracePeriodExpiresAt: NOW + DAY,
    });
    expect(entitlementsOf([p], NOW, policy)).toEqual([
      {
        key: 'premium',
        productId: 'premium_monthly',
        expiresAt: iso(NOW + DAY),
        status: 'grace',
        willRenew: false,
        platform: 'google',
        environment: 'sandbox',
        source: 'purchase',
      },
    ]);
  });

  it('uses the default policy (billing retry entitled, 16 days) when none is given', () => {
    expect(
      entitlementsOf([purchase({ status: 'billing_retry', expiresAt: NOW - 15 * DAY })], NOW),
    ).toHaveLength(1);
    expect(
      entitlementsOf([purchase({ status: 'billing_retry', expiresAt: NOW - 17 * DAY })], NOW),
    ).toHaveLength(0);
  });
});

describe('entitlementsOf: several purchases', () => {
  it('returns one entitlement per key, the longest lasting', () => {
    const monthly = purchase({ productId: 'premium_monthly', expiresAt: NOW + DAY });
    const yearly = purchase({ productId: 'premium_yearly', expiresAt: NOW + 300 * DAY });
    for (const order of [
      [monthly, yearly],
      [yearly, monthly],
    ]) {
      const result = entitlementsOf(order, NOW, policy);
      expect(result).toHaveLength(1);
      expect(result[0]).toMatchObject({ key: 'premium', productId: 'premium_yearly' });
    }
  });

  it('lets a lifetime grant beat any expiry', () => {
    const c = parseCatalog({
      products: [
        { id: 'sub', type: 'subscription', entitlements: ['premium'] },
        { id: 'lifetime', type: 'product', entitlements: ['premium'] },
      ],
    });
    const sub = purchase({ productId: 'sub', expiresAt: NOW + 1000 * DAY });
    const lifetime = purchase({ productId: 'lifetime', productType: 'product', expiresAt: null });
    expect(entitlementsOf([sub, lifetime], NOW, policy, c)).toMatchObject([
      { productId: 'lifetime', expiresAt: null },
    ]);
    expect(entitlementsOf([lifetime, sub], NOW, policy, c)).toMatchObject([
      { productId: 'lifetime', expiresAt: null },
    ]);
  });

  it('ignores a revoked longer purchase and keeps the shorter live one', () => {
    const live = purchase({ productId: 'premium_monthly', expiresAt: NOW + DAY });
    const refunded = purchase({
      productId: 'premium_yearly',
      expiresAt: NOW + 300 * DAY,
      status: 'refunded',
    });
    expect(entitlementsOf([refunded, live], NOW, policy)).toMatchObject([{ productId: 'premium_monthly' }]);
  });

  it('grants every key of a many-to-many product and sorts by key', () => {
    const c = parseCatalog({
      products: [
        { id: 'bundle', type: 'product', entitlements: ['zeta', 'alpha'] },
        { id: 'sub', type: 'subscription', entitlements: ['middle'] },
      ],
    });
    const result = entitlementsOf(
      [
        purchase({ productId: 'sub' }),
        purchase({ productId: 'bundle', productType: 'product', expiresAt: null }),
      ],
      NOW,
      policy,
      c,
    );
    expect(result.map((e) => [e.key, e.productId])).toEqual([
      ['alpha', 'bundle'],
      ['middle', 'sub'],
      ['zeta', 'bundle'],
    ]);
  });

  it('breaks an exact tie the same way whatever the input order', () => {
    const a = purchase({ pk: 'apple#a', productId: 'premium_monthly', expiresAt: NOW + DAY });
    const b = purchase({ pk: 'apple#b', productId: 'premium_yearly', expiresAt: NOW + DAY });
    expect(entitlementsOf([a, b], NOW, policy)).toEqual(entitlementsOf([b, a], NOW, policy));
    expect(entitlementsOf([b, a], NOW, policy)[0]?.productId).toBe('premium_monthly');
  });

  it('returns nothing for no purchases', () => {
    expect(entitlementsOf([], NOW, policy)).toEqual([]);
  });
});

describe('entitlementsOf: promotional grants', () => {
  const grant = (overrides: Partial<Grant>): Grant => ({
    userId: 'u1',
    key: 'no_ads',
    expiresAt: NOW + DAY,
    reason: 'goodwill',
    grantedBy: 'local',
    grantedAt: iso(NOW - DAY),
    ...overrides,
  });

  it('gives its key until it ends, with a synthetic product id and source "grant"', () => {
    expect(entitlementsOf([], NOW, policy, undefined, [grant({})])).toEqual([
      {
        key: 'no_ads',
        productId: 'grant:no_ads',
        expiresAt: iso(NOW + DAY),
        status: 'active',
        willRenew: false,
        platform: null,
        environment: null,
        source: 'grant',
      },
    ]);
    expect(entitlementsOf([], NOW, policy, undefined, [grant({ expiresAt: null })])[0]?.expiresAt).toBeNull();
  });

  it('gives nothing once expired or revoked', () => {
    expect(entitlementsOf([], NOW, policy, undefined, [grant({ expiresAt: NOW })])).toEqual([]);
    expect(entitlementsOf([], NOW, policy, undefined, [grant({ revokedAt: iso(NOW - 1) })])).toEqual([]);
  });

  it('the longer of a grant and a purchase of the same key wins; a tie goes to the purchase', () => {
    const sub = purchase({ expiresAt: NOW + 10 * DAY });
    const longer = entitlementsOf([sub], NOW, policy, undefined, [
      grant({ key: 'premium', expiresAt: null }),
    ]);
    expect(longer.map((e) => [e.key, e.source])).toEqual([['premium', 'grant']]);
    const shorter = entitlementsOf([sub], NOW, policy, undefined, [
      grant({ key: 'premium', expiresAt: NOW + DAY }),
    ]);
    expect(shorter.map((e) => [e.key, e.productId])).toEqual([['premium', 'premium_monthly']]);
    const tie = entitlementsOf([sub], NOW, policy, undefined, [
      grant({ key: 'premium', expiresAt: NOW + 10 * DAY }),
    ]);
    expect(tie[0]?.source).toBe('purchase');
  });
});
