import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type EntitlementExplanation,
  explainEntitlements,
  type LastChange,
} from '../../shared/domain/entitlement-explanation';
import { type EntitlementPolicy, entitlementsOf } from '../../shared/domain/entitlements';
import type { Purchase, PurchaseStatus } from '../../shared/domain/purchase';
import { DAY, iso, NOW, policy, subscription } from '../support/domain-purchases';

const purchase = (overrides: Partial<Purchase> = {}) => subscription(overrides);

function explain(
  purchases: Purchase[],
  opts: {
    userId?: string | null;
    policy?: Partial<EntitlementPolicy>;
    lastChanges?: Map<string, LastChange>;
  } = {},
): Record<string, EntitlementExplanation> {
  const list = explainEntitlements(
    { purchases, userId: opts.userId === undefined ? 'u1' : opts.userId, lastChanges: opts.lastChanges },
    NOW,
    { ...policy, ...opts.policy },
  );
  return Object.fromEntries(list.map((e) => [e.key, e]));
}

describe('explainEntitlements: granted', () => {
  it('names the purchase, its status, the expiry the app is told and the last change', () => {
    const p = purchase();
    const last = new Map([
      [p.pk, { at: iso(NOW - DAY), cause: { source: 'attesto-webhook', event: 'renewed' } }],
    ]);
    const { premium } = explain([p], { lastChanges: last });
    expect(premium).toEqual({
      key: 'premium',
      granted: true,
      text: `granted by apple premium_monthly, active until ${iso(NOW + DAY)} (last change ${iso(NOW - DAY)}, attesto-webhook renewed)`,
      grantedBy: {
        platform: 'apple',
        subjectKey: '1000',
        productId: 'premium_monthly',
        status: 'active',
        expiresAt: iso(NOW + DAY),
        accessUntil: iso(NOW + DAY),
        environment: 'production',
        owner: 'u1',
        lastChange: { at: iso(NOW - DAY), source: 'attesto-webhook', event: 'renewed' },
      },
      reasons: [],
    });
  });

  it('says "for life" for a lifetime product and names the longest-lasting of several purchases', () => {
    const short = purchase({ pk: 'apple#1', subjectKey: '1', expiresAt: NOW + DAY });
    const long = purchase({
      pk: 'google#2',
      platform: 'google',
      subjectKey: '2',
      productId: 'premium_yearly',
      expiresAt: NOW + 300 * DAY,
    });
    const ads = purchase({
      pk: 'apple#3',
      subjectKey: '3',
      productId: 'remove_ads',
      productType: 'product',
      expiresAt: null,
    });
    const e = explain([short, long, ads]);
    expect(e.premium?.text).toBe(`granted by google premium_yearly, active until ${iso(NOW + 300 * DAY)}`);
    expect(e.no_ads?.text).toBe('granted by apple remove_ads, active for life');
  });

  it('breaks an exact tie as entitlementsOf does, whatever the input order', () => {
    const a = purchase({ pk: 'apple#1', subjectKey: '1' });
    const b = purchase({ pk: 'apple#2', subjectKey: '2' });
    expect(explain([b, a]).premium?.grantedBy?.subjectKey).toBe('1');
    expect(explain([a, b]).premium?.grantedBy?.subjectKey).toBe('1');
  });

  it('shows the billing-retry access end, not the store expiry', () => {
    const { premium } = explain([purchase({ status: 'billing_retry', expiresAt: NOW - DAY })]);
    expect(premium?.text).toBe(
      `granted by apple premium_monthly, in billing retry until ${iso(NOW + 15 * DAY)}`,
    );
  });
});

describe('explainEntitlements: one reason per way an entitlement is missing', () => {
  const refs = {
    monthly: 'apple premium_monthly',
  };
  it.each<
    [
      string,
      Partial<Purchase>,
      { userId?: string | null; policy?: Partial<EntitlementPolicy> },
      string,
      string,
    ]
  >([
    ['refunded', { status: 'refunded' }, {}, 'refunded', `${refs.monthly} was refunded`],
    ['revoked', { status: 'revoked' }, {}, 'revoked', `${refs.monthly} was revoked by the store`],
    [
      'expired (status)',
      { status: 'expired', expiresAt: NOW - 2 * DAY },
      {},
      'expired',
      `${refs.monthly} expired at ${iso(NOW - 2 * DAY)}`,
    ],
    [
      'expired (status) before its paid period ends',
      { status: 'expired', expiresAt: NOW + DAY },
      {},
      'expired',
      `${refs.monthly} expired`,
    ],
    [
      'expired (active, past its expiry)',
      { expiresAt: NOW - DAY },
      {},
      'expired',
      `${refs.monthly} expired at ${iso(NOW - DAY)}`,
    ],
    [
      'grace period over',
      { status: 'grace', expiresAt: NOW - 3 * DAY, gracePeriodExpiresAt: NOW - DAY },
      {},
      'expired',
      `${refs.monthly} ended its grace period at ${iso(NOW - DAY)}`,
    ],
    [
      'billing retry past the allowed days',
      { status: 'billing_retry', expiresAt: NOW - 20 * DAY },
      {},
      'billing_retry_over',
      `${refs.monthly} has been in billing retry for more than the allowed 16 days since it expired at ${iso(NOW - 20 * DAY)}`,
    ],
    [
      'billing retry not entitled',
      { status: 'billing_retry', expiresAt: NOW + DAY },
      { policy: { billingRetryEntitled: false } },
      'billing_retry_not_entitled',
      `${refs.monthly} is in billing retry, and this stage gives no access during billing retry`,
    ],
    [
      'on hold',
      { status: 'on_hold' },
      {},
      'on_hold',
      `${refs.monthly} is on hold: the store could not renew it and access is suspended`,
    ],
    ['paused', { status: 'paused' }, {}, 'paused', `${refs.monthly} is paused by the customer`],
    [
      'sandbox not allowed',
      { environment: 'sandbox' },
      { policy: { allowSandboxPurchases: false } },
      'sandbox_not_allowed',
      `${refs.monthly} is a sandbox purchase, and this stage refuses sandbox purchases`,
    ],
    [
      'unknown state',
      { status: undefined },
      {},
      'pending',
      `${refs.monthly} is not verified yet: its product or state is not known`,
    ],
    [
      'unknown expiry',
      { expiresAt: undefined },
      {},
      'pending',
      `${refs.monthly} is not verified yet: its expiry is not known`,
    ],
    [
      'unknown product',
      { productId: undefined },
      {},
      'pending',
      'apple (product not known yet) is not verified yet: its product or state is not known',
    ],
    [
      'recorded as a consumable',
      { productType: 'consumable' },
      {},
      'consumable',
      `${refs.monthly} was recorded as a consumable, which grants nothing`,
    ],
    [
      'owned by another user',
      { userId: 'u2' },
      {},
      'other_owner',
      `${refs.monthly} is owned by another user, u2`,
    ],
    [
      'held by nobody',
      { userId: undefined },
      { userId: null },
      'no_owner',
      `${refs.monthly} is held by nobody: no user has verified or restored it`,
    ],
  ])('%s', (_name, overrides, opts, code, text) => {
    const p = purchase(overrides);
    const { premium } = explain([p], opts);
    expect(premium?.granted).toBe(false);
    expect(premium?.grantedBy).toBeNull();
    expect(premium?.reasons).toEqual([expect.objectContaining({ code, text })]);
    expect(premium?.reasons[0]?.purchase).toEqual(
      expect.objectContaining({ platform: 'apple', subjectKey: '1000', owner: p.userId ?? null }),
    );
    expect(premium?.text).toBe(`not granted: ${text}`);
  });

  it('no purchase at all: names the products that would grant it', () => {
    const { premium, no_ads } = explain([]);
    expect(premium?.reasons).toEqual([
      { code: 'no_purchase', text: 'no purchase of premium_monthly or premium_yearly', purchase: null },
    ]);
    expect(no_ads?.text).toBe('not granted: no purchase of remove_ads');
  });

  it('gives one reason per candidate purchase, each with its last change', () => {
    const refunded = purchase({ pk: 'apple#1', subjectKey: '1', status: 'refunded' });
    const expired = purchase({
      pk: 'google#2',
      platform: 'google',
      subjectKey: '2',
      productId: 'premium_yearly',
      expiresAt: NOW - DAY,
    });
    const last = new Map([
      [refunded.pk, { at: iso(NOW - 3 * DAY), cause: { source: 'apple-direct', event: 'refunded' } }],
    ]);
    const { premium } = explain([refunded, expired], { lastChanges: last });
    expect(premium?.reasons.map((r) => r.code)).toEqual(['refunded', 'expired']);
    expect(premium?.text).toBe(
      `not granted: apple premium_monthly was refunded (last change ${iso(NOW - 3 * DAY)}, apple-direct refunded); google premium_yearly expired at ${iso(NOW - DAY)}`,
    );
  });

  it('explains every key the catalog defines, sorted', () => {
    expect(Object.keys(explain([]))).toEqual(['no_ads', 'premium']);
  });
});

describe('explainEntitlements agrees with entitlementsOf', () => {
  const statuses: PurchaseStatus[] = [
    'active',
    'grace',
    'billing_retry',
    'on_hold',
    'paused',
    'expired',
    'revoked',
    'refunded',
  ];
  const time = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.constant(NOW),
    fc.integer({ min: NOW - 40 * DAY, max: NOW + 40 * DAY }),
    // Whole and half days land exactly on the boundaries (an expiry at now, a retry cap reached now).
    fc.integer({ min: -80, max: 80 }).map((half) => NOW + (half * DAY) / 2),
  );
  const arbPurchase = fc.record({
    n: fc.integer({ min: 0, max: 5 }),
    platform: fc.constantFrom('apple' as const, 'google' as const),
    userId: fc.constantFrom('u1', 'u1', 'u1', 'u2', undefined),
    productId: fc.constantFrom(
      'premium_monthly',
      'premium_yearly',
      'remove_ads',
      'coins_100',
      'legacy_sku',
      undefined,
    ),
    productType: fc.constantFrom(
      'subscription' as const,
      'product' as const,
      'consumable' as const,
      undefined,
    ),
    status: fc.constantFrom(...statuses, undefined),
    expiresAt: time,
    gracePeriodExpiresAt: time,
    environment: fc.constantFrom('production' as const, 'sandbox' as const, undefined),
  });
  const arbPolicy = fc.record({
    billingRetryEntitled: fc.boolean(),
    billingRetryMaxDays: fc.integer({ min: 0, max: 30 }),
    allowSandboxPurchases: fc.boolean(),
  });

  it('a key is explained as granted iff entitlementsOf grants it, by the same purchase and until the same time', () => {
    fc.assert(
      fc.property(
        fc.array(arbPurchase, { maxLength: 6 }),
        arbPolicy,
        fc.constantFrom('u1', null),
        (raw, pol, userId) => {
          const purchases = raw.map(({ n, ...p }) => {
            const { userId: owner, ...rest } = p;
            const base = purchase({ pk: `${p.platform}#${n}`, subjectKey: String(n) });
            delete base.userId;
            return { ...base, ...rest, ...(owner ? { userId: owner } : {}) } as Purchase;
          });
          // One item per key, as in the table.
          const unique = [...new Map(purchases.map((p) => [p.pk, p])).values()];
          const held = userId === null ? [] : unique.filter((p) => p.userId === userId);
          const expected = new Map(entitlementsOf(held, NOW, pol).map((e) => [e.key, e]));
          const explained = explainEntitlements({ purchases: unique, userId }, NOW, pol);
          for (const e of explained) {
            const want = expected.get(e.key);
            expect(e.granted, e.text).toBe(want !== undefined);
            if (want) {
              expect(e.grantedBy?.platform).toBe(want.platform);
              expect(e.grantedBy?.productId).toBe(want.productId);
              expect(e.grantedBy?.accessUntil).toBe(want.expiresAt);
              expect(e.reasons).toEqual([]);
            } else {
              expect(e.reasons.length).toBeGreaterThan(0);
            }
          }
          expect(explained.filter((e) => e.granted).map((e) => e.key)).toEqual([...expected.keys()]);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
