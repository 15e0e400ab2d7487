import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiEvent, type lambdaContext } from '../../dev/fixtures/api-event';
import { type SqsPoller, startSqsPoller } from '../../dev/local/sqs-poller';
import type { AttestoSandbox } from '../../dev/sandbox/server';
import type { SandboxWebhook } from '../../dev/sandbox/world-types';
import { listDeadLetters, redriveDeadLetters } from '../../ops/dead-letter-queue';
import { signAttestoPayload } from '../../shared/attesto/webhook-signature';
import { purchaseKey } from '../../shared/domain/purchase';
import { documentClient } from '../../shared/store/dynamo-client';
import { getPurchase } from '../../shared/store/purchases';
import { getOrMintUuid } from '../../shared/store/user-ids';
import { useLocalAws } from '../support/local-aws';
import { createQueueWithDlq, localSqsClient } from '../support/queue-with-dlq';
import { readMarker, startSandboxForConsumer } from './webhook-test-kit';

// Faults on the way: DynamoDB throttles and 5xx on a share of calls (some after the write took
// effect, as when a response is lost), Attesto failing a share of verifies. Everything goes through
// the webhook function, a real queue with a 1 s visibility timeout and a DLQ after 5 receives, and
// the local runtime's SQS poller. In the end every event is applied exactly once, nothing is lost,
// and the one poison record waits in the DLQ until it is redriven.

type WebhookHandler = (event: ReturnType<typeof apiEvent>) => Promise<APIGatewayProxyStructuredResultV2>;
type ConsumerHandler = (
  event: SQSEvent,
  context: ReturnType<typeof lambdaContext>,
) => Promise<SQSBatchResponse>;

const FAULT_RATE = 0.25;
const POISON = 'this body is signed but it is not an Attesto envelope';

function seeded(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('webhook pipeline under faults (DynamoDB errors, Attesto 5xx, redelivery, DLQ)', () => {
  let sandbox: AttestoSandbox;
  let sqs: SQSClient;
  let queueUrl: string;
  let dlqUrl: string;
  let poller: SqsPoller | undefined;
  let webhookHandler: WebhookHandler;
  let consumer: ConsumerHandler;
  let faults = false;
  // The test's own reads go around the faults.
  const observer = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const random = seeded(20_260_521);
  const injected = { before: 0, after: 0 };
  /** Committed transactions per processed-events marker: exactly-once means 1 each. */
  const commits = new Map<string, number>();

  beforeAll(async () => {
    await useLocalAws();
    sandbox = await startSandboxForConsumer({ errorRate: 0.3, seed: 7 });
    sqs = localSqsClient(process.env.AWS_ENDPOINT_URL_SQS);
    ({ queueUrl, dlqUrl } = await createQueueWithDlq(sqs, {
      name: 'faults',
      visibilityTimeoutSeconds: 1,
      maxReceiveCount: 5,
    }));
    process.env.WEBHOOK_QUEUE_URL = queueUrl;

    documentClient().middlewareStack.add(
      (next, context) => async (args) => {
        const name = context.commandName as string;
        const roll = faults ? random() : 1;
        if (roll < FAULT_RATE / 3) {
          injected.before += 1;
          throw Object.assign(new Error('Rate exceeded (injected)'), {
            name: 'ThrottlingException',
            $metadata: { httpStatusCode: 400 },
          });
        }
        const output = await next(args);
        if (name === 'TransactWriteItemsCommand') {
          const input = args.input as { TransactItems: Array<{ Put?: { Item: Record<string, unknown> } }> };
          const pk = input.TransactItems[0]?.Put?.Item.pk as string | { S: string };
          const marker = typeof pk === 'string' ? pk : pk.S;
          commits.set(marker, (commits.get(marker) ?? 0) + 1);
        }
        // The first three committed transactions always lose their response, then a share of writes.
        const lose = faults && name === 'TransactWriteItemsCommand' && injected.after < 3;
        if (lose || (roll < FAULT_RATE && name !== 'GetItemCommand')) {
          // The write took effect, but the caller never hears so: it must not apply it twice.
          injected.after += 1;
          throw Object.assign(new Error('Internal server error (injected)'), {
            name: 'InternalServerError',
            $metadata: { httpStatusCode: 500 },
          });
        }
        return output;
      },
      { step: 'initialize', name: 'injectFaults' },
    );

    ({ handler: webhookHandler } = (await import('../../functions/attesto-webhook/handler')) as {
      handler: WebhookHandler;
    });
    ({ handler: consumer } = (await import('../../functions/webhook-consumer/handler')) as {
      handler: ConsumerHandler;
    });
  });

  afterAll(async () => {
    await poller?.stop();
    await sandbox?.stop();
    sqs?.destroy();
    observer.destroy();
  });

  async function post(raw: string): Promise<number> {
    const t = Math.floor(Date.now() / 1000);
    const res = await webhookHandler(
      apiEvent({
        path: '/attesto-webhook',
        sub: null,
        body: raw,
        headers: { 'x-attesto-signature': signAttestoPayload(raw, sandbox.webhookSecret, t) },
      }),
    );
    return res.statusCode as number;
  }

  it('applies every event exactly once and dead-letters only the poison record, which is then redriven', async () => {
    const started = Date.now();
    /** A subscription bought for `user` and taken through its lifecycle, its webhooks not yet delivered. */
    const lifecycle = async (
      platform: 'apple' | 'google',
      productId: string,
      user: string,
      lastAction: 'expire' | 'renew',
    ) => {
      const appUserId = await getOrMintUuid(user, randomUUID);
      const bought = await sandbox.buy({ platform, productId, appUserId, deliver: false });
      const hooks = [...bought.webhooks];
      for (const [action, options] of [
        ['renew', {}],
        ['cancel', {}],
        ['uncancel', {}],
        ['fail-billing', { grace: true }],
        ['recover', {}],
        [lastAction, {}],
      ] as const) {
        hooks.push(
          ...(await sandbox.act(bought.purchase.id, action, { ...options, deliver: false })).webhooks,
        );
      }
      return { purchase: bought.purchase, hooks };
    };
    // Apple: carol's subscription through its lifecycle.
    const { purchase: apple, hooks: appleHooks } = await lifecycle(
      'apple',
      'premium_monthly',
      'carol',
      'expire',
    );
    // Google: dave's subscription; each event makes the consumer re-read it through Attesto.
    const { purchase: google, hooks: googleHooks } = await lifecycle(
      'google',
      'premium_yearly',
      'dave',
      'renew',
    );
    const all: SandboxWebhook[] = [...appleHooks, ...googleHooks];

    // Every event twice (Attesto retried after a lost 200), interleaved, plus one poison record.
    const bodies = [...all, ...all].map((w) => JSON.stringify(w));
    bodies.splice(7, 0, POISON);
    for (const body of bodies) expect(await post(body)).toBe(200);

    faults = true;
    poller = startSqsPoller({
      sqs,
      queueUrl,
      handler: (event, context) => consumer(event, context),
      waitTimeSeconds: 1,
      maxBatchingWindowSeconds: 0,
      timeoutSeconds: 10,
    });

    const markers = all.map((w) => `${w.source}:${w.externalId}`);
    let redriven = 0;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const done = await Promise.all(markers.map((m) => readMarker(m, observer)));
      const letters = await listDeadLetters(sqs, dlqUrl);
      const poisonOnly = letters.length === 1 && letters[0]?.preview === POISON.slice(0, 120);
      if (done.every(Boolean) && poisonOnly) break;
      // A real event unlucky enough to fail five times in a row is not lost: it is redriven.
      if (letters.some((l) => l.preview !== POISON.slice(0, 120))) {
        redriven += (await redriveDeadLetters(sqs, { dlqUrl, queueUrl })).moved;
      }
      if (Date.now() > deadline)
        throw new Error(`not settled: ${done.filter((d) => !d).length} events missing`);
      await new Promise((r) => setTimeout(r, 500));
    }
    faults = false;
    await poller.stop();
    poller = undefined;
    console.info(
      `faults: ${all.length} events ×2 + 1 poison settled in ${Date.now() - started} ms; injected DynamoDB faults ${injected.before} before / ${injected.after} after the write; Attesto verifies ${JSON.stringify(sandbox.stats().byStatus)}; ${redriven} real events redriven`,
    );

    expect(injected.before).toBeGreaterThan(0);
    expect(injected.after).toBeGreaterThanOrEqual(3);
    expect(sandbox.stats().byStatus['502'] ?? 0).toBeGreaterThan(0);
    // Exactly once: one committed transaction per event, whatever was retried.
    for (const marker of markers) expect(commits.get(marker), marker).toBe(1);

    expect(await getPurchase(purchaseKey('apple', apple.subjectKey))).toMatchObject({
      userId: 'carol',
      status: 'expired',
      willRenew: false,
    });
    const googleNow = sandbox.purchases().find((p) => p.id === google.id);
    expect(await getPurchase(purchaseKey('google', google.subjectKey))).toMatchObject({
      userId: 'dave',
      status: 'active',
      willRenew: true,
      expiresAt: Date.parse(googleNow?.expiresAt as string),
    });

    // The poison record: in the DLQ after five receives, then redriven to the webhook queue.
    const [letter] = await listDeadLetters(sqs, dlqUrl);
    expect(letter?.receiveCount).toBeGreaterThanOrEqual(5);
    expect(await redriveDeadLetters(sqs, { dlqUrl, queueUrl })).toEqual({ moved: 1, failed: 0 });
    expect(await listDeadLetters(sqs, dlqUrl)).toEqual([]);
    const back = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1, MaxNumberOfMessages: 10 }),
    );
    expect(back.Messages?.map((m) => m.Body)).toEqual([POISON]);
  }, 90_000);
});
