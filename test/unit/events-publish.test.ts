import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { fifoIdOf, publishStreamBatch } from '../../shared/events/publish';

// The publisher's decisions on a batch, with both services mocked to answer as a real one might
// on a bad day; the path through DynamoDB Local and fauxqs is in test/integration/events-*.

const eventBridge = mockClient(EventBridgeClient);
const sqs = mockClient(SQSClient);
afterAll(() => {
  eventBridge.restore();
  sqs.restore();
});
beforeEach(() => {
  eventBridge.reset();
  sqs.reset();
  eventBridge.on(PutEventsCommand).callsFake((input) => ({
    FailedEntryCount: 0,
    Entries: input.Entries.map((_: unknown, i: number) => ({ EventId: `e${i}` })),
  }));
  sqs.on(SendMessageBatchCommand).callsFake((input) => ({
    Successful: input.Entries.map((e: { Id: string }) => ({ Id: e.Id, MessageId: `m${e.Id}` })),
    Failed: [],
  }));
});

const targets = () => ({
  bus: { client: new EventBridgeClient({ region: 'us-east-1' }), name: 'bus' },
  deliveryQueue: { client: new SQSClient({ region: 'us-east-1' }), url: 'https://sqs/q.fifo' },
});

let seq = 0;
function record(userId: string, sequence: number, overrides: Partial<DynamoDBRecord> = {}): DynamoDBRecord {
  seq += 1;
  const body = JSON.stringify({ type: 'entitlements.changed', data: { userId, sequence } });
  return {
    eventName: 'MODIFY',
    dynamodb: {
      SequenceNumber: String(1000 + seq),
      NewImage: {
        pk: { S: `user#${userId}` },
        userId: { S: userId },
        sequence: { N: String(sequence) },
        eventId: { S: `evt-${userId}-${sequence}` },
        event: { S: body },
      },
    },
    ...overrides,
  };
}

const putDetails = () =>
  eventBridge
    .commandCalls(PutEventsCommand)
    .map((c) => (c.args[0].input.Entries ?? []).map((e) => JSON.parse(e.Detail as string).data.sequence));

describe('publishStreamBatch', () => {
  it('puts each event on the bus and the FIFO queue with the user as group and the event id as deduplication id', async () => {
    const result = await publishStreamBatch([record('ann', 1), record('ben', 1)], targets());
    expect(result.batchItemFailures).toEqual([]);
    const sent = sqs.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.Entries ?? [];
    expect(sent.map((e) => [e.MessageGroupId, e.MessageDeduplicationId])).toEqual([
      ['ann', 'evt-ann-1'],
      ['ben', 'evt-ben-1'],
    ]);
    const entry = eventBridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
    expect(entry).toMatchObject({
      EventBusName: 'bus',
      Source: 'iap-backend',
      DetailType: 'entitlements.changed',
    });
  });

  it('never puts two events of one user in one PutEvents call', async () => {
    await publishStreamBatch(
      [record('ann', 1), record('ben', 1), record('ann', 2), record('ann', 3)],
      targets(),
    );
    expect(putDetails()).toEqual([[1, 1], [2], [3]]);
  });

  it('skips a REMOVE (an erased user) and reports nothing for it', async () => {
    const removed = record('cat', 1, { eventName: 'REMOVE', dynamodb: { SequenceNumber: '1', Keys: {} } });
    const result = await publishStreamBatch([removed, record('dan', 1)], targets());
    expect(result.batchItemFailures).toEqual([]);
    expect(putDetails()).toEqual([[1]]);
  });

  it('stops at a record without an event to send and reports it, after handing on the ones before', async () => {
    const good = record('eli', 1);
    const broken = record('eli', 2);
    delete broken.dynamodb?.NewImage?.event;
    const after = record('fox', 1);
    const result = await publishStreamBatch([good, broken, after], targets());
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: broken.dynamodb?.SequenceNumber }]);
    expect(putDetails()).toEqual([[1]]);
  });

  it('when the queue refuses an entry, reports that record and sends nothing after it', async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input) => ({
      Successful: input.Entries.filter((e: { Id: string }) => e.Id !== '1').map((e: { Id: string }) => ({
        Id: e.Id,
        MessageId: 'm',
      })),
      Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }],
    }));
    const records = [record('gil', 1), record('hub', 1), record('ida', 1)];
    const result = await publishStreamBatch(records, targets());
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: records[1]?.dynamodb?.SequenceNumber }]);
  });

  it('keeps group and deduplication ids within what FIFO allows', () => {
    expect(fifoIdOf('auth0|12345')).toBe('auth0|12345');
    expect(fifoIdOf('ユーザー')).toMatch(/^sha256-[0-9a-f]{64}$/);
    expect(fifoIdOf('x'.repeat(129))).toMatch(/^sha256-/);
  });
});
