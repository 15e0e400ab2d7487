import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext } from '../../dev/fixtures/api-event';
import { appleReferenceEvent } from '../../dev/fixtures/reference-events';
import type { AttestoSandbox } from '../../dev/sandbox/server';
import type { SandboxWebhook } from '../../dev/sandbox/world-types';
import { purchaseFactsOf, purchaseKey } from '../../shared/domain/purchase';
import { applyInOrder, type PurchaseEvent } from '../../shared/domain/state-machine';
import { documentClient, tableName } from '../../shared/store/dynamo-client';
import { getPurchase } from '../../shared/store/purchases';
import { useLocalAws } from '../support/local-aws';
import { asDirectEnvelope, sqsEvent, startSandboxForConsumer } from './webhook-test-kit';

// Whatever order and however often the queue delivers a subscription's webhooks, the purchase
// ends exactly as if each had been applied once, in upstream order. Real Apple-shaped envelopes
// from the sandbox, the real consumer handler, DynamoDB Local.

type Handler = (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<SQSBatchResponse>;

interface Plan {
  renewals: number;
  cancel: 'none' | 'cancel' | 'cancel-uncancel';
  grace: boolean;
  expire: boolean;
  refund: boolean;
}

const planArb: fc.Arbitrary<Plan> = fc.record({
  renewals: fc.integer({ min: 0, max: 3 }),
  cancel: fc.constantFrom('none', 'cancel', 'cancel-uncancel'),
  grace: fc.boolean(),
  expire: fc.boolean(),
  refund: fc.boolean(),
});

/** Status and willRenew after the last step, by hand (not through the code under test). */
interface Expected {
  status: string;
  willRenew: boolean;
}

async function lifecycle(sandbox: AttestoSandbox, plan: Plan) {
  const webhooks: SandboxWebhook[] = [];
  const step = async (result: Promise<{ webhooks: SandboxWebhook[] }>) => {
    webhooks.push(...(await result).webhooks);
  };
  const bought = await sandbox.buy({ platform: 'apple', productId: 'premium_monthly', deliver: false });
  webhooks.push(...bought.webhooks);
  const ref = bought.purchase.id;
  const expected: Expected = { status: 'active', willRenew: true };
  for (let i = 0; i < plan.renewals; i++) await step(sandbox.act(ref, 'renew', { deliver: false }));
  if (plan.cancel !== 'none') {
    await step(sandbox.act(ref, 'cancel', { deliver: false }));
    expected.willRenew = false;
  }
  if (plan.cancel === 'cancel-uncancel') {
    await step(sandbox.act(ref, 'uncancel', { deliver: false }));
    expected.willRenew = true;
  }
  if (plan.grace && expected.willRenew) {
    await step(sandbox.act(ref, 'fail-billing', { grace: true, deliver: false }));
    expected.status = 'grace';
    if (!plan.expire) {
      await step(sandbox.act(ref, 'recover', { deliver: false }));
      expected.status = 'active';
    }
  }
  if (plan.expire) {
    await step(sandbox.act(ref, 'expire', { deliver: false }));
    Object.assign(expected, { status: 'expired', willRenew: false });
  }
  if (plan.refund) {
    await step(sandbox.act(ref, 'refund', { deliver: false }));
    Object.assign(expected, { status: 'refunded', willRenew: false });
  }
  return { webhooks, subjectKey: bought.purchase.subjectKey, expected };
}

/** The PurchaseEvent each webhook stands for; every one of a lifecycle changes the purchase. */
function referenceEvent(webhook: SandboxWebhook): PurchaseEvent {
  const event = appleReferenceEvent(webhook);
  if (!event) throw new Error(`${webhook.event} should change the purchase`);
  return event;
}

describe('webhook consumer: any delivery order with duplicates ends in the in-order state', () => {
  let sandbox: AttestoSandbox;
  let handler: Handler;

  beforeAll(async () => {
    await useLocalAws();
    sandbox = await startSandboxForConsumer();
    ({ handler } = (await import('../../functions/webhook-consumer/handler')) as { handler: Handler });
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('holds for 500 random histories (≤ 10 events), permutations and duplicates', async () => {
    const started = Date.now();
    let runs = 0;
    let deliveries = 0;
    const scenario = planArb.chain((plan) =>
      fc.record({
        plan: fc.constant(plan),
        // Sort keys give the permutation; duplicates are re-deliveries of random events, some
        // of them as the store's direct envelope of the same upstream event.
        order: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 10, maxLength: 10 }),
        duplicates: fc.array(
          fc.record({ of: fc.nat(9), at: fc.double({ min: 0, max: 1, noNaN: true }), direct: fc.boolean() }),
          { maxLength: 4 },
        ),
        batchSize: fc.integer({ min: 1, max: 10 }),
      }),
    );

    await fc.assert(
      fc.asyncProperty(scenario, async ({ plan, order, duplicates, batchSize }) => {
        runs += 1;
        const { webhooks, subjectKey, expected } = await lifecycle(sandbox, plan);
        expect(webhooks.length).toBeLessThanOrEqual(10);
        const keyed = webhooks.map((w, i) => ({ w, k: order[i] as number }));
        for (const d of duplicates) {
          const original = webhooks[d.of % webhooks.length] as SandboxWebhook;
          keyed.push({ w: d.direct ? asDirectEnvelope(original) : original, k: d.at });
        }
        const delivery = keyed.sort((a, b) => a.k - b.k).map((x) => x.w);
        deliveries += delivery.length;
        for (let i = 0; i < delivery.length; i += batchSize) {
          const result = await handler(
            sqsEvent(delivery.slice(i, i + batchSize)),
            lambdaContext('webhook-consumer'),
          );
          expect(result.batchItemFailures).toEqual([]);
        }

        const pk = purchaseKey('apple', subjectKey);
        const stored = await getPurchase(pk);
        const reference = applyInOrder(webhooks.map(referenceEvent), { pk, platform: 'apple', subjectKey });
        if (!stored || !reference) throw new Error('no purchase');
        expect(purchaseFactsOf(stored)).toEqual(purchaseFactsOf(reference));
        expect({ status: stored.status, willRenew: stored.willRenew }).toEqual(expected);

        // Every event was marked processed, under its upstream identity.
        const { Responses } = await documentClient().send(
          new BatchGetCommand({
            RequestItems: {
              [tableName('PROCESSED_EVENTS_TABLE')]: {
                Keys: webhooks.map((w) => ({ pk: `apple:${w.externalId}` })),
                ProjectionExpression: 'pk',
              },
            },
          }),
        );
        expect(Responses?.[tableName('PROCESSED_EVENTS_TABLE')]).toHaveLength(webhooks.length);
      }),
      { numRuns: 500 },
    );
    const ms = Date.now() - started;
    console.info(`order property: ${runs} runs, ${deliveries} deliveries in ${ms} ms`);
    expect(runs).toBeGreaterThanOrEqual(500);
  }, 120_000);
});
