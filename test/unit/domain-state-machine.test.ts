import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Purchase, purchaseKey } from '../../shared/domain/purchase';
import {
  applyInOrder,
  KIND_PRECEDENCE,
  mergeUpdate,
  orderKeyOf,
  type PurchaseEvent,
  type PurchaseEventKind,
  staleFill,
  updateFor,
} from '../../shared/domain/state-machine';
import { actionForAttestoEvent } from '../../shared/ingest/consumer/event-actions';
import {
  ev,
  inKeyOrder,
  MONTH,
  subscriptionHistoryArb,
  T,
  upgradeChainHistoryArb,
} from '../support/purchase-histories';

const identity = { pk: purchaseKey('apple', '1000'), platform: 'apple' as const, subjectKey: '1000' };
describe('updateFor: what each event sets', () => {
  it.each<[PurchaseEventKind, PurchaseEvent['fields'], Record<string, unknown>]>([
    [
      'purchased',
      { productId: 'premium_monthly', expiresAt: T + MONTH, willRenew: true },
      { status: 'active', productId: 'premium_monthly', expiresAt: T + MONTH, willRenew: true },
    ],
    [
      'renewed',
      { expiresAt: T + 2 * MONTH, latestTransactionId: 'tx2' },
      { status: 'active', expiresAt: T + 2 * MONTH, gracePeriodExpiresAt: null, latestTransactionId: 'tx2' },
    ],
    [
      'recovered',
      { expiresAt: T + 2 * MONTH },
      { status: 'active', expiresAt: T + 2 * MONTH, gracePeriodExpiresAt: null },
    ],
    ['cancellation_scheduled', {}, { willRenew: false }],
    [
      'cancellation_scheduled',
      { willRenew: true, expiresAt: T + MONTH },
      { willRenew: false, expiresAt: T + MONTH },
    ],
    ['cancellation_revoked', {}, { willRenew: true }],
    ['expired', {}, { status: 'expired', willRenew: false }],
    ['revoked', {}, { status: 'revoked' }],
    ['refunded', {}, { status: 'refunded' }],
    ['refund_reversed', {}, { status: 'active' }],
    ['in_grace_period', { gracePeriodExpiresAt: T + 5 }, { status: 'grace', gracePeriodExpiresAt: T + 5 }],
    ['in_billing_retry', {}, { status: 'billing_retry' }],
    ['grace_period_expired', {}, { status: 'billing_retry' }],
    ['on_hold', {}, { status: 'on_hold' }],
    ['paused', {}, { status: 'paused' }],
    ['upgraded', { productId: 'premium_yearly' }, { status: 'active', productId: 'premium_yearly' }],
    ['downgraded', { productId: 'premium_monthly' }, { productId: 'premium_monthly' }],
    ['renewal_extended', { expiresAt: T + 3 * MONTH }, { expiresAt: T + 3 * MONTH }],
    ['deferred', { expiresAt: T + 3 * MONTH }, { expiresAt: T + 3 * MONTH }],
    [
      'product_purchased',
      { productId: 'remove_ads' },
      { status: 'active', expiresAt: null, productId: 'remove_ads' },
    ],
    ['product_charged', {}, { status: 'active', expiresAt: null }],
    ['product_canceled', {}, { status: 'revoked' }],
    [
      'snapshot',
      { expiresAt: T + MONTH, environment: 'sandbox' },
      { status: 'active', expiresAt: T + MONTH, environment: 'sandbox' },
    ],
    ['snapshot', { revoked: true, expiresAt: T + MONTH }, { status: 'refunded', expiresAt: T + MONTH }],
    ['snapshot', { status: 'on_hold' }, { status: 'on_hold' }],
  ])('%s %j → %j', (kind, fields, expected) => {
    expect(updateFor(ev(kind, T, fields)).set).toEqual(expected);
  });

  it('lets only a snapshot state a status; events decide by kind', () => {
    expect(updateFor(ev('cancellation_scheduled', T, { status: 'expired' })).set).toEqual({
      willRenew: false,
    });
  });

  it('omits what the event does not know (never nulls it)', () => {
    const set = updateFor(ev('expired', T, { expiresAt: undefined })).set;
    expect('expiresAt' in set).toBe(false);
  });

  it('orders by time first and by kind precedence within the same millisecond', () => {
    expect(orderKeyOf(T + 1, 'snapshot')).toBeGreaterThan(orderKeyOf(T, 'refunded'));
    expect(orderKeyOf(T, 'refunded')).toBeGreaterThan(orderKeyOf(T, 'renewed'));
    expect(orderKeyOf(T, 'renewed')).toBeGreaterThan(orderKeyOf(T, 'snapshot'));
    expect(new Set(KIND_PRECEDENCE).size).toBe(KIND_PRECEDENCE.length);
    expect(KIND_PRECEDENCE.length).toBeLessThanOrEqual(32);
    expect(Number.isSafeInteger(orderKeyOf(Date.UTC(9999, 0), 'refunded'))).toBe(true);
  });
});

describe('mergeUpdate: the store semantics', () => {
  it('never moves status or expiry backwards when an older renewal arrives late', () => {
    const newer = mergeUpdate(
      undefined,
      updateFor(ev('renewed', T + MONTH, { expiresAt: T + 2 * MONTH })),
      identity,
    );
    const after = mergeUpdate(
      newer,
      updateFor(ev('renewed', T, { expiresAt: T + MONTH, latestTransactionId: 'tx1' })),
      identity,
    );
    expect(after.expiresAt).toBe(T + 2 * MONTH);
    expect(after.appliedAt).toBe(T + MONTH);
    // …but fills what was still blank.
    expect(after.latestTransactionId).toBe('tx1');
  });

  it('lets a later event win over the same field set by an older one', () => {
    const first = mergeUpdate(undefined, updateFor(ev('cancellation_scheduled', T)), identity);
    const second = mergeUpdate(first, updateFor(ev('cancellation_revoked', T + 1)), identity);
    expect(second.willRenew).toBe(true);
  });

  it('keeps the newest older value when several stale updates fill one field (per-field order)', () => {
    // refunded (newest) knows no expiry; two older renewals arrive afterwards, the older last.
    let p = mergeUpdate(undefined, updateFor(ev('refunded', T + 3 * MONTH)), identity);
    p = mergeUpdate(p, updateFor(ev('renewed', T + MONTH, { expiresAt: T + 2 * MONTH })), identity);
    p = mergeUpdate(p, updateFor(ev('renewed', T, { expiresAt: T + MONTH })), identity);
    expect(p).toMatchObject({ status: 'refunded', expiresAt: T + 2 * MONTH, appliedAt: T + 3 * MONTH });
    expect(staleFill(p, updateFor(ev('renewed', T, { expiresAt: T + MONTH })))).toEqual({});
  });
});

const historyArb = subscriptionHistoryArb({ maxRenewals: 4, maxGapSeconds: 3, maxSnapshots: 3, minTail: 1 });

const inUpstreamOrder = (events: readonly PurchaseEvent[]) =>
  [...events].sort((a, b) => updateFor(a).order - updateFor(b).order);

const arrivalArb = historyArb.chain((events) =>
  fc.record({
    events: fc.constant(events),
    duplicates: fc.array(fc.nat({ max: events.length - 1 }), { maxLength: events.length }),
    keys: fc.array(fc.double({ noNaN: true }), {
      minLength: 2 * events.length,
      maxLength: 2 * events.length,
    }),
  }),
);

describe('order independence (architecture §4)', () => {
  it('any permutation with duplicates of a history ends in the in-order state', () => {
    fc.assert(
      fc.property(arrivalArb, ({ events, duplicates, keys }) => {
        const delivered = [...events, ...duplicates.map((i) => events[i] as PurchaseEvent)]
          .map((e, i) => ({ e, k: keys[i] ?? 0 }))
          .sort((a, b) => a.k - b.k)
          .map(({ e }) => e);
        const expected = applyInOrder(inUpstreamOrder(events), identity) as Purchase;
        expect(applyInOrder(delivered, identity)).toEqual(expected);
      }),
      { numRuns: 600 },
    );
  });

  it('the in-order state is the lifecycle one expects', () => {
    const events = [
      ev('purchased', T, { productId: 'premium_monthly', expiresAt: T + MONTH, willRenew: true }),
      ev('renewed', T + MONTH, { expiresAt: T + 2 * MONTH }),
      ev('cancellation_scheduled', T + MONTH + 5),
      ev('expired', T + 2 * MONTH),
    ];
    expect(applyInOrder(events, identity)).toMatchObject({
      status: 'expired',
      expiresAt: T + 2 * MONTH,
      willRenew: false,
      productId: 'premium_monthly',
      appliedAt: T + 2 * MONTH,
    });
    // Reversed delivery, the hardest order for the stale path.
    expect(applyInOrder([...events].reverse(), identity)).toEqual(applyInOrder(events, identity));
  });
});

describe('generations: an upgrade chain (Google)', () => {
  const google = { pk: purchaseKey('google', 'root'), platform: 'google' as const, subjectKey: 'root' };
  const chainArrivalArb = upgradeChainHistoryArb().chain(({ events, liveProduct }) =>
    fc.record({
      events: fc.constant(events),
      liveProduct: fc.constant(liveProduct),
      duplicates: fc.array(fc.nat({ max: events.length - 1 }), { maxLength: events.length }),
      keys: fc.array(fc.double({ noNaN: true }), {
        minLength: 2 * events.length,
        maxLength: 2 * events.length,
      }),
    }),
  );

  it("a superseded token's later-timed expiry never overrides the live token, in any order", () => {
    const start = T;
    const upgradeAt = T + 10 * MONTH;
    const purchasedNew: PurchaseEvent = {
      ...ev('purchased', upgradeAt, { productId: 'premium_yearly', expiresAt: upgradeAt + 12 * MONTH }),
      generation: upgradeAt,
    };
    const replacedExpired: PurchaseEvent = {
      ...ev('expired', upgradeAt + 1, { productId: 'premium_monthly', expiresAt: upgradeAt }),
      generation: start,
    };
    for (const order of [
      [purchasedNew, replacedExpired],
      [replacedExpired, purchasedNew],
    ]) {
      expect(applyInOrder(order, google)).toMatchObject({
        productId: 'premium_yearly',
        status: 'active',
        expiresAt: upgradeAt + 12 * MONTH,
        appliedGen: upgradeAt,
      });
    }
  });

  it('generation 0 (Apple, products, unknown tokens) keeps ordering by time alone', () => {
    expect(updateFor(ev('renewed', T)).gen).toBeUndefined();
    const p = applyInOrder([ev('renewed', T + 1, { expiresAt: T + MONTH }), ev('expired', T)], google);
    expect(p).toMatchObject({ status: 'active', expiresAt: T + MONTH });
    expect(p?.appliedGen).toBeUndefined();
  });

  it("any permutation with duplicates ends in the in-key-order state, with the live token's product", () => {
    fc.assert(
      fc.property(chainArrivalArb, ({ events, liveProduct, duplicates, keys }) => {
        const delivered = [...events, ...duplicates.map((i) => events[i] as PurchaseEvent)]
          .map((e, i) => ({ e, k: keys[i] ?? 0 }))
          .sort((a, b) => a.k - b.k)
          .map(({ e }) => e);
        const expected = applyInOrder(inKeyOrder(events), google) as Purchase;
        expect(applyInOrder(delivered, google)).toEqual(expected);
        expect(expected.productId).toBe(liveProduct);
      }),
      { numRuns: 600 },
    );
  });

  it('a voided order takes the status the store reports, and none when it reports none', () => {
    expect(updateFor(ev('voided', T, { status: 'active', expiresAt: T + MONTH })).set).toEqual({
      status: 'active',
      expiresAt: T + MONTH,
    });
    expect(updateFor(ev('voided', T, { expiresAt: T + MONTH })).set).toEqual({ expiresAt: T + MONTH });
  });
});

describe('actionForAttestoEvent (contract §3.6)', () => {
  it.each<[string, string, unknown]>([
    [
      'subscription.purchased',
      'apple.subscribed.initial_buy',
      { action: 'apply', kind: 'purchased', reread: false },
    ],
    ['subscription.purchased', 'google.subscription.4', { action: 'apply', kind: 'purchased', reread: true }],
    ['subscription.renewed', 'apple.did_renew', { action: 'apply', kind: 'renewed', reread: false }],
    ['subscription.recovered', 'google.subscription.1', { action: 'apply', kind: 'recovered', reread: true }],
    [
      'subscription.cancellation_scheduled',
      'apple.did_change_renewal_status.auto_renew_disabled',
      { action: 'apply', kind: 'cancellation_scheduled', reread: false },
    ],
    [
      'subscription.cancellation_revoked',
      'google.subscription.7',
      { action: 'apply', kind: 'cancellation_revoked', reread: true },
    ],
    ['subscription.expired', 'apple.expired.voluntary', { action: 'apply', kind: 'expired', reread: false }],
    ['subscription.revoked', 'apple.revoke', { action: 'apply', kind: 'revoked', reread: false }],
    ['subscription.refunded', 'google.voided', { action: 'apply', kind: 'refunded', reread: false }],
    [
      'subscription.in_grace_period',
      'apple.did_fail_to_renew.grace_period',
      { action: 'apply', kind: 'in_grace_period', reread: false },
    ],
    [
      'subscription.in_billing_retry',
      'apple.did_fail_to_renew',
      { action: 'apply', kind: 'in_billing_retry', reread: false },
    ],
    [
      'subscription.grace_period_expired',
      'apple.grace_period_expired',
      { action: 'apply', kind: 'grace_period_expired', reread: false },
    ],
    ['subscription.on_hold', 'google.subscription.5', { action: 'apply', kind: 'on_hold', reread: true }],
    [
      'subscription.upgraded',
      'apple.subscribed.upgrade',
      { action: 'apply', kind: 'upgraded', reread: false },
    ],
    [
      'subscription.downgraded',
      'apple.subscribed.downgrade',
      { action: 'apply', kind: 'downgraded', reread: false },
    ],
    ['subscription.paused', 'google.subscription.10', { action: 'apply', kind: 'paused', reread: true }],
    ['subscription.deferred', 'google.subscription.9', { action: 'apply', kind: 'deferred', reread: true }],
    [
      'subscription.refund_reversed',
      'apple.refund_reversed',
      { action: 'apply', kind: 'refund_reversed', reread: false },
    ],
    [
      'subscription.renewal_extended',
      'apple.renewal_extended',
      { action: 'apply', kind: 'renewal_extended', reread: false },
    ],
    ['product.purchased', 'google.product.1', { action: 'apply', kind: 'product_purchased', reread: false }],
    ['product.canceled', 'google.product.2', { action: 'apply', kind: 'product_canceled', reread: false }],
    ['product.charged', 'apple.one_time_charge', { action: 'apply', kind: 'product_charged', reread: false }],
    // §6.14: an immediate upgrade that Attesto names renewal_pref_changed.
    [
      'subscription.renewal_pref_changed',
      'apple.did_change_renewal_pref.upgrade',
      { action: 'apply', kind: 'upgraded', reread: true },
    ],
    [
      'subscription.renewal_pref_changed',
      'apple.did_change_renewal_pref.downgrade',
      { action: 'record-only' },
    ],
    // §6.13: the failure may arrive as renewal_extension_complete; neither moves an expiry.
    ['subscription.renewal_extension_complete', 'apple.renewal_extension.failure', { action: 'record-only' }],
    ['subscription.renewal_extension_complete', 'apple.renewal_extension.summary', { action: 'record-only' }],
    ['subscription.renewal_extension_failed', 'apple.renewal_extension.failure', { action: 'record-only' }],
    ['subscription.refund_declined', 'apple.refund_declined', { action: 'record-only' }],
    ['subscription.price_change_accepted', 'google.subscription.8', { action: 'record-only' }],
    ['subscription.price_change_pending', 'apple.price_increase.pending', { action: 'record-only' }],
    ['subscription.offer_redeemed', 'apple.offer_redeemed', { action: 'record-only' }],
    ['subscription.consumption_request', 'apple.consumption_request', { action: 'record-only' }],
    ['subscription.pending_purchase_canceled', 'google.subscription.17', { action: 'record-only' }],
    ['subscription.pause_schedule_changed', 'google.subscription.11', { action: 'record-only' }],
    ['test', 'google.test', { action: 'acknowledge' }],
    ['unknown', 'apple.something_new', { action: 'acknowledge' }],
    ['subscription.invented_later', '', { action: 'acknowledge' }],
  ])('%s (%s)', (event, platformEvent, expected) => {
    expect(actionForAttestoEvent(event, null, platformEvent)).toEqual(expected);
  });
});
