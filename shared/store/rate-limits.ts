// The rate-limits table: one counter per key and fixed window, raised by a conditional atomic
// update. DynamoDB applies conditional updates of one item one after another, so however many
// requests race, exactly `limit` of them find the counter below the limit.
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient, isConditionFailure, storeError, tableName } from './dynamo-client';

/** The fixed window `nowMs` falls in, in epoch seconds. Pure: the caller passes the time. */
export function windowOf(nowMs: number, windowSeconds: number): { start: number; end: number } {
  const start = Math.floor(nowMs / 1000 / windowSeconds) * windowSeconds;
  return { start, end: start + windowSeconds };
}

export type TakeResult = { admitted: true } | { admitted: false; retryAfterSeconds: number };

/**
 * Counts one use of `key` in the current window unless `limit` uses were counted already. A
 * refused use changes nothing, so retrying while refused never pushes the window further out.
 */
export async function takeFromWindow(input: {
  key: string;
  limit: number;
  windowSeconds: number;
  nowMs: number;
}): Promise<TakeResult> {
  const { start, end } = windowOf(input.nowMs, input.windowSeconds);
  try {
    await documentClient().send(
      new UpdateCommand({
        TableName: tableName('RATE_LIMITS_TABLE'),
        Key: { pk: `${input.key}#${start}` },
        UpdateExpression: 'ADD #n :one SET #ttl = if_not_exists(#ttl, :ttl)',
        ConditionExpression: 'attribute_not_exists(#n) OR #n < :limit',
        ExpressionAttributeNames: { '#n': 'count', '#ttl': 'ttl' },
        // DynamoDB deletes the counter once its window is over (TTL in epoch seconds).
        ExpressionAttributeValues: { ':one': 1, ':limit': input.limit, ':ttl': end },
      }),
    );
    return { admitted: true };
  } catch (error) {
    if (isConditionFailure(error)) {
      return { admitted: false, retryAfterSeconds: Math.max(1, Math.ceil(end - input.nowMs / 1000)) };
    }
    throw storeError(error);
  }
}
