import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  newWebhookSecret,
  type OutboundPipeline,
  type Receiver,
  startOutboundPipeline,
  startReceiver,
} from '../support/outbound-events';

// Outbox items written to DynamoDB Local → its stream → the real publisher → the local bus and
// the FIFO queue in fauxqs → the real webhook function → a receiver on 127.0.0.1 that verifies
// with the standardwebhooks package and fails on cue.

const current = newWebhookSecret();
const previous = newWebhookSecret();
let receiver: Receiver;
let pipeline: OutboundPipeline;

beforeAll(async () => {
  receiver = await startReceiver();
  pipeline = await startOutboundPipeline({
    EVENTS_WEBHOOK_URL: receiver.url,
    // A rotation under way: both sign.
    EVENTS_WEBHOOK_SECRET: `${current} ${previous}`,
    EVENTS_WEBHOOK_TIMEOUT_SECONDS: '1',
    EVENTS_WEBHOOK_RETRY_BASE_SECONDS: '1',
    EVENTS_WEBHOOK_RETRY_MAX_SECONDS: '2',
  });
});

afterAll(async () => {
  await pipeline?.stop();
  await receiver?.stop();
});

describe('outbound webhooks through the local pipeline', () => {
  it('delivers every change in order per user, verifiable with either secret of a rotation, and puts it on the bus', async () => {
    const written = new Map<string, string>();
    for (let sequence = 1; sequence <= 3; sequence++) {
      for (const user of ['ada', 'bob']) {
        const { eventId } = await pipeline.change(user, sequence);
        written.set(`${user}:${sequence}`, eventId);
      }
    }
    await eventually(
      () => receiver.requests.filter((r) => r.answered === 'ok').length >= 6,
      'six deliveries',
    );

    for (const request of receiver.requests) {
      const headers = {
        'webhook-id': request.headers['webhook-id'] as string,
        'webhook-timestamp': request.headers['webhook-timestamp'] as string,
        'webhook-signature': request.headers['webhook-signature'] as string,
      };
      // The receiver's side: three lines with the package, whichever secret it holds.
      expect(new Webhook(current).verify(request.body, headers)).toEqual(JSON.parse(request.body));
      expect(new Webhook(previous).verify(request.body, headers)).toEqual(JSON.parse(request.body));
      expect(headers['webhook-id']).toBe(written.get(`${request.userId}:${request.sequence}`));
    }
    for (const user of ['ada', 'bob']) {
      expect(receiver.requests.filter((r) => r.userId === user).map((r) => r.sequence)).toEqual([1, 2, 3]);
      const onBus = pipeline.bus
        .after(0)
        .filter((e) => (e.detail as { data: { userId: string } }).data.userId === user);
      expect(onBus.map((e) => (e.detail as { data: { sequence: number } }).data.sequence)).toEqual([1, 2, 3]);
      expect(onBus.every((e) => e.source === 'iap-backend' && e.detailType === 'entitlements.changed')).toBe(
        true,
      );
    }
  });

  it('a receiver answering 5xx, timing out or dropping the connection after receiving gets every event again with the same webhook-id, in order, none lost', async () => {
    receiver.requests.length = 0;
    receiver.script('cyd', 1, ['500', '500']);
    receiver.script('cyd', 2, ['hang']);
    receiver.script('dee', 1, ['crash']);
    receiver.script('dee', 2, ['500', 'crash']);
    const ids = new Map<string, string>();
    for (let sequence = 1; sequence <= 3; sequence++) {
      for (const user of ['cyd', 'dee']) {
        const { eventId } = await pipeline.change(user, sequence);
        ids.set(`${user}:${sequence}`, eventId);
      }
    }
    const delivered = () =>
      new Set(receiver.requests.filter((r) => r.answered === 'ok').map((r) => `${r.userId}:${r.sequence}`));
    await eventually(() => delivered().size === 6, 'every event answered 2xx once');

    // Each attempt of one event carried that event's id.
    for (const request of receiver.requests)
      expect(request.headers['webhook-id']).toBe(ids.get(`${request.userId}:${request.sequence}`));
    const attempts = (user: string, sequence: number) =>
      receiver.requests.filter((r) => r.userId === user && r.sequence === sequence).map((r) => r.answered);
    expect(attempts('cyd', 1)).toEqual(['500', '500', 'ok']);
    expect(attempts('cyd', 2)).toEqual(['hang', 'ok']);
    // The crash came after the receiver had the event: it gets it again, a duplicate it can spot by id.
    expect(attempts('dee', 1)).toEqual(['crash', 'ok']);
    expect(attempts('dee', 2)).toEqual(['500', 'crash', 'ok']);
    // A user's later event never overtook an earlier one that was still being retried.
    for (const user of ['cyd', 'dee']) {
      const order = receiver.requests.filter((r) => r.userId === user).map((r) => r.sequence);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(new Set(order)).toEqual(new Set([1, 2, 3]));
    }
  });
});
