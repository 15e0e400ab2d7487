// The webhook consumer's writes: each event's state change together with its processed-events
// marker, in one transaction, so an event is applied exactly once or not at all (architecture §3, §4).
import { PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { PurchaseUpdate } from '../domain/purchase';
import {
  cancellationOrThrow,
  documentClient,
  isConditionFailure,
  isContention,
  retryingWrite,
  storeError,
  tableName,
} from './dynamo-client';
import { changedFields, type HistoryCause } from './history';
import { eventCauseOf, OutboxSession } from './outbox';
import { planWrite, purchaseWrite } from './purchase-writes';
import { purchaseChangeItems, storedItem } from './purchases';

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
  /** The purchase item as the caller just read it (strongly consistent); unset, applyEvent reads it. */
  stored?: { item: Record<string, unknown> | undefined };
  /** What caused the change, for its history record; default: an Attesto webhook with this marker. */
  cause?: HistoryCause;
  /**
   * The outbox reads the caller has already started (OutboxSession.load), e.g. the user the
   * event names, before the purchase read told who owns it; unset, applyEvent starts them.
   */
  outbox?: OutboxSession;
}

export type ApplyEventResult =
  /** The purchase took the update. */
  | { result: 'applied' }
  /** The purchase had applied something newer: only blank fields were filled. */
  | { result: 'stale' }
  /** This event was applied before: acknowledge it. */
  | { result: 'duplicate' };

/**
 * Applies one event to its purchase and marks it processed, atomically, with the purchase's
 * history record when the event changes it. The purchase is read first (history.ts says why): an
 * event that changes nothing writes only its marker (and any new aliases). Throttling, contention
 * and network failures are thrown (as ServiceUnavailableError) so the queue delivers again.
 */
export async function applyEvent(input: ApplyEventInput): Promise<ApplyEventResult> {
  const write = purchaseWrite(
    input.pk,
    input.update,
    input.userId ? { userId: input.userId, mode: 'if-absent' } : undefined,
  );
  const aliases = [...new Set(input.aliases ?? [])];
  const cause: HistoryCause = input.cause ?? {
    source: 'attesto-webhook',
    markerId: input.eventId,
    event: input.outcome,
  };
  let current = input.stored?.item;
  let read = input.stored !== undefined;
  const outbox = input.outbox ?? new OutboxSession();
  const owner = typeof current?.userId === 'string' ? current.userId : input.userId;
  if (owner) outbox.load(owner);
  return retryingWrite<ApplyEventResult>('Applying the event', async () => {
    if (!read) {
      current = await storedItem(input.pk);
      read = true;
    }
    const now = new Date();
    const plan = planWrite(write, current, now.toISOString());
    const { operation } = plan;
    const changed = operation !== undefined && changedFields(current, plan.after) !== undefined;
    const result = plan.stale ? 'stale' : 'applied';
    const marker = markerPut(input.eventId, input.outcome, now, input.ttlDays);
    if (!operation && aliases.length === 0) {
      // Nothing to change: the marker alone, one plain conditional Put.
      const done = await putMarker(marker);
      return { done: { result: done === 'duplicate' ? 'duplicate' : result } };
    }
    const written = changed ? [{ pk: input.pk, before: current, after: plan.after }] : [];
    const events = await outbox.transactItems(written, eventCauseOf(cause, input.pk), now.getTime());
    try {
      await documentClient().send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: marker },
            ...purchaseChangeItems({
              pk: input.pk,
              operation,
              history: changed
                ? { rev: plan.rev, now, cause, before: current, after: plan.after }
                : undefined,
              aliases,
            }),
            ...events.items,
          ],
        }),
      );
      return { done: { result } };
    } catch (error) {
      const reasons = cancellationOrThrow(error);
      if (reasons[0]?.code === 'ConditionalCheckFailed') return { done: { result: 'duplicate' } };
      const purchaseReason = operation ? reasons[1] : undefined;
      const outboxLearnt = await outbox.absorb(reasons.slice(reasons.length - events.items.length));
      if (purchaseReason?.code === 'ConditionalCheckFailed') {
        current = purchaseReason.item ?? (await storedItem(input.pk));
        return 'again';
      }
      if (outboxLearnt) return 'again';
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
  return putMarker(markerPut(eventId, outcome, new Date(), ttlDays));
}

async function putMarker(marker: ReturnType<typeof markerPut>): Promise<'recorded' | 'duplicate'> {
  try {
    await documentClient().send(new PutCommand(marker));
    return 'recorded';
  } catch (error) {
    if (isConditionFailure(error)) return 'duplicate';
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
