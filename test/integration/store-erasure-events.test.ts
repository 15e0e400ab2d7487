// An erasure tells the app's own backend first: one last entitlements.changed event with an empty
// set leaves through the outbox's stream before the user's outbox item is deleted.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { purchaseKey } from '../../shared/domain/purchase';
import { updateFor } from '../../shared/domain/state-machine';
import { documentClient, tableName } from '../../shared/store/dynamo-client';
import { outboxPk } from '../../shared/store/outbox';
import { recordSnapshot } from '../../shared/store/purchases';
import { eraseUserData } from '../../shared/store/user-data';
import { useLocalAws } from '../support/local-aws';
import { eventsOf } from '../support/outbox-stream';
import { ev } from '../support/purchase-histories';

const OPERATOR = 'arn:aws:iam::123456789012:role/Support';

beforeAll(async () => {
  await useLocalAws();
});

describe('erasure and the outbox', () => {
  it('sends one last event with an empty set, then leaves no outbox item', async () => {
    const tx = `${Math.floor(Math.random() * 1e15)}`;
    const userId = `gina-${tx}`;
    const now = Date.now();
    await recordSnapshot({
      pk: purchaseKey('apple', tx),
      update: updateFor(
        ev('snapshot', now, {
          productId: 'premium_monthly',
          productType: 'subscription',
          status: 'active',
          expiresAt: now + 30 * 86_400_000,
          latestTransactionId: tx,
        }),
      ),
      owner: { userId, mode: 'claim' },
    });

    await eraseUserData({ userId }, { operator: OPERATOR, reason: 'deletion request' }, new Date());

    const mine = await eventsOf(userId);
    expect(mine.map((v) => v.sequence)).toEqual([1, 2]);
    const last = mine[1]?.event;
    expect(last?.data.entitlements).toEqual([]);
    expect(last?.data.previous.map((e) => e.key)).toEqual(['premium']);
    expect(last?.data.cause).toEqual({ source: 'operator', reason: 'erasure' });
    const item = await documentClient().send(
      new GetCommand({
        TableName: tableName('ENTITLEMENT_EVENTS_TABLE'),
        Key: { pk: outboxPk(userId) },
        ConsistentRead: true,
      }),
    );
    expect(item.Item).toBeUndefined();

    // Erasing again sends nothing more.
    await eraseUserData({ userId }, { operator: OPERATOR }, new Date());
    expect(await eventsOf(userId)).toHaveLength(2);
  });
});
