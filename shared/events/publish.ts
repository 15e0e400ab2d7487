// The outbox publisher: hands each stream record's event to the EventBridge bus and, when the
// stage delivers webhooks, to the FIFO delivery queue (one message group per user, deduplicated
// by event id). Records are handled in stream order; at the first one that cannot be handed on,
// it stops and reports that record, so Lambda retries from there and nothing after it overtakes it.
import { createHash } from 'node:crypto';
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { type MessageAttributeValue, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { EVENT_ID_ATTRIBUTE, EVENT_TYPE_ATTRIBUTE } from '../ingest/queue-message';
import { logger } from '../observability/logger';
import { EVENT_DETAIL_TYPE, EVENT_SOURCE, type OutboundEvent, outboundEventOf } from './outbox-record';

export interface PublishTargets {
  bus: { client: EventBridgeClient; name: string };
  /** Set when the stage sends webhooks. */
  deliveryQueue?: { client: SQSClient; url: string } | undefined;
}

/** PutEvents and SendMessageBatch both take at most 10 entries. */
const CHUNK = 10;

// FIFO group and deduplication ids allow 128 characters of ASCII letters, digits and punctuation.
const FIFO_ID = /^[\x21-\x7e]{1,128}$/;

/** The FIFO id for a value: itself when allowed, else a digest that is just as stable. */
export function fifoIdOf(value: string): string {
  return FIFO_ID.test(value) ? value : `sha256-${createHash('sha256').update(value).digest('hex')}`;
}

const label = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });

interface Pending {
  record: DynamoDBRecord;
  event: OutboundEvent | undefined;
}

/** Index (within `events`) of the first entry that was not accepted; events.length when all were. */
async function putOnBus(targets: PublishTargets, events: OutboundEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  try {
    const out = await targets.bus.client.send(
      new PutEventsCommand({
        Entries: events.map((e) => ({
          EventBusName: targets.bus.name,
          Source: EVENT_SOURCE,
          DetailType: EVENT_DETAIL_TYPE,
          Detail: e.body,
        })),
      }),
    );
    const failed = (out.Entries ?? []).findIndex((entry) => entry.ErrorCode || !entry.EventId);
    if (failed >= 0) {
      const entry = out.Entries?.[failed];
      logger.warn('EventBridge refused an event', {
        eventId: events[failed]?.eventId,
        errorCode: entry?.ErrorCode,
      });
      return failed;
    }
    // An answer with fewer entries than sent accepted only those it names.
    return Math.min(events.length, out.Entries?.length ?? 0);
  } catch (error) {
    logger.warn('EventBridge PutEvents failed', { error: (error as Error).name, count: events.length });
    return 0;
  }
}

async function putOnDeliveryQueue(targets: PublishTargets, events: OutboundEvent[]): Promise<number> {
  const queue = targets.deliveryQueue;
  if (!queue || events.length === 0) return events.length;
  try {
    const out = await queue.client.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: events.map((e, i) => ({
          Id: String(i),
          MessageBody: e.body,
          MessageGroupId: fifoIdOf(e.userId),
          MessageDeduplicationId: fifoIdOf(e.eventId),
          MessageAttributes: {
            [EVENT_ID_ATTRIBUTE]: label(e.eventId),
            [EVENT_TYPE_ATTRIBUTE]: label(EVENT_DETAIL_TYPE),
          },
        })),
      }),
    );
    const failedIds = new Set((out.Failed ?? []).map((f) => Number(f.Id)));
    const ok = new Set((out.Successful ?? []).map((s) => Number(s.Id)));
    for (let i = 0; i < events.length; i++) {
      if (failedIds.has(i) || !ok.has(i)) {
        logger.warn('The delivery queue refused an event', { eventId: events[i]?.eventId });
        return i;
      }
    }
    return events.length;
  } catch (error) {
    logger.warn('SQS SendMessageBatch to the delivery queue failed', {
      error: (error as Error).name,
      count: events.length,
    });
    return 0;
  }
}

function failureAt(record: DynamoDBRecord): DynamoDBBatchResponse {
  const itemIdentifier = record.dynamodb?.SequenceNumber ?? '';
  return { batchItemFailures: [{ itemIdentifier }] };
}

/**
 * The next run of records to hand on together: at most 10, and at most one event per user.
 * PutEvents takes the other entries of a call when one is refused, so a user's later event in the
 * same call would overtake the refused one; with one event per user per call it cannot.
 */
function nextChunk(
  records: readonly DynamoDBRecord[],
  start: number,
): { chunk: Pending[]; malformedAt?: number } {
  const chunk: Pending[] = [];
  const users = new Set<string>();
  for (let i = start; i < records.length && chunk.length < CHUNK; i++) {
    const record = records[i] as DynamoDBRecord;
    let event: OutboundEvent | undefined;
    try {
      event = outboundEventOf(record);
    } catch (error) {
      // Retried, bisected down to this record, then dead-lettered with an alarm: never skipped.
      logger.error('Outbox record cannot be published', { reason: (error as Error).message });
      chunk.push({ record, event: undefined });
      return { chunk, malformedAt: chunk.length - 1 };
    }
    if (event && users.has(event.userId)) break;
    if (event) users.add(event.userId);
    chunk.push({ record, event });
  }
  return { chunk };
}

export async function publishStreamBatch(
  records: readonly DynamoDBRecord[],
  targets: PublishTargets,
): Promise<DynamoDBBatchResponse> {
  let start = 0;
  while (start < records.length) {
    const { chunk, malformedAt } = nextChunk(records, start);
    const usable = malformedAt === undefined ? chunk : chunk.slice(0, malformedAt);
    const events = usable.flatMap((p) => (p.event ? [p.event] : []));
    const onBus = await putOnBus(targets, events);
    const queued = await putOnDeliveryQueue(targets, events.slice(0, onBus));
    const handedOn = Math.min(onBus, queued);
    if (handedOn < events.length) {
      const failedEvent = events[handedOn];
      const failed = usable.find((p) => p.event === failedEvent) as Pending;
      return failureAt(failed.record);
    }
    if (malformedAt !== undefined) return failureAt((chunk[malformedAt] as Pending).record);
    start += chunk.length;
  }
  return { batchItemFailures: [] };
}
