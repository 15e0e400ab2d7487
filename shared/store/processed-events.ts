// The webhook consumer's writes: each event's state change together with its processed-events
// marker, in one transaction, so an event is applied exactly once or not at all (architecture §3, §4).
import { PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { PurchaseUpdate } from '../domain/purchase';
import {
  cancellationOrThrow,
  documentClient,
  isContention,
  retryingWrite,
  storeError,
  tableName,
} from './dynamo-client';
import { guardedUpdate, purchaseWrite, staleFillUpdate, transactUpdate } from './purchase-writes';
import { storedItem } from './purchases';

const DEFAULT_TTL_DAYS = 30;

export interface ApplyEventInput {
  /** Attesto's eventId: the idempotency key. */
  eventId: string;
  /** What the consumer did, stored on the marker for support (e.g. the event name or kind). */
  outcome: string;
  /** purchaseKey(...) of the purchase the event is about. */
  pk: string;
  /** updateFor(event) */
  update: PurchaseUpdate;
  /** The owner resolved from the event's appUserId; only claims an unowned purchase. */
  userId?: string;
  /** aliasKey(...)s the event revealed (e.g. the current Google token). */
  aliases?: readonly string[];
  ttlDays?: number;
}

export type ApplyEventResult =
  /** The purchase took the update. */
  | { result: 'applied' }
  /** The purchase had applied something newer: only blank fields were filled. */
  | { result: 'stale' }
  /** This event was applied before: acknowledge it. */
  | { result: 'duplicate' };

/**
 * Applies one event to its purchase and marks it processed, atomically. Throttling, contention
 * and network failures are thrown (as ServiceUnavailableError) so the queue delivers again.
 */
export async function applyEvent(input: ApplyEventInput): Promise<ApplyEventResult> {
  const write = purchaseWrite(
    input.pk,
    input.update,
    input.userId ? { userId: input.userId, mode: 'if-absent' } : undefined,
  );
  const purchases = tableName('PURCHASES_TABLE');
  const aliases = [...new Set(input.aliases ?? [])];
  let current: Record<string, unknown> | undefined;
  let stale = false;
  return retryingWrite<ApplyEventResult>('Applying the event', async () => {
    const now = new Date();
    const operation =
      stale && current
        ? staleFillUpdate(write, current, now.toISOString())
        : guardedUpdate(write, now.toISOString());
    try {
      await documentClient().send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: markerPut(input.eventId, input.outcome, now, input.ttlDays) },
            ...(operation ? [transactUpdate(purchases, input.pk, operation)] : []),
            ...aliases.map((alias) => ({
              Put: { TableName: purchases, Item: { pk: alias, target: input.pk } },
            })),
          ],
        }),
      );
      return { done: { result: stale ? 'stale' : 'applied' } };
    } catch (error) {
      const reasons = cancellationOrThrow(error);
      if (reasons[0]?.code === 'ConditionalCheckFailed') return { done: { result: 'duplicate' } };
      const purchaseReason = operation ? reasons[1] : undefined;
      if (purchaseReason?.code === 'ConditionalCheckFailed') {
        current = purchaseReason.item ?? (await storedItem(input.pk));
        stale = true;
        return 'again';
      }
      if (!isContention(reasons)) throw error;
      return 'contended';
    }
  });
}

/**
 * Marks an event that changes no state (test, unknown, record-only) as processed. A repeat
 * delivery finds the marker and is reported as a duplicate; either way the event is done.
 */
export async function markProcessed(
  eventId: string,
  outcome: string,
  ttlDays = DEFAULT_TTL_DAYS,
): Promise<'recorded' | 'duplicate'> {
  try {
    await documentClient().send(new PutCommand(markerPut(eventId, outcome, new Date(), ttlDays)));
    return 'recorded';
  } catch (error) {
    if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return 'duplicate';
    throw storeError(error);
  }
}

function markerPut(eventId: string, outcome: string, now: Date, ttlDays = DEFAULT_TTL_DAYS) {
  return {
    TableName: tableName('PROCESSED_EVENTS_TABLE'),
    Item: {
      pk: eventId,
      outcome,
      processedAt: now.toISOString(),
      // Epoch seconds: DynamoDB deletes the marker after this, well past Attesto's retry window.
      ttl: Math.floor(now.getTime() / 1000) + ttlDays * 24 * 60 * 60,
    },
    ConditionExpression: 'attribute_not_exists(pk)',
  };
}
