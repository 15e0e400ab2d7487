// Looking into the webhook dead-letter queue and moving its messages back to the webhook queue.
// Works the same against fauxqs and AWS: receive → send → delete, one batch at a time (on AWS,
// StartMessageMoveTask would also do, but this loop runs everywhere).
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { EVENT_ID_ATTRIBUTE, EVENT_TYPE_ATTRIBUTE } from '../shared/ingest/queue-message';

export interface DeadLetter {
  messageId: string;
  receiveCount: number;
  eventId: string | null;
  eventType: string | null;
  /** The first bytes of the body, for a quick look. */
  preview: string;
  sentAt: string | null;
}

const PREVIEW_CHARS = 120;

function describe(message: Message): DeadLetter {
  const sent = message.Attributes?.SentTimestamp;
  return {
    messageId: message.MessageId ?? '',
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
    eventId: message.MessageAttributes?.[EVENT_ID_ATTRIBUTE]?.StringValue ?? null,
    eventType: message.MessageAttributes?.[EVENT_TYPE_ATTRIBUTE]?.StringValue ?? null,
    preview: (message.Body ?? '').slice(0, PREVIEW_CHARS),
    sentAt: sent ? new Date(Number(sent)).toISOString() : null,
  };
}

async function receive(sqs: SQSClient, queueUrl: string, max: number, visibilitySeconds: number) {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: Math.max(1, Math.min(10, max)),
      WaitTimeSeconds: 0,
      VisibilityTimeout: visibilitySeconds,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  return out.Messages ?? [];
}

/**
 * Up to `limit` messages of the DLQ, without removing them. Each is hidden while we look and made
 * visible again at the end, so a listing never hides messages from a redrive that follows.
 */
export async function listDeadLetters(sqs: SQSClient, dlqUrl: string, limit = 100): Promise<DeadLetter[]> {
  const seen = new Map<string, Message>();
  let emptyRounds = 0;
  while (seen.size < limit && emptyRounds < 2) {
    const messages = await receive(sqs, dlqUrl, limit - seen.size, 30);
    if (messages.length === 0) emptyRounds += 1;
    for (const m of messages) if (m.MessageId && !seen.has(m.MessageId)) seen.set(m.MessageId, m);
  }
  const all = [...seen.values()];
  for (let i = 0; i < all.length; i += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: dlqUrl,
        Entries: all
          .slice(i, i + 10)
          .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle as string, VisibilityTimeout: 0 })),
      }),
    );
  }
  return all.map(describe);
}

export interface RedriveResult {
  moved: number;
  failed: number;
}

/**
 * A FIFO queue needs the message's group (the user, so the order among that user's events holds)
 * and a deduplication id. Not the original one: within its 5-minute window SQS would drop the
 * redriven message as a duplicate, and it would then be deleted from the DLQ and lost.
 */
function fifoIdsOf(message: Message, queueUrl: string) {
  if (!queueUrl.endsWith('.fifo')) return {};
  const group = message.Attributes?.MessageGroupId;
  if (!group) throw new Error(`DLQ message ${message.MessageId} has no MessageGroupId for the FIFO queue`);
  return { MessageGroupId: group, MessageDeduplicationId: `redrive-${message.MessageId}-${Date.now()}` };
}

/** Moves up to `limit` DLQ messages back to the source queue, body and attributes unchanged. */
export async function redriveDeadLetters(
  sqs: SQSClient,
  options: { dlqUrl: string; queueUrl: string; limit?: number },
): Promise<RedriveResult> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const result: RedriveResult = { moved: 0, failed: 0 };
  let emptyRounds = 0;
  while (result.moved + result.failed < limit && emptyRounds < 2) {
    const messages = await receive(sqs, options.dlqUrl, limit - result.moved - result.failed, 60);
    if (messages.length === 0) {
      emptyRounds += 1;
      continue;
    }
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: options.queueUrl,
        Entries: messages.map((m, i) => ({
          Id: String(i),
          MessageBody: m.Body ?? '',
          ...fifoIdsOf(m, options.queueUrl),
          ...(m.MessageAttributes && Object.keys(m.MessageAttributes).length
            ? { MessageAttributes: m.MessageAttributes }
            : {}),
        })),
      }),
    );
    // Only what reached the source queue leaves the DLQ; the rest reappears there for another try.
    const ok = new Set((sent.Successful ?? []).map((s) => s.Id));
    const done = messages.filter((_, i) => ok.has(String(i)));
    if (done.length) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.dlqUrl,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
        }),
      );
    }
    result.moved += done.length;
    result.failed += messages.length - done.length;
  }
  return result;
}
