import { createHash } from 'node:crypto';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type BatchOutcome, type SqsPoller, startSqsPoller } from '../../dev/local/sqs-poller';
import { createQueueWithDlq, localSqsClient } from '../support/queue-with-dlq';

// A queue like the webhook queue but quick: visibility 1 s and 3 receives before the DLQ.
describe('local SQS poller (Lambda event source mapping) against fauxqs', () => {
  const sqs = localSqsClient(inject('sqsEndpoint'));
  let queueUrl: string;
  let queueArn: string;
  let dlqUrl: string;
  let poller: SqsPoller;
  const seen: SQSRecord[] = [];
  const batches: BatchOutcome[] = [];
  let throwOnce = true;

  beforeAll(async () => {
    ({ queueUrl, queueArn, dlqUrl } = await createQueueWithDlq(sqs, {
      name: 'poll',
      visibilityTimeoutSeconds: 1,
      maxReceiveCount: 3,
    }));

    poller = startSqsPoller({
      sqs,
      queueUrl,
      waitTimeSeconds: 1,
      maxBatchingWindowSeconds: 0,
      timeoutSeconds: 5,
      handler: async (event: SQSEvent) => {
        seen.push(...event.Records);
        if (event.Records.some((r) => r.body === 'throw-once') && throwOnce) {
          throwOnce = false;
          throw new Error('the whole batch fails');
        }
        return {
          batchItemFailures: event.Records.filter((r) => r.body === 'always-fails').map((r) => ({
            itemIdentifier: r.messageId,
          })),
        };
      },
      onBatch: (outcome) => batches.push(outcome),
    });
  });
  afterAll(async () => {
    await poller?.stop();
    sqs.destroy();
  });

  const waitFor = async (condition: () => boolean | Promise<boolean>, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('delivers real SQS records, redelivers failures and moves them to the DLQ after maxReceiveCount', async () => {
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: 'always-fails',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'test' } },
      }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'succeeds' }));

    // The DLQ receives the failing message once its 3 receives are used up.
    let dlqBody: string | undefined;
    await waitFor(async () => {
      const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, WaitTimeSeconds: 0 }));
      dlqBody = got.Messages?.[0]?.Body;
      return dlqBody !== undefined;
    }, 10_000);
    expect(dlqBody).toBe('always-fails');

    const failing = seen.filter((r) => r.messageId === sent.MessageId);
    expect(failing.map((r) => r.attributes.ApproximateReceiveCount)).toEqual(['1', '2', '3']);
    // The successful record was deleted after its first delivery, so it never came back.
    expect(seen.filter((r) => r.body === 'succeeds')).toHaveLength(1);

    const record = failing[0] as SQSRecord;
    expect(record).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: 'us-east-1',
      md5OfBody: createHash('md5').update('always-fails').digest('hex'),
      messageAttributes: {
        kind: { stringValue: 'test', stringListValues: [], binaryListValues: [], dataType: 'String' },
      },
    });
    expect(record.receiptHandle).toBeTruthy();
    expect(Number(record.attributes.SentTimestamp)).toBeGreaterThan(0);
  });

  it('retries the whole batch when the handler throws', async () => {
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'throw-once' }));
    await waitFor(() => seen.filter((r) => r.messageId === sent.MessageId).length >= 2, 8_000);
    const deliveries = seen.filter((r) => r.messageId === sent.MessageId);
    expect(deliveries.map((r) => r.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    const thrown = batches.find((b) => b.messageIds.includes(sent.MessageId as string) && b.error);
    expect(thrown?.failedMessageIds).toEqual(thrown?.messageIds);
  });
});
