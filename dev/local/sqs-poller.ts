// Stands in for Lambda's SQS event source mapping: long-polls the queue, hands batches to the
// consumer as real SQSEvents, deletes only what succeeded (ReportBatchItemFailures), and leaves
// failures in flight so they come back after the visibility timeout and, past the queue's
// maxReceiveCount, land in its dead-letter queue through the redrive policy.
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { webhookQueue } from '../../infra/resources';
import { createLambdaContext, invokeWithTimeout } from './lambda-context';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<unknown>;

export interface BatchOutcome {
  messageIds: string[];
  failedMessageIds: string[];
  /** Set when the whole batch failed: the handler threw, timed out or answered nonsense. */
  error?: unknown;
}

export interface SqsPollerOptions {
  /** Built with `useQueueUrlAsEndpoint: false` (fauxqs's queue URLs do not resolve). */
  sqs: SQSClient;
  queueUrl: string;
  handler: SqsHandler;
  functionName?: string;
  timeoutSeconds?: number;
  batchSize?: number;
  maxBatchingWindowSeconds?: number;
  waitTimeSeconds?: number;
  region?: string;
  onBatch?: (outcome: BatchOutcome) => void;
  /** Polling problems (the emulator went away, …); the poller keeps trying. */
  onError?: (error: unknown) => void;
}

export interface SqsPoller {
  stop(): Promise<void>;
}

export function toSqsRecord(message: Message, eventSourceARN: string, awsRegion: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined
        ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
        : {}),
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
      dataType: value.DataType ?? 'String',
    };
  }
  return {
    messageId: message.MessageId as string,
    receiptHandle: message.ReceiptHandle as string,
    body: message.Body ?? '',
    attributes: attributes as unknown as SQSRecord['attributes'],
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN,
    awsRegion,
  };
}

/**
 * Which records failed, as Lambda reads a ReportBatchItemFailures answer: an empty or absent
 * list means all succeeded; an identifier that is not in the batch fails the whole batch.
 */
export function failedMessageIds(response: unknown, messageIds: string[]): string[] {
  if (response === undefined || response === null) return [];
  const failures = (response as Partial<SQSBatchResponse>).batchItemFailures;
  if (failures === undefined || failures === null) return [];
  if (!Array.isArray(failures)) return messageIds;
  const ids = failures.map((f) => f?.itemIdentifier);
  if (ids.some((id) => typeof id !== 'string' || !messageIds.includes(id))) return messageIds;
  return [...new Set(ids as string[])];
}

export function startSqsPoller(options: SqsPollerOptions): SqsPoller {
  const batchSize = options.batchSize ?? webhookQueue.batchSize;
  const windowMs = (options.maxBatchingWindowSeconds ?? webhookQueue.maxBatchingWindowSeconds) * 1000;
  const waitTimeSeconds = options.waitTimeSeconds ?? 20;
  const functionName = options.functionName ?? 'webhook-consumer';
  const timeoutSeconds = options.timeoutSeconds ?? 30;
  const abort = new AbortController();
  let eventSourceARN: string | undefined;

  const receive = async (max: number, wait: number): Promise<Message[]> => {
    const result = await options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: Math.min(10, max),
        WaitTimeSeconds: wait,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: abort.signal },
    );
    return result.Messages ?? [];
  };

  const receiveBatch = async (): Promise<Message[]> => {
    const batch = await receive(batchSize, waitTimeSeconds);
    // Like the batching window: once something arrived, gather more for a moment.
    const deadline = Date.now() + windowMs;
    while (batch.length && batch.length < batchSize && Date.now() < deadline && !abort.signal.aborted) {
      const more = await receive(
        batchSize - batch.length,
        Math.max(1, Math.ceil((deadline - Date.now()) / 1000)),
      );
      if (!more.length) break;
      batch.push(...more);
    }
    return batch;
  };

  const processBatch = async (messages: Message[]) => {
    const arn = eventSourceARN as string;
    const region = options.region ?? arn.split(':')[3] ?? 'us-east-1';
    const event: SQSEvent = { Records: messages.map((m) => toSqsRecord(m, arn, region)) };
    const ids = event.Records.map((r) => r.messageId);
    let failed: string[];
    let error: unknown;
    try {
      const context = createLambdaContext({ functionName, timeoutSeconds });
      const response = await invokeWithTimeout(functionName, timeoutSeconds, () =>
        options.handler(event, context),
      );
      failed = failedMessageIds(response, ids);
    } catch (thrown) {
      error = thrown;
      failed = ids;
    }
    const succeeded = event.Records.filter((r) => !failed.includes(r.messageId));
    for (let i = 0; i < succeeded.length; i += 10) {
      await options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: succeeded
            .slice(i, i + 10)
            .map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle })),
        }),
      );
    }
    options.onBatch?.({
      messageIds: ids,
      failedMessageIds: failed,
      ...(error !== undefined ? { error } : {}),
    });
  };

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      abort.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });

  const loop = (async () => {
    while (!abort.signal.aborted) {
      try {
        if (!eventSourceARN) {
          const attrs = await options.sqs.send(
            new GetQueueAttributesCommand({ QueueUrl: options.queueUrl, AttributeNames: ['QueueArn'] }),
            { abortSignal: abort.signal },
          );
          eventSourceARN = attrs.Attributes?.QueueArn as string;
        }
        const messages = await receiveBatch();
        if (messages.length) await processBatch(messages);
      } catch (error) {
        if (abort.signal.aborted) break;
        options.onError?.(error);
        await pause(1_000);
      }
    }
  })();

  return {
    stop: async () => {
      abort.abort();
      await loop;
    },
  };
}
