// Sends queued events to the app's webhook URL, signed per Standard Webhooks. Any answer but a
// 2xx, a timeout or a dropped connection is a failure: the message is hidden for the next backoff
// delay (ChangeMessageVisibility) and reported as failed, so SQS hands it back later with the same
// body and the same `webhook-id`, and after maxReceiveCount attempts moves it to the dead-letter
// queue. The queue is FIFO with one group per user: while one of a user's events waits for a
// retry, the user's later events wait behind it, so each receiver sees them in order.
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { EVENT_ID_ATTRIBUTE } from '../ingest/queue-message';
import { logger } from '../observability/logger';
import { type RetrySchedule, retryDelaySeconds } from './retry-schedule';
import { signedHeaders } from './signing';

export interface DeliveryAttempt {
  ok: boolean;
  /** HTTP status, when the receiver answered. */
  status?: number;
  /** Why it failed, for the log: never the body or a secret. */
  reason?: string;
}

/** One signed POST. Redirects are not followed: a receiver must answer 2xx at the configured URL. */
export async function postSigned(options: {
  url: string;
  secrets: readonly string[];
  webhookId: string;
  body: string;
  now: Date;
  timeoutMs: number;
  fetchImpl?: typeof fetch;
}): Promise<DeliveryAttempt> {
  const doFetch = options.fetchImpl ?? fetch;
  try {
    const res = await doFetch(options.url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'iap-backend-webhooks/1',
        ...signedHeaders(options.secrets, options.webhookId, options.body, options.now),
      },
      body: options.body,
    });
    // The body is not needed; releasing it frees the connection.
    await res.body?.cancel().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
    return { ok: false, status: res.status, reason: `answered ${res.status}` };
  } catch (error) {
    const name = (error as Error).name;
    const reason =
      name === 'TimeoutError'
        ? `no answer within ${options.timeoutMs} ms`
        : `${name}: ${(error as Error).message}`;
    return { ok: false, reason };
  }
}

export interface WebhookDeliveryDeps {
  url: string;
  secrets: () => Promise<string[]>;
  sqs: SQSClient;
  queueUrl: string;
  schedule: RetrySchedule;
  timeoutMs: number;
  now: () => Date;
  fetchImpl?: typeof fetch;
}

/** The webhook-id of a queued event: its outbox event id, the same on every attempt. */
export function webhookIdOf(record: SQSRecord): string {
  const id = record.messageAttributes?.[EVENT_ID_ATTRIBUTE]?.stringValue;
  if (id) return id;
  throw new Error(`message ${record.messageId} has no ${EVENT_ID_ATTRIBUTE} attribute`);
}

async function hideForBackoff(deps: WebhookDeliveryDeps, record: SQSRecord): Promise<number> {
  const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;
  const delay = retryDelaySeconds(attempt, deps.schedule);
  try {
    await deps.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: deps.queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: delay,
      }),
    );
  } catch (error) {
    // It still comes back, after the queue's own visibility timeout.
    logger.warn('Could not set the retry delay', {
      messageId: record.messageId,
      error: (error as Error).name,
    });
  }
  return delay;
}

export async function deliverWebhookBatch(
  event: SQSEvent,
  deps: WebhookDeliveryDeps,
): Promise<SQSBatchResponse> {
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  // A user's later events must not overtake one that failed.
  const blockedGroups = new Set<string>();
  let secrets: string[] | undefined;
  for (const record of event.Records) {
    const group = record.attributes.MessageGroupId ?? record.messageId;
    if (blockedGroups.has(group)) {
      failures.push({ itemIdentifier: record.messageId });
      continue;
    }
    let attempt: DeliveryAttempt;
    let webhookId: string | undefined;
    try {
      webhookId = webhookIdOf(record);
      secrets ??= await deps.secrets();
      attempt = await postSigned({
        url: deps.url,
        secrets,
        webhookId,
        body: record.body,
        now: deps.now(),
        timeoutMs: deps.timeoutMs,
        ...(deps.fetchImpl ? { fetchImpl: deps.fetchImpl } : {}),
      });
    } catch (error) {
      attempt = { ok: false, reason: (error as Error).message };
    }
    if (attempt.ok) {
      logger.info('Webhook delivered', { webhookId, status: attempt.status });
      continue;
    }
    const retryInSeconds = await hideForBackoff(deps, record);
    logger.warn('Webhook delivery failed', {
      webhookId,
      reason: attempt.reason,
      attempt: Number(record.attributes.ApproximateReceiveCount) || 1,
      retryInSeconds,
    });
    blockedGroups.add(group);
    failures.push({ itemIdentifier: record.messageId });
  }
  return { batchItemFailures: failures };
}
