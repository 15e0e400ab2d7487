// An operator's transfer of a purchase to another user: the new owner, the store bindings it
// overrides, the consumable's credit, and the history record (listed under both users) — in one
// transaction, pinned to the version of the purchase read.

import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { creditKey, type Purchase, type PurchaseTransfer } from '../domain/purchase';
import { cancellationOrThrow, documentClient, isContention, retryingWrite, tableName } from './dynamo-client';
import type { HistoryCause } from './history';
import { eventCauseOf, OutboxSession } from './outbox';
import { isPurchaseItem, purchaseFromItem } from './purchase-writes';
import { purchaseChangeItems, storedItem } from './purchases';

const purchasesTable = () => tableName('PURCHASES_TABLE');

export interface TransferInput {
  pk: string;
  toUserId: string;
  /** The previous owner's appUserId UUID, if they have one: their bindings stop applying. */
  fromUuid?: string;
  operator: string;
  reason: string;
}

export type TransferResult =
  | { outcome: 'moved'; before: Purchase; after: Purchase }
  /** The purchase already belongs to `toUserId`: nothing written. */
  | { outcome: 'unchanged'; purchase: Purchase }
  | { outcome: 'missing' };

/** The UUIDs whose binding names the new owner after the transfer (see PurchaseTransfer). */
function transferOf(purchase: Purchase, toUserId: string, fromUuid: string | undefined): PurchaseTransfer {
  const uuids = new Set(purchase.transfer?.appUserIds ?? []);
  if (purchase.appUserId) uuids.add(purchase.appUserId.toLowerCase());
  if (fromUuid) uuids.add(fromUuid.toLowerCase());
  return { userId: toUserId, appUserIds: [...uuids].sort() };
}

/** The consumable's credit items (one per transaction id or token), as stored. */
async function creditItems(purchase: Purchase): Promise<Record<string, unknown>[]> {
  if (purchase.productType !== 'consumable') return [];
  const keys = new Set([creditKey(purchase.platform, purchase.subjectKey)]);
  if (purchase.latestTransactionId) keys.add(creditKey(purchase.platform, purchase.latestTransactionId));
  const items = await Promise.all(
    [...keys].map(async (pk) => {
      const { Item } = await documentClient().send(
        new GetCommand({ TableName: purchasesTable(), Key: { pk }, ConsistentRead: true }),
      );
      return Item;
    }),
  );
  return items.filter((item): item is Record<string, unknown> => item !== undefined);
}

/**
 * Moves the purchase to `toUserId`. Aliases name only the purchase, so they follow it; a
 * consumable's credit is re-addressed to the new owner. A concurrent change of the purchase fails
 * the pin and the transfer is planned again over what it wrote.
 */
export async function transferPurchase(input: TransferInput, now: Date): Promise<TransferResult> {
  // Both users' entitlement sets may change: each gets its event in the same transaction.
  const outbox = new OutboxSession();
  outbox.load(input.toUserId);
  return retryingWrite<TransferResult>('Transferring the purchase', async () => {
    const current = await storedItem(input.pk);
    if (!current || !isPurchaseItem(current)) return { done: { outcome: 'missing' } };
    const before = purchaseFromItem(current);
    if (before.userId === input.toUserId) return { done: { outcome: 'unchanged', purchase: before } };
    const rev = (typeof current.rev === 'number' ? current.rev : 0) + 1;
    const transfer = transferOf(before, input.toUserId, input.fromUuid);
    const after = { ...current, userId: input.toUserId, transfer, rev, updatedAt: now.toISOString() };
    const credits = await creditItems(before);
    const cause: HistoryCause = { source: 'operator', operator: input.operator, reason: input.reason };
    const written = [{ pk: input.pk, before: current, after }];
    const events = await outbox.transactItems(written, eventCauseOf(cause, input.pk), now.getTime());
    try {
      await documentClient().send(
        new TransactWriteCommand({
          TransactItems: [
            ...purchaseChangeItems({
              pk: input.pk,
              operation: {
                UpdateExpression: 'SET #u = :to, #t = :transfer, #rev = :rev, #at = :now',
                ConditionExpression:
                  typeof current.rev === 'number'
                    ? '#rev = :was'
                    : 'attribute_exists(pk) AND attribute_not_exists(#rev)',
                ExpressionAttributeNames: {
                  '#u': 'userId',
                  '#t': 'transfer',
                  '#rev': 'rev',
                  '#at': 'updatedAt',
                },
                ExpressionAttributeValues: {
                  ':to': input.toUserId,
                  ':transfer': transfer,
                  ':rev': rev,
                  ':now': now.toISOString(),
                  ...(typeof current.rev === 'number' ? { ':was': current.rev } : {}),
                },
              },
              history: { rev, now, cause, before: current, after },
              aliases: [],
            }),
            ...credits.map((credit) => ({
              Update: {
                TableName: purchasesTable(),
                Key: { pk: credit.pk },
                UpdateExpression: 'SET #c = :to',
                // Pinned to the owner read, like the purchase.
                ConditionExpression:
                  typeof credit.creditedTo === 'string' ? '#c = :was' : 'attribute_not_exists(#c)',
                ExpressionAttributeNames: { '#c': 'creditedTo' },
                ExpressionAttributeValues: {
                  ':to': input.toUserId,
                  ...(typeof credit.creditedTo === 'string' ? { ':was': credit.creditedTo } : {}),
                },
              },
            })),
            ...events.items,
          ],
        }),
      );
    } catch (error) {
      const reasons = cancellationOrThrow(error);
      const outboxLearnt = await outbox.absorb(reasons.slice(2 + credits.length));
      if (outboxLearnt) return 'again';
      if (isContention(reasons)) return 'contended';
      // The purchase or a credit changed since it was read (a concurrent change of the purchase
      // also took the history number this one needs): plan again over what is there now. A
      // history record failing on its own is not ours to explain away.
      const purchaseMoved = reasons[0]?.code === 'ConditionalCheckFailed';
      const creditMoved = reasons
        .slice(2, 2 + credits.length)
        .some((r) => r.code === 'ConditionalCheckFailed');
      if (purchaseMoved || (creditMoved && reasons[1]?.code !== 'ConditionalCheckFailed')) return 'again';
      throw error;
    }
    await outbox.committed(written, events.changed);
    return { done: { outcome: 'moved', before, after: purchaseFromItem(after) } };
  });
}
