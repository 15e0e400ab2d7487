// Purchase event histories for the property tests of the state machine (pure) and of the store
// that must realise it (DynamoDB Local).
import fc from 'fast-check';
import type { PurchaseEvent, PurchaseEventKind } from '../../shared/domain/state-machine';
import { compareKeys, updateFor } from '../../shared/domain/state-machine';

export const T = Date.UTC(2026, 0, 1);
export const MONTH = 30 * 86_400_000;

export const ev = (
  kind: PurchaseEventKind,
  occurredAt: number,
  fields: PurchaseEvent['fields'] = {},
): PurchaseEvent => ({ kind, occurredAt, fields });

export interface HistoryShape {
  maxRenewals: number;
  /** Steps are 0..maxGapSeconds seconds apart, so several may share a millisecond. */
  maxGapSeconds: number;
  /** Verify snapshots of renewal transactions, 0..maxSnapshots of them. */
  maxSnapshots: number;
  /** How many of the tail events (cancellation, grace, recovery, expiry, refund) at least. */
  minTail: number;
}

/**
 * A realistic subscription history, in upstream time order: purchased, n renewals, a scheduled
 * and a revoked cancellation, a failed renewal with grace, recovery, expiry, refund, plus verify
 * snapshots of some renewal transactions. Distinct events never share an order key (equal order
 * keys mean the same event: a second snapshot of one transaction is a duplicate).
 */
export function subscriptionHistoryArb(shape: HistoryShape): fc.Arbitrary<PurchaseEvent[]> {
  return fc
    .record({
      renewals: fc.integer({ min: 1, max: shape.maxRenewals }),
      gaps: fc.array(fc.integer({ min: 0, max: shape.maxGapSeconds }), { minLength: 20, maxLength: 20 }),
      snapshotOf: fc.array(fc.integer({ min: 0, max: shape.maxRenewals }), { maxLength: shape.maxSnapshots }),
      environment: fc.constantFrom('production' as const, 'sandbox' as const),
      tail: fc.subarray(
        [
          'cancellation_scheduled',
          'cancellation_revoked',
          'in_grace_period',
          'recovered',
          'expired',
          'refunded',
        ] as const,
        { minLength: shape.minTail },
      ),
    })
    .map(({ renewals, gaps, snapshotOf, environment, tail }) => {
      const events: PurchaseEvent[] = [];
      let t = T;
      let step = 0;
      const next = () => {
        t += (gaps[step++ % gaps.length] ?? 1) * 1000;
        return t;
      };
      let expiresAt = T + MONTH;
      events.push(
        ev('purchased', t, {
          productId: 'premium_monthly',
          productType: 'subscription',
          environment,
          ownership: 'PURCHASED',
          expiresAt,
          willRenew: true,
          latestTransactionId: 'tx0',
          appUserId: '6f1c2c8e-3c1a-4d5e-9f00-000000000001',
        }),
      );
      const purchaseDates = [t];
      for (let i = 1; i <= renewals; i++) {
        const renewedAt = next();
        purchaseDates.push(renewedAt);
        expiresAt = renewedAt + MONTH;
        events.push(ev('renewed', renewedAt, { expiresAt, latestTransactionId: `tx${i}`, willRenew: true }));
      }
      for (const kind of tail) {
        const at = next();
        if (kind === 'in_grace_period')
          events.push(ev(kind, at, { gracePeriodExpiresAt: at + 6 * 86_400_000 }));
        else if (kind === 'recovered')
          events.push(ev(kind, at, { expiresAt: at + MONTH, latestTransactionId: 'tx-r' }));
        else events.push(ev(kind, at));
      }
      for (const i of snapshotOf) {
        const at = purchaseDates[Math.min(i, purchaseDates.length - 1)] as number;
        events.push(
          ev('snapshot', at, {
            productId: 'premium_monthly',
            environment,
            ownership: 'PURCHASED',
            expiresAt: at + MONTH,
            latestTransactionId: `tx${i}`,
          }),
        );
      }
      const byOrder = new Map<number, PurchaseEvent>();
      for (const e of events) byOrder.set(updateFor(e).order, e);
      return [...byOrder.values()];
    });
}

/** Events sorted by their register key (generation, then order): the in-order application. */
export function inKeyOrder(events: readonly PurchaseEvent[]): PurchaseEvent[] {
  return [...events].sort((a, b) => {
    const ua = updateFor(a);
    const ub = updateFor(b);
    return compareKeys(ua.gen ?? 0, ua.order, ub.gen ?? 0, ub.order);
  });
}

export const CHAIN_PRODUCTS = ['premium_monthly', 'premium_yearly', 'premium_monthly'] as const;

/**
 * A Google upgrade chain of 2–3 tokens as the consumer and verify see it: each token's events
 * carry its start time as generation; every replaced token gets its SUBSCRIPTION_EXPIRED and
 * CANCELED timed after the next token's purchase (re-read: the old product, ended), and each
 * token may be verified (a snapshot at its start). The live token may be canceled or expire, and
 * a notification whose token Google no longer knows (generation 0) may arrive last of all.
 */
export function upgradeChainHistoryArb(): fc.Arbitrary<{ events: PurchaseEvent[]; liveProduct: string }> {
  return fc
    .record({
      tokens: fc.integer({ min: 2, max: 3 }),
      renewals: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 3, maxLength: 3 }),
      snapshots: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
      replacedLag: fc.integer({ min: 0, max: 5_000 }),
      tail: fc.subarray(['cancellation_scheduled', 'expired'] as const),
      unknownToken: fc.boolean(),
    })
    .map(({ tokens, renewals, snapshots, replacedLag, tail, unknownToken }) => {
      const events: PurchaseEvent[] = [];
      const starts = Array.from({ length: tokens }, (_, i) => T + i * 10 * MONTH);
      for (let i = 0; i < tokens; i++) {
        const start = starts[i] as number;
        const productId = CHAIN_PRODUCTS[i] as string;
        const next = starts[i + 1];
        const base = { productId, productType: 'subscription' as const, environment: 'production' as const };
        const g = (e: PurchaseEvent): PurchaseEvent => ({ ...e, generation: start });
        let expiresAt = start + MONTH;
        events.push(
          g(ev('purchased', start, { ...base, expiresAt, willRenew: true, latestTransactionId: `o${i}` })),
        );
        for (let r = 1; r <= (renewals[i] ?? 0); r++) {
          expiresAt = start + (r + 1) * MONTH;
          events.push(
            g(ev('renewed', start + r * MONTH, { ...base, expiresAt, latestTransactionId: `o${i}.${r}` })),
          );
        }
        if (next !== undefined) {
          // Google's re-read of the replaced token: ended at the upgrade, old product.
          const ended = { ...base, expiresAt: next, willRenew: false, latestTransactionId: `o${i}` };
          events.push(g(ev('expired', next + replacedLag, ended)));
          events.push(g(ev('cancellation_scheduled', next + replacedLag + 1, ended)));
          if (snapshots[i]) events.push(g(ev('snapshot', start, { ...ended, status: 'expired' })));
        } else {
          const endAt = start + ((renewals[i] ?? 0) + 1) * MONTH;
          tail.forEach((kind, k) => {
            events.push(g(ev(kind, endAt + k * 1000, { ...base, expiresAt })));
          });
          if (snapshots[i]) events.push(g(ev('snapshot', start, { ...base, expiresAt, status: 'active' })));
        }
      }
      if (unknownToken) {
        // A notification whose token Google no longer knows: generation 0, the newest time.
        const at = (starts.at(-1) as number) + 20 * MONTH;
        events.push(ev('revoked', at, { productId: 'premium_monthly', productType: 'subscription' }));
      }
      return { events, liveProduct: CHAIN_PRODUCTS[tokens - 1] as string };
    });
}
