// The user-ids table: each user's appUserId UUID, both directions (architecture §3). Both items are
// written in one transaction, each only if absent, so mint-or-lookup is idempotent under races
// and a UUID can never belong to two users.
import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { cancellationOrThrow, documentClient, retryingWrite, storeError, tableName } from './dynamo-client';

export const userItemKey = (userId: string) => `user#${userId}`;
export const uuidItemKey = (uuid: string) => `uuid#${uuid}`;

async function readAttribute(pk: string, attribute: 'uuid' | 'userId'): Promise<string | undefined> {
  const { Item } = await documentClient().send(
    new GetCommand({ TableName: tableName('USER_IDS_TABLE'), Key: { pk }, ConsistentRead: true }),
  );
  const value = Item?.[attribute];
  return typeof value === 'string' ? value : undefined;
}

/**
 * The user's UUID, minting one with `mint` on the first call. Concurrent first calls all return
 * the one that was stored; a minted UUID that already belongs to someone else is re-minted.
 */
export async function getOrMintUuid(userId: string, mint: () => string): Promise<string> {
  const table = tableName('USER_IDS_TABLE');
  return retryingWrite('Minting the user id', async () => {
    const existing = await readAttribute(userItemKey(userId), 'uuid');
    if (existing) return { done: existing };
    const uuid = mint();
    const createdAt = new Date().toISOString();
    try {
      await documentClient().send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: table,
                Item: { pk: userItemKey(userId), uuid, createdAt },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: table,
                Item: { pk: uuidItemKey(uuid), userId, createdAt },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
      return { done: uuid };
    } catch (error) {
      const reasons = cancellationOrThrow(error);
      if (reasons.some((r) => !['None', 'ConditionalCheckFailed', 'TransactionConflict'].includes(r.code))) {
        throw error;
      }
      // Lost the race (the user item now exists), a UUID collision, or contention: all are
      // resolved by reading again and, if still needed, minting a fresh UUID.
      return reasons.some((r) => r.code === 'TransactionConflict') ? 'contended' : 'again';
    }
  });
}

/** The user a UUID was minted for, if any. */
export async function userIdOfUuid(uuid: string): Promise<string | undefined> {
  try {
    return await readAttribute(uuidItemKey(uuid), 'userId');
  } catch (error) {
    throw storeError(error);
  }
}

/** The UUID minted for a user, if any. */
export async function uuidOfUser(userId: string): Promise<string | undefined> {
  try {
    return await readAttribute(userItemKey(userId), 'uuid');
  } catch (error) {
    throw storeError(error);
  }
}
