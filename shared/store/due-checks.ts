// Reading the purchases due for a reconciliation check, and recording a check that changed
// nothing. Reads go to the sparse CHECK_DUE_INDEX only, never the table.
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CHECK_DUE_SHARD_KEYS } from '../domain/check-schedule';
import { checkAttributesFor } from './check-due-attributes';
import { documentClient, isConditionFailure, storeError, tableName } from './dynamo-client';
import { purchaseFromItem } from './purchase-writes';
import { CHECK_DUE_INDEX } from './tables';

const purchasesTable = () => tableName('PURCHASES_TABLE');

export interface DueItems {
  /** The due purchase items (as the index holds them: all attributes), oldest check first. */
  items: Record<string, unknown>[];
  /** More were due than `limit`. */
  more: boolean;
  /** Read capacity the queries consumed. */
  readUnits: number;
}

/** One shard's page of the index: purchases due at `nowIso`, oldest check first. */
const dueQuery = (shard: string, nowIso: string, page: Record<string, unknown>) =>
  new QueryCommand({
    TableName: purchasesTable(),
    IndexName: CHECK_DUE_INDEX,
    KeyConditionExpression: '#d = :d AND #a <= :now',
    ExpressionAttributeNames: { '#d': 'checkDue', '#a': 'checkAt' },
    ExpressionAttributeValues: { ':d': shard, ':now': nowIso },
    ReturnConsumedCapacity: 'TOTAL',
    ...page,
  });

/** Up to `limit` purchases whose check time is at or before `now`, the longest-waiting first. */
export async function dueItems(now: number, limit: number): Promise<DueItems> {
  const nowIso = new Date(now).toISOString();
  let readUnits = 0;
  let more = false;
  const items: Record<string, unknown>[] = [];
  try {
    await Promise.all(
      CHECK_DUE_SHARD_KEYS.map(async (shard) => {
        let ExclusiveStartKey: Record<string, unknown> | undefined;
        let taken = 0;
        do {
          const page = await documentClient().send(
            dueQuery(shard, nowIso, { Limit: limit - taken, ExclusiveStartKey }),
          );
          readUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
          items.push(...(page.Items ?? []));
          taken += page.Items?.length ?? 0;
          ExclusiveStartKey = page.LastEvaluatedKey;
        } while (ExclusiveStartKey && taken < limit);
        if (ExclusiveStartKey) more = true;
      }),
    );
  } catch (error) {
    throw storeError(error);
  }
  items.sort((a, b) => String(a.checkAt).localeCompare(String(b.checkAt)));
  if (items.length > limit) more = true;
  return { items: items.slice(0, limit), more, readUnits };
}

/** How many purchases are due at `now` (counted in the index). */
export async function countDue(now: number): Promise<{ count: number; readUnits: number }> {
  const nowIso = new Date(now).toISOString();
  let count = 0;
  let readUnits = 0;
  try {
    // The shards in parallel, as dueItems reads them: one round trip at the end of a pass, not four.
    await Promise.all(
      CHECK_DUE_SHARD_KEYS.map(async (shard) => {
        let ExclusiveStartKey: Record<string, unknown> | undefined;
        do {
          const page = await documentClient().send(
            dueQuery(shard, nowIso, { Select: 'COUNT', ExclusiveStartKey }),
          );
          count += page.Count ?? 0;
          readUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
          ExclusiveStartKey = page.LastEvaluatedKey;
        } while (ExclusiveStartKey);
      }),
    );
  } catch (error) {
    throw storeError(error);
  }
  return { count, readUnits };
}

/**
 * A check of `item` (as the pass read it) that changed nothing: the next check moves out with
 * backoff. Written only while the item is still scheduled exactly as the pass read it, so a
 * concurrent change (which schedules anew) or another pass that recorded the same check first
 * wins, and this is dropped ('superseded').
 */
export async function recordUnchangedCheck(
  item: Record<string, unknown>,
  now: number,
): Promise<'recorded' | 'superseded'> {
  const attempts = (typeof item.checkAttempts === 'number' ? item.checkAttempts : 0) + 1;
  const check = checkAttributesFor(purchaseFromItem(item), now, attempts);
  const names: Record<string, string> = { '#d': 'checkDue', '#a': 'checkAt', '#n': 'checkAttempts' };
  const values: Record<string, unknown> = { ':seen': item.checkAt };
  const attemptsPin =
    typeof item.checkAttempts === 'number' ? '#n = :seenAttempts' : 'attribute_not_exists(#n)';
  if (typeof item.checkAttempts === 'number') values[':seenAttempts'] = item.checkAttempts;
  let update = 'REMOVE #d, #a, #n';
  if (check.due) {
    update = 'SET #d = :d, #a = :a, #n = :n';
    Object.assign(values, { ':d': check.checkDue, ':a': check.checkAt, ':n': check.checkAttempts });
  }
  try {
    await documentClient().send(
      new UpdateCommand({
        TableName: purchasesTable(),
        Key: { pk: item.pk },
        UpdateExpression: update,
        ConditionExpression: `#a = :seen AND ${attemptsPin}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
    return 'recorded';
  } catch (error) {
    if (isConditionFailure(error)) return 'superseded';
    throw storeError(error);
  }
}
