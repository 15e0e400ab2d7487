// An operator's transfer in the store (DynamoDB Local): the owner, the overridden bindings, a
// consumable's credit and the history record change together; a change of the purchase between
// the read and the write is merged, not overwritten.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { creditKey, purchaseKey } from '../../shared/domain/purchase';
import { updateFor } from '../../shared/domain/state-machine';
import { documentClient, tableName } from '../../shared/store/dynamo-client';
import { historyOfPurchase } from '../../shared/store/history';
import { outboxPk } from '../../shared/store/outbox';
import { getPurchase, recordSnapshot, storedItem } from '../../shared/store/purchases';
import { transferPurchase } from '../../shared/store/transfers';
import { useLocalAws } from '../support/local-aws';
import { ev, T } from '../support/purchase-histories';

const OPERATOR = 'arn:aws:iam::123456789012:role/Support';
const ALICE_UUID = '3F1C2B4A-5D6E-4F70-8A9B-0C1D2E3F4A5B';
const newTx = () => `${Math.floor(Math.random() * 1e15)}`;

beforeAll(async () => {
  await useLocalAws();
});

describe('transferPurchase', () => {
  it("moves a consumable's credit with it, lists both uuids it overrides, and records the move once", async () => {
    const tx = newTx();
    const pk = purchaseKey('apple', tx);
    await recordSnapshot({
      pk,
      update: updateFor(
        ev('snapshot', T, {
          productId: 'coins_100',
          productType: 'consumable',
          expiresAt: null,
          latestTransactionId: tx,
          appUserId: ALICE_UUID,
        }),
      ),
      owner: { userId: 'alice', mode: 'claim' },
      credit: { key: creditKey('apple', tx), productId: 'coins_100' },
    });
    const aliceOwnUuid = '11111111-2222-4333-8444-555555555555';

    const result = await transferPurchase(
      { pk, toUserId: 'bob', fromUuid: aliceOwnUuid, operator: OPERATOR, reason: 'new account' },
      new Date(),
    );
    expect(result.outcome).toBe('moved');
    const after = await getPurchase(pk);
    expect(after?.userId).toBe('bob');
    expect(after?.transfer).toEqual({
      userId: 'bob',
      appUserIds: [aliceOwnUuid, ALICE_UUID.toLowerCase()].sort(),
    });
    const credit = await storedItem(creditKey('apple', tx));
    expect(credit?.creditedTo).toBe('bob');

    const records = (await historyOfPurchase(pk)).records;
    expect(records[0]).toEqual(
      expect.objectContaining({
        cause: { source: 'operator', operator: OPERATOR, reason: 'new account' },
        before: { userId: 'alice' },
        after: { userId: 'bob' },
        ownerBefore: 'alice',
        ownerAfter: 'bob',
      }),
    );

    // Moving it on keeps the bindings overridden before, and adds none for a user without a uuid.
    await transferPurchase(
      { pk, toUserId: 'carol', operator: OPERATOR, reason: 'wrong account' },
      new Date(),
    );
    expect((await getPurchase(pk))?.transfer).toEqual({
      userId: 'carol',
      appUserIds: [aliceOwnUuid, ALICE_UUID.toLowerCase()].sort(),
    });
  });

  it('answers unchanged and writes nothing for the current owner, and missing for no purchase', async () => {
    const pk = purchaseKey('apple', newTx());
    await recordSnapshot({
      pk,
      update: updateFor(ev('renewed', T, { expiresAt: T + 1000 })),
      owner: { userId: 'dave', mode: 'claim' },
    });
    const records = (await historyOfPurchase(pk)).records.length;
    const same = await transferPurchase(
      { pk, toUserId: 'dave', operator: OPERATOR, reason: 'r' },
      new Date(),
    );
    expect(same.outcome).toBe('unchanged');
    expect((await historyOfPurchase(pk)).records).toHaveLength(records);
    expect((await getPurchase(pk))?.transfer).toBeUndefined();
    expect(
      await transferPurchase(
        { pk: purchaseKey('apple', newTx()), toUserId: 'dave', operator: OPERATOR, reason: 'r' },
        new Date(),
      ),
    ).toEqual({ outcome: 'missing' });
  });

  it('merges a change of the purchase made between its read and the transfer, instead of overwriting it', async () => {
    const pk = purchaseKey('apple', newTx());
    await recordSnapshot({
      pk,
      update: updateFor(ev('renewed', T, { expiresAt: T + 1000 })),
      owner: { userId: 'erin', mode: 'claim' },
    });
    // A renewal lands just before the transfer's transaction (a real write; the hook only times it).
    let interleaved = false;
    const stack = documentClient().middlewareStack;
    stack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'TransactWriteItemsCommand' && !interleaved) {
          interleaved = true;
          await recordSnapshot({ pk, update: updateFor(ev('renewed', T + 1000, { expiresAt: T + 2000 })) });
        }
        return next(args);
      },
      { step: 'initialize', name: 'renewalBeforeTransfer' },
    );
    try {
      const moved = await transferPurchase(
        { pk, toUserId: 'frank', operator: OPERATOR, reason: 'r' },
        new Date(),
      );
      expect(moved.outcome).toBe('moved');
    } finally {
      stack.remove('renewalBeforeTransfer');
    }
    expect(interleaved).toBe(true);
    expect(await getPurchase(pk)).toMatchObject({ userId: 'frank', expiresAt: T + 2000 });
    const records = (await historyOfPurchase(pk)).records;
    expect(records.map((r) => r.cause.source)).toEqual(['operator', 'verify', 'verify']);
  });
});

describe('transferPurchase and the outbox', () => {
  it("writes each user's entitlements.changed event in the transfer's transaction: the new owner gains, the old one loses", async () => {
    const tx = newTx();
    const pk = purchaseKey('apple', tx);
    const from = `dave-${tx}`;
    const to = `erin-${tx}`;
    const now = Date.now();
    await recordSnapshot({
      pk,
      update: updateFor(
        ev('snapshot', now, {
          productId: 'premium_monthly',
          productType: 'subscription',
          status: 'active',
          expiresAt: now + 30 * 86_400_000,
          latestTransactionId: tx,
        }),
      ),
      owner: { userId: from, mode: 'claim' },
    });
    const outboxOf = async (userId: string) =>
      (
        await documentClient().send(
          new GetCommand({
            TableName: tableName('ENTITLEMENT_EVENTS_TABLE'),
            Key: { pk: outboxPk(userId) },
            ConsistentRead: true,
          }),
        )
      ).Item;
    expect((await outboxOf(from))?.sequence).toBe(1);
    expect(await outboxOf(to)).toBeUndefined();

    await transferPurchase({ pk, toUserId: to, operator: OPERATOR, reason: 'new account' }, new Date());

    const lost = await outboxOf(from);
    const gained = await outboxOf(to);
    expect(lost?.sequence).toBe(2);
    expect(gained?.sequence).toBe(1);
    const lostEvent = JSON.parse(String(lost?.event));
    const gainedEvent = JSON.parse(String(gained?.event));
    expect(lostEvent.data.entitlements).toEqual([]);
    expect(lostEvent.data.previous.map((e: { key: string }) => e.key)).toEqual(['premium']);
    expect(gainedEvent.data.entitlements.map((e: { key: string }) => e.key)).toEqual(['premium']);
    expect(gainedEvent.data.cause).toEqual(
      expect.objectContaining({ source: 'operator', reason: 'new account' }),
    );
  });
});
