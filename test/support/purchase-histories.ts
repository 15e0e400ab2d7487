// Purchase event histories for the property tests of the state machine (pure) and of the store
// that must realise it (DynamoDB Local).
import fc from 'fast-check';
import type { PurchaseEvent, PurchaseEventKind } from '../../shared/domain/state-machine';
import { updateFor } from '../../shared/domain/state-machine';

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
