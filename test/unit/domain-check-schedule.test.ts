import { describe, expect, it } from 'vitest';
import {
  backoffMs,
  CHECK_DUE_SHARDS,
  checkDueShard,
  nextCheckAt,
  DEFAULT_CHECK_SCHEDULE as S,
} from '../../shared/domain/check-schedule';
import type { Purchase } from '../../shared/domain/purchase';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function purchase(fields: Partial<Purchase>): Purchase {
  return {
    pk: 'google#tok',
    platform: 'google',
    subjectKey: 'tok',
    userId: 'alice',
    productId: 'premium_monthly',
    productType: 'subscription',
    status: 'active',
    expiresAt: NOW + DAY,
    willRenew: true,
    appliedAt: NOW - DAY,
    appliedOrder: 1,
    fieldOrder: {},
    createdAt: new Date(NOW - 10 * DAY).toISOString(),
    updatedAt: new Date(NOW - DAY).toISOString(),
    ...fields,
  };
}

describe('nextCheckAt: when a stored purchase may be stale', () => {
  it('checks an active subscription shortly after its stored expiry, whether or not it will renew', () => {
    expect(nextCheckAt(purchase({}), NOW, S)).toBe(NOW + DAY + S.delayAfterExpiryMs);
    expect(nextCheckAt(purchase({ willRenew: false }), NOW, S)).toBe(NOW + DAY + S.delayAfterExpiryMs);
  });

  it('with no delay, a subscription is due from the instant its expiry has passed', () => {
    const at = nextCheckAt(purchase({}), NOW, { ...S, delayAfterExpiryMs: 0 });
    expect(at).toBe(NOW + DAY);
  });

  it('backs off after each check that changed nothing, up to the longest interval', () => {
    const expired = purchase({ expiresAt: NOW - HOUR });
    expect(nextCheckAt(expired, NOW, S, 1)).toBe(NOW + S.firstRetryMs);
    expect(nextCheckAt(expired, NOW, S, 2)).toBe(NOW + 2 * S.firstRetryMs);
    expect(nextCheckAt(expired, NOW, S, 3)).toBe(NOW + 4 * S.firstRetryMs);
    expect(nextCheckAt(expired, NOW, S, 40)).toBe(NOW + S.maxIntervalMs);
    expect(backoffMs(100, S)).toBe(S.maxIntervalMs);
  });

  it('stops checking once the expiry is further back than the look-back', () => {
    expect(nextCheckAt(purchase({ expiresAt: NOW - S.lookBackMs - 1 }), NOW, S, 5)).toBeUndefined();
    expect(nextCheckAt(purchase({ expiresAt: NOW - S.lookBackMs + HOUR }), NOW, S, 5)).toBeDefined();
  });

  it('checks grace period, billing retry and on hold periodically', () => {
    for (const status of ['grace', 'billing_retry', 'on_hold'] as const) {
      expect(nextCheckAt(purchase({ status, expiresAt: NOW - HOUR }), NOW, S)).toBe(NOW + S.troubledPeriodMs);
    }
  });

  it('checks a purchase nobody owns yet, and stops after the look-back from its creation', () => {
    const orphan = purchase({ userId: undefined, createdAt: new Date(NOW).toISOString() });
    expect(nextCheckAt(orphan, NOW, S)).toBe(NOW + S.delayAfterExpiryMs);
    expect(nextCheckAt(orphan, NOW + S.lookBackMs + 1, S)).toBeUndefined();
    const unownedProduct = purchase({ userId: undefined, productType: 'product', expiresAt: null });
    expect(nextCheckAt(unownedProduct, NOW, S)).toBeDefined();
  });

  it('never checks what is final, nor an owned one-time purchase', () => {
    for (const status of ['expired', 'revoked', 'refunded'] as const) {
      expect(nextCheckAt(purchase({ status }), NOW, S)).toBeUndefined();
      expect(nextCheckAt(purchase({ status, userId: undefined }), NOW, S)).toBeUndefined();
    }
    expect(nextCheckAt(purchase({ productType: 'product', expiresAt: null }), NOW, S)).toBeUndefined();
    expect(nextCheckAt(purchase({ productType: 'consumable', expiresAt: null }), NOW, S)).toBeUndefined();
  });

  it('spreads purchases over the shards, the same purchase always on the same one', () => {
    const shards = new Set(Array.from({ length: 200 }, (_, i) => checkDueShard(`apple#${1000 + i}`)));
    expect(shards.size).toBe(CHECK_DUE_SHARDS);
    expect(checkDueShard('google#abc')).toBe(checkDueShard('google#abc'));
  });
});
