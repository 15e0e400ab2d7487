import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { eventIdOf } from '../../shared/domain/entitlement-events';
import { purchaseKey } from '../../shared/domain/purchase';
import { type PurchaseEventFields, updateFor } from '../../shared/domain/state-machine';
import { userEntitlements } from '../../shared/purchases/user-entitlements';
import { documentClient, tableName } from '../../shared/store/dynamo-client';
import { putGrant, revokeGrant } from '../../shared/store/grants';
import { historyOfPurchase } from '../../shared/store/history';
import { applyEvent } from '../../shared/store/processed-events';
import { getPurchase, recordSnapshot } from '../../shared/store/purchases';
import { getOrMintUuid } from '../../shared/store/user-ids';
import { useLocalAws } from '../support/local-aws';
import { eventsOf } from '../support/outbox-stream';

// The outbox through the store's writers against DynamoDB Local, every version of the outbox
// item read back from the table's stream.

const DAY = 86_400_000;
const T = Date.now() - DAY;
const subscription = (tx: string, expiresAt: number, productId = 'premium_monthly'): PurchaseEventFields => ({
  productId,
  productType: 'subscription',
  environment: 'production',
  ownership: 'PURCHASED',
  expiresAt,
  latestTransactionId: tx,
});
const snapshot = (at: number, fields: PurchaseEventFields) =>
  updateFor({ kind: 'snapshot', occurredAt: at, fields });
const newPk = () => purchaseKey('apple', String(Math.floor(Math.random() * 1e15)));
const newUser = () => `outbox-${randomUUID()}`;

beforeAll(async () => {
  await useLocalAws();
});

describe('entitlement events from the write paths', () => {
  it('a verify emits sequence 1 with what GET /entitlements answers; a re-verify emits nothing', async () => {
    const user = newUser();
    const uuid = await getOrMintUuid(user, randomUUID);
    const pk = newPk();
    const update = snapshot(T, subscription('tx1', T + 30 * DAY));
    await recordSnapshot({ pk, update, owner: { userId: user, mode: 'claim' } });
    await recordSnapshot({ pk, update, owner: { userId: user, mode: 'claim' } });

    const events = await eventsOf(user);
    expect(events.map((e) => e.sequence)).toEqual([1]);
    const [first] = events;
    expect(first?.eventId).toBe(eventIdOf(user, 1));
    expect(first?.eventId).not.toContain(user);
    expect(first?.event).toMatchObject({
      type: 'entitlements.changed',
      data: { appUserId: uuid, userId: user, sequence: 1, previous: [], cause: { source: 'verify' } },
    });
    expect(first?.event.data.entitlements).toEqual(await userEntitlements(user));
    expect(first?.event.data.entitlements.map((e) => e.key)).toEqual(['premium']);
    expect(first?.event.data.cause.purchase).toMatch(/^apple#[0-9a-f]{8}$/);
  });

  it('a webhook that changes the set emits the next sequence with the set before; its redelivery emits nothing', async () => {
    const user = newUser();
    const pk = newPk();
    await recordSnapshot({
      pk,
      update: snapshot(T, subscription('tx1', T + 30 * DAY)),
      owner: { userId: user, mode: 'claim' },
    });
    const renewal = {
      eventId: `evt_${randomUUID()}`,
      outcome: 'renewed',
      pk,
      update: updateFor({
        kind: 'renewed',
        occurredAt: T + DAY,
        fields: subscription('tx2', T + 60 * DAY),
      }),
    };
    expect(await applyEvent(renewal)).toEqual({ result: 'applied' });
    expect(await applyEvent(renewal)).toEqual({ result: 'duplicate' });

    const events = await eventsOf(user);
    expect(events.map((e) => e.sequence)).toEqual([1, 2]);
    const [first, second] = events;
    expect(second?.event.data.previous).toEqual(first?.event.data.entitlements);
    expect(second?.event.data.entitlements[0]?.expiresAt).toBe(new Date(T + 60 * DAY).toISOString());
    expect(second?.event.data.cause).toMatchObject({ source: 'attesto-webhook' });
    expect(second?.event.data.entitlements).toEqual(await userEntitlements(user));
  });

  it('a change that leaves the set as it was emits nothing', async () => {
    const user = newUser();
    const pk = newPk();
    const long = newPk();
    await recordSnapshot({
      pk: long,
      update: snapshot(T, subscription('tx-long', T + 365 * DAY, 'premium_yearly')),
      owner: { userId: user, mode: 'claim' },
    });
    // A shorter subscription of the same key changes the purchases but not the set.
    await recordSnapshot({
      pk,
      update: snapshot(T, subscription('tx1', T + 30 * DAY)),
      owner: { userId: user, mode: 'claim' },
    });
    expect((await historyOfPurchase(pk)).records).toHaveLength(1);
    expect((await eventsOf(user)).map((e) => e.sequence)).toEqual([1]);
  });

  it('a purchase moving to another user emits one event for each of the two users', async () => {
    const from = newUser();
    const to = newUser();
    const pk = newPk();
    const update = snapshot(T, subscription('tx1', T + 30 * DAY));
    await recordSnapshot({ pk, update, owner: { userId: from, mode: 'claim' } });
    await recordSnapshot({ pk, update, owner: { userId: to, mode: 'set' } });

    const fromEvents = await eventsOf(from);
    const toEvents = await eventsOf(to);
    expect(fromEvents.map((e) => e.sequence)).toEqual([1, 2]);
    expect(fromEvents[1]?.event.data.entitlements).toEqual([]);
    expect(toEvents.map((e) => e.sequence)).toEqual([1]);
    expect(toEvents[0]?.event.data.entitlements.map((e) => e.key)).toEqual(['premium']);
    // Written together: both carry the time of the one change.
    expect(fromEvents[1]?.event.data.occurredAt).toBe(toEvents[0]?.event.data.occurredAt);
  });

  it("grants and revocations emit events carrying the operator's reason", async () => {
    const user = newUser();
    const now = new Date();
    await putGrant(
      { userId: user, key: 'premium', expiresAt: null, reason: 'support goodwill', operator: 'ops' },
      now,
    );
    await revokeGrant({ userId: user, key: 'premium', reason: 'ended', operator: 'ops' }, now);
    await revokeGrant({ userId: user, key: 'premium', reason: 'again', operator: 'ops' }, now);

    const events = await eventsOf(user);
    expect(events.map((e) => e.sequence)).toEqual([1, 2]);
    expect(events[0]?.event.data.entitlements).toMatchObject([{ key: 'premium', source: 'grant' }]);
    expect(events[0]?.event.data.cause).toEqual({
      source: 'operator',
      grant: 'premium',
      reason: 'support goodwill',
    });
    expect(events[1]?.event.data.entitlements).toEqual([]);
    expect(events[1]?.event.data.cause.reason).toBe('ended');
  });

  it('concurrent changes of two purchases of one user leave no gap, no repeat and the right last set', async () => {
    const user = newUser();
    const pks = [newPk(), newPk(), newPk(), newPk()];
    await Promise.all(
      pks.map((pk, i) =>
        recordSnapshot({
          pk,
          update: snapshot(T, subscription(`tx${i}`, T + (10 + i) * DAY)),
          owner: { userId: user, mode: 'claim' },
        }),
      ),
    );
    // Refund every one of them at once: each refund alone leaves the set to the others.
    await Promise.all(
      pks.map((pk, i) =>
        applyEvent({
          eventId: `evt_${randomUUID()}`,
          outcome: 'refunded',
          pk,
          update: updateFor({
            kind: 'refunded',
            occurredAt: T + DAY,
            fields: { latestTransactionId: `tx${i}` },
          }),
        }),
      ),
    );
    const events = await eventsOf(user);
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)?.event.data.entitlements).toEqual([]);
    expect(await userEntitlements(user)).toEqual([]);
  });
});

describe('atomicity', () => {
  it('when the outbox write fails inside the transaction, the state change does not happen either', async () => {
    const user = newUser();
    const pk = newPk();
    const events = tableName('ENTITLEMENT_EVENTS_TABLE');
    // DynamoDB itself refuses the outbox Put (its condition cannot hold for a new user's item).
    const stack = documentClient().middlewareStack;
    stack.add(
      (next, context) => async (args) => {
        const input = args.input as {
          TransactItems?: { Put?: { TableName?: string; ConditionExpression?: string } }[];
        };
        if (String(context.commandName).startsWith('TransactWrite')) {
          for (const item of input.TransactItems ?? []) {
            if (item.Put?.TableName === events) item.Put.ConditionExpression = 'attribute_exists(pk)';
          }
        }
        return next(args);
      },
      { step: 'initialize', name: 'failOutboxPut' },
    );
    try {
      await expect(
        recordSnapshot({
          pk,
          update: snapshot(T, subscription('tx1', T + 30 * DAY)),
          owner: { userId: user, mode: 'claim' },
        }),
      ).rejects.toMatchObject({ statusCode: 503 });
    } finally {
      stack.remove('failOutboxPut');
    }
    expect(await getPurchase(pk)).toBeUndefined();
    expect((await historyOfPurchase(pk)).records).toEqual([]);
    expect(await eventsOf(user)).toEqual([]);
    // And once the outbox accepts it, the same write goes through with its event.
    await recordSnapshot({
      pk,
      update: snapshot(T, subscription('tx1', T + 30 * DAY)),
      owner: { userId: user, mode: 'claim' },
    });
    expect((await eventsOf(user)).map((e) => e.sequence)).toEqual([1]);
  });
});
