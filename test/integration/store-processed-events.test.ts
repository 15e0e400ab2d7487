import { randomUUID } from 'node:crypto';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalResources } from '../../dev/local/provision';
import { aliasKey, type Purchase, parsePurchaseKey, purchaseKey } from '../../shared/domain/purchase';
import { applyInOrder, type PurchaseEvent, updateFor } from '../../shared/domain/state-machine';
import { applyEvent, markProcessed } from '../../shared/store/processed-events';
import { getPurchase, resolveAlias } from '../../shared/store/purchases';
import { useLocalAws } from '../support/local-aws';
import {
  ev,
  inKeyOrder,
  MONTH,
  subscriptionHistoryArb,
  T,
  upgradeChainHistoryArb,
} from '../support/purchase-histories';

const newPk = () => purchaseKey('apple', String(Math.floor(Math.random() * 1e15)));

let res: LocalResources;
async function marker(eventId: string) {
  const ddb = new DynamoDBClient({});
  const { Item } = await ddb.send(
    new GetItemCommand({ TableName: res.tableNames.PROCESSED_EVENTS_TABLE, Key: { pk: { S: eventId } } }),
  );
  ddb.destroy();
  return Item ? unmarshall(Item) : undefined;
}

beforeAll(async () => {
  res = await useLocalAws();
});

describe('applyEvent', () => {
  it('applies an event once: the redelivery is a duplicate and changes nothing', async () => {
    const pk = newPk();
    const eventId = `evt_${randomUUID()}`;
    const renewed = updateFor(
      ev('renewed', T + MONTH, { expiresAt: T + 2 * MONTH, latestTransactionId: 'tx2' }),
    );
    const before = Date.now();
    expect(
      await applyEvent({
        eventId,
        outcome: 'subscription.renewed',
        pk,
        update: renewed,
        aliases: [aliasKey('apple-tx', `tx2-${pk}`)],
      }),
    ).toEqual({ result: 'applied' });
    const applied = await getPurchase(pk);
    expect(applied).toMatchObject({ pk, status: 'active', expiresAt: T + 2 * MONTH, appliedAt: T + MONTH });
    expect(applied?.userId).toBeUndefined();
    expect(await resolveAlias(aliasKey('apple-tx', `tx2-${pk}`))).toBe(pk);

    const m = await marker(eventId);
    expect(m).toMatchObject({ pk: eventId, outcome: 'subscription.renewed' });
    const ttlDays = ((m?.ttl as number) - before / 1000) / 86_400;
    expect(ttlDays).toBeGreaterThan(29.9);
    expect(ttlDays).toBeLessThan(30.1);

    const other = updateFor(ev('expired', T + 2 * MONTH));
    expect(await applyEvent({ eventId, outcome: 'subscription.expired', pk, update: other })).toEqual({
      result: 'duplicate',
    });
    expect(await getPurchase(pk)).toEqual(applied);
  });

  it('reports an older event as stale, fills only blanks, and still marks it processed', async () => {
    const pk = newPk();
    await applyEvent({
      eventId: `evt_${randomUUID()}`,
      outcome: 'x',
      pk,
      update: updateFor(ev('expired', T + 2 * MONTH)),
    });
    const olderId = `evt_${randomUUID()}`;
    const older = updateFor(
      ev('purchased', T, { productId: 'premium_monthly', expiresAt: T + MONTH, willRenew: true }),
    );
    expect(
      await applyEvent({
        eventId: olderId,
        outcome: 'subscription.purchased',
        pk,
        update: older,
        userId: 'u-stale',
      }),
    ).toEqual({ result: 'stale' });
    expect(await getPurchase(pk)).toMatchObject({
      status: 'expired',
      willRenew: false,
      productId: 'premium_monthly',
      expiresAt: T + MONTH,
      appliedAt: T + 2 * MONTH,
      userId: 'u-stale',
    });
    expect(await marker(olderId)).toMatchObject({ outcome: 'subscription.purchased' });
    expect(await applyEvent({ eventId: olderId, outcome: 'again', pk, update: older })).toEqual({
      result: 'duplicate',
    });
  });

  it('claims an unowned purchase for the event’s user but never moves an owned one', async () => {
    const pk = newPk();
    await applyEvent({
      eventId: `evt_${randomUUID()}`,
      outcome: 'x',
      pk,
      update: updateFor(ev('purchased', T)),
      userId: 'first',
    });
    await applyEvent({
      eventId: `evt_${randomUUID()}`,
      outcome: 'x',
      pk,
      update: updateFor(ev('renewed', T + 1)),
      userId: 'second',
    });
    expect((await getPurchase(pk))?.userId).toBe('first');
  });
});

describe('markProcessed', () => {
  it('records once and reports the repeat as a duplicate', async () => {
    const eventId = `evt_${randomUUID()}`;
    expect(await markProcessed(eventId, 'test')).toBe('recorded');
    expect(await markProcessed(eventId, 'test')).toBe('duplicate');
    expect(await marker(eventId)).toMatchObject({ outcome: 'test' });
  });
});

// The store must realise exactly the pure merge of the domain (state-machine.ts), whatever the
// delivery order, with redeliveries, and with deliveries racing each other.
const historyArb = subscriptionHistoryArb({ maxRenewals: 3, maxGapSeconds: 2, maxSnapshots: 0, minTail: 0 });

const deliveryArb = historyArb.chain((events) =>
  fc.record({
    events: fc.constant(events),
    order: fc.shuffledSubarray([...events.keys(), ...events.keys()], { minLength: events.length * 2 }),
    concurrent: fc.boolean(),
  }),
);

async function storedState(pk: string) {
  const stored = await getPurchase(pk);
  if (!stored) return undefined;
  const { createdAt: _c, updatedAt: _u, ...state } = stored;
  return state;
}

function referenceState(events: PurchaseEvent[], pk: string) {
  const sorted = inKeyOrder(events);
  const {
    createdAt: _c,
    updatedAt: _u,
    ...state
  } = applyInOrder(sorted, { pk, ...parsePurchaseKey(pk) }) as Purchase;
  return state;
}

const chainDeliveryArb = upgradeChainHistoryArb().chain(({ events, liveProduct }) =>
  fc.record({
    events: fc.constant(events),
    liveProduct: fc.constant(liveProduct),
    order: fc.shuffledSubarray([...events.keys(), ...events.keys()], { minLength: events.length * 2 }),
    concurrent: fc.boolean(),
  }),
);

describe('order independence through the store', () => {
  it('an upgrade chain (generations) in any delivery order, with redeliveries, sequential or racing', async () => {
    await fc.assert(
      fc.asyncProperty(chainDeliveryArb, async ({ events, liveProduct, order, concurrent }) => {
        const pk = purchaseKey('google', `chain-${randomUUID()}`);
        const ids = events.map(() => `evt_${randomUUID()}`);
        const deliver = (i: number) =>
          applyEvent({
            eventId: ids[i] as string,
            outcome: (events[i] as PurchaseEvent).kind,
            pk,
            update: updateFor(events[i] as PurchaseEvent),
          });
        if (concurrent) await Promise.all(order.map(deliver));
        else for (const i of order) await deliver(i);
        const stored = await storedState(pk);
        expect(stored).toEqual(referenceState(events, pk));
        expect(stored?.productId).toBe(liveProduct);
      }),
      { numRuns: 15 },
    );
  });

  it('any delivery order, with redeliveries, sequential or racing, ends in the in-order state', async () => {
    await fc.assert(
      fc.asyncProperty(deliveryArb, async ({ events, order, concurrent }) => {
        const pk = newPk();
        const ids = events.map(() => `evt_${randomUUID()}`);
        const deliver = (i: number) =>
          applyEvent({
            eventId: ids[i] as string,
            outcome: (events[i] as PurchaseEvent).kind,
            pk,
            update: updateFor(events[i] as PurchaseEvent),
          });
        if (concurrent) await Promise.all(order.map(deliver));
        else for (const i of order) await deliver(i);
        expect(await storedState(pk)).toEqual(referenceState(events, pk));
      }),
      { numRuns: 15 },
    );
  });
});
