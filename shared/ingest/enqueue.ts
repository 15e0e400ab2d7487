// Puts what an ingest endpoint accepted on the webhook queue, in the shape of queue-message.ts:
// Attesto's signed bytes as they came, a verified store notification as the envelope Attesto
// would have sent for it. The consumer cannot tell the paths apart, except by `tenantId: 'direct'`.
import { type MessageAttributeValue, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { AttestoWebhook } from '../attesto/schemas';
import {
  attributeText,
  BODY_ENCODING_ATTRIBUTE,
  EVENT_ID_ATTRIBUTE,
  EVENT_TYPE_ATTRIBUTE,
  messageBodyOf,
} from './queue-message';

/** eventType label of a verified push whose content could not be read; the consumer dead-letters it. */
export const UNDECODABLE_EVENT_TYPE = 'google.undecodable';

export interface EnqueueTarget {
  sqs: SQSClient;
  queueUrl: () => string;
}

/**
 * The webhook queue as the receiving functions reach it: one SQS client for the life of the
 * process and the URL from WEBHOOK_QUEUE_URL, read when a message is sent. A missing URL throws
 * the caller's own settings error, so each function keeps its configuration errors alike.
 */
export function webhookQueueFromEnv(settingsError: new (message: string) => Error): EnqueueTarget {
  return {
    // Queue URLs are not used as endpoints (the emulator's do not resolve).
    sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
    queueUrl: () => {
      const url = process.env.WEBHOOK_QUEUE_URL;
      if (!url) throw new settingsError('Invalid configuration: WEBHOOK_QUEUE_URL is not set');
      return url;
    },
  };
}

const label = (value: string): MessageAttributeValue => ({
  DataType: 'String',
  StringValue: attributeText(value),
});

/** The normalised envelope, as JSON text. */
export async function enqueueEnvelope(target: EnqueueTarget, envelope: AttestoWebhook): Promise<void> {
  await target.sqs.send(
    new SendMessageCommand({
      QueueUrl: target.queueUrl(),
      MessageBody: JSON.stringify(envelope),
      MessageAttributes: {
        [EVENT_ID_ATTRIBUTE]: label(envelope.eventId),
        [EVENT_TYPE_ATTRIBUTE]: label(envelope.event),
      },
    }),
  );
}

/** Labels of a raw body on the queue; they only help people and tools, the consumer reads the body. */
export interface RawBodyLabels {
  eventId?: string | undefined;
  eventType?: string | undefined;
}

/**
 * Request bytes as they came: Attesto's signed body (the consumer parses exactly what was signed),
 * or a Google push the backend cannot read (see enqueueUndecodable).
 */
export async function enqueueRawBody(
  target: EnqueueTarget,
  raw: Buffer,
  labels: RawBodyLabels,
): Promise<void> {
  const { body, base64 } = messageBodyOf(raw);
  const attributes: Record<string, MessageAttributeValue> = {};
  if (labels.eventId) attributes[EVENT_ID_ATTRIBUTE] = label(labels.eventId);
  if (labels.eventType) attributes[EVENT_TYPE_ATTRIBUTE] = label(labels.eventType);
  if (base64) attributes[BODY_ENCODING_ATTRIBUTE] = label('base64');
  await target.sqs.send(
    new SendMessageCommand({
      QueueUrl: target.queueUrl(),
      // SQS refuses an empty body; the label says what it was.
      MessageBody: body || '(empty body)',
      MessageAttributes: attributes,
    }),
  );
}

/**
 * The raw request body of an authenticated push the backend cannot read. It is not an envelope,
 * so the consumer reports it as poison every time it is received and SQS moves it to the
 * dead-letter queue after maxReceiveCount: it ends where a person looks (the DLQ alarm and the
 * `npm run dlq` tool), not silently dropped, and Pub/Sub is not made to redeliver it for days.
 */
export async function enqueueUndecodable(
  target: EnqueueTarget,
  raw: Buffer,
  messageId: string | undefined,
): Promise<void> {
  await enqueueRawBody(target, raw, {
    eventType: UNDECODABLE_EVENT_TYPE,
    ...(messageId ? { eventId: `google_${messageId}` } : {}),
  });
}
