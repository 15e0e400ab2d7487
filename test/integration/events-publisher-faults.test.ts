import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  newWebhookSecret,
  type OutboundPipeline,
  type Receiver,
  startOutboundPipeline,
  startReceiver,
} from '../support/outbound-events';

// EventBridge failing as no local server would: the whole PutEvents call throws once, and one
// entry of a later call is refused while the others are taken. The publisher must hand nothing
// on past a failure, be retried from there, and lose nothing.

const eventBridge = mockClient(EventBridgeClient);
const accepted: { userId: string; sequence: number }[] = [];
let calls = 0;
let refused: string | undefined;
let receiver: Receiver;
let pipeline: OutboundPipeline;

const keyOf = (entry: PutEventsRequestEntry) => {
  const { data } = JSON.parse(entry.Detail as string) as { data: { userId: string; sequence: number } };
  return { userId: data.userId, sequence: data.sequence, key: `${data.userId}:${data.sequence}` };
};

beforeAll(async () => {
  eventBridge.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
    calls += 1;
    if (calls === 1)
      throw Object.assign(new Error('EventBridge is unavailable'), { name: 'ServiceUnavailable' });
    const entries = input.Entries.map((entry, i) => {
      const { userId, sequence, key } = keyOf(entry);
      if (key === 'eve:2' && refused === undefined) {
        refused = key;
        return { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' };
      }
      accepted.push({ userId, sequence });
      return { EventId: `evt-${calls}-${i}` };
    });
    return { FailedEntryCount: entries.filter((e) => 'ErrorCode' in e).length, Entries: entries };
  });
  receiver = await startReceiver();
  pipeline = await startOutboundPipeline({
    EVENTS_WEBHOOK_URL: receiver.url,
    EVENTS_WEBHOOK_SECRET: newWebhookSecret(),
    EVENTS_WEBHOOK_RETRY_BASE_SECONDS: '1',
    EVENTS_WEBHOOK_RETRY_MAX_SECONDS: '2',
  });
});

afterAll(async () => {
  await pipeline?.stop();
  await receiver?.stop();
  eventBridge.restore();
});

describe('the events publisher when EventBridge fails', () => {
  it('retries from the failed record, so every event reaches the bus and the receiver, in order per user', async () => {
    for (let sequence = 1; sequence <= 3; sequence++)
      for (const user of ['eve', 'fay']) await pipeline.change(user, sequence);
    const all = ['eve', 'fay'].flatMap((u) => [1, 2, 3].map((s) => `${u}:${s}`));
    await eventually(
      () => all.every((k) => accepted.some((a) => `${a.userId}:${a.sequence}` === k)),
      'every event accepted by the bus',
    );
    await eventually(
      () => new Set(receiver.requests.map((r) => `${r.userId}:${r.sequence}`)).size === all.length,
      'every event delivered',
    );
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(refused).toBe('eve:2');
    for (const user of ['eve', 'fay']) {
      // First arrival on the bus per event, in order: a refused entry holds back the user's later
      // events (another user's entry in the same call is taken, and may arrive twice).
      const firstSeen = [...new Set(accepted.filter((a) => a.userId === user).map((a) => a.sequence))];
      expect(firstSeen).toEqual([1, 2, 3]);
      // The webhook queue got each event once, in order: nothing after the failure was sent before it.
      expect(receiver.requests.filter((r) => r.userId === user).map((r) => r.sequence)).toEqual([1, 2, 3]);
    }
  });
});
