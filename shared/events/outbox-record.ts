// An outbox item as the entitlement-events table's stream carries it (NEW_IMAGE): the user's
// newest event, already serialised as the exact body to send. Only an INSERT or MODIFY carries
// one; a REMOVE (the user was erased) has nothing to send.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';

export const EVENT_SOURCE = 'iap-backend';
export const EVENT_DETAIL_TYPE = 'entitlements.changed';

export interface OutboundEvent {
  userId: string;
  sequence: number;
  /** Stable across every retry: the Standard Webhooks `webhook-id`, the FIFO deduplication id. */
  eventId: string;
  /** The JSON body, byte for byte what is signed and sent. */
  body: string;
}

export class MalformedOutboxRecord extends Error {
  override name = 'MalformedOutboxRecord';
}

/** The event of one stream record; undefined for a record with nothing to send. */
export function outboundEventOf(record: DynamoDBRecord): OutboundEvent | undefined {
  if (record.eventName === 'REMOVE') return undefined;
  const image = record.dynamodb?.NewImage;
  const where = `stream record ${record.dynamodb?.SequenceNumber ?? record.eventID ?? '?'}`;
  if (!image) throw new MalformedOutboxRecord(`${where} has no NewImage (the stream must be NEW_IMAGE)`);
  const item = unmarshall(image as Record<string, AttributeValue>);
  const { userId, sequence, eventId, event } = item;
  const missing = [
    typeof userId === 'string' && userId ? undefined : 'userId',
    typeof sequence === 'number' && Number.isInteger(sequence) ? undefined : 'sequence',
    typeof eventId === 'string' && eventId ? undefined : 'eventId',
    typeof event === 'string' && event ? undefined : 'event',
  ].filter(Boolean);
  if (missing.length) throw new MalformedOutboxRecord(`${where} lacks ${missing.join(', ')}`);
  try {
    JSON.parse(event);
  } catch {
    throw new MalformedOutboxRecord(`${where}: event is not JSON`);
  }
  return { userId, sequence, eventId, body: event };
}
