// Purchases for the pure domain's unit tests: one clock, one policy, one purchase shape.
import type { EntitlementPolicy } from '../../shared/domain/entitlements';
import type { Purchase } from '../../shared/domain/purchase';

export const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
export const DAY = 86_400_000;
export const iso = (ms: number) => new Date(ms).toISOString();

/** The stage defaults: billing retry entitled for 16 days, sandbox purchases allowed. */
export const policy: EntitlementPolicy = {
  billingRetryEntitled: true,
  billingRetryMaxDays: 16,
  allowSandboxPurchases: true,
};

/** User u1's Apple monthly subscription, bought a day before NOW, active and renewing, with `overrides`. */
export function subscription(overrides: Partial<Purchase> = {}, transactionId = '1000'): Purchase {
  return {
    pk: `apple#${transactionId}`,
    platform: 'apple',
    subjectKey: transactionId,
    userId: 'u1',
    productId: 'premium_monthly',
    productType: 'subscription',
    status: 'active',
    expiresAt: NOW + DAY,
    willRenew: true,
    environment: 'production',
    ownership: 'PURCHASED',
    appliedAt: NOW - DAY,
    appliedOrder: 0,
    fieldOrder: {},
    createdAt: iso(NOW - DAY),
    updatedAt: iso(NOW - DAY),
    ...overrides,
  };
}
