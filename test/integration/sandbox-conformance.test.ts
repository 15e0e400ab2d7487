import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttestoSandbox, startAttestoSandbox } from '../../dev/sandbox/server';
import { startWebhookReceiver, type WebhookReceiver } from '../../dev/sandbox/webhook-receiver';
import { LIFECYCLE_ACTIONS, type LifecycleAction } from '../../dev/sandbox/world';
import type { PurchaseRecord } from '../../dev/sandbox/world-types';
import { decodeAppleRenewalInfo, decodeAppleTransaction } from '../../shared/attesto/apple-jws';
import { type AttestoClient, createAttestoClient } from '../../shared/attesto/client';
import { AttestoAuthError, AttestoUnavailableError } from '../../shared/attesto/errors';
import {
  appleNotificationDataSchema,
  attestoWebhookSchema,
  googleDeveloperNotificationSchema,
  isAttestoEvent,
} from '../../shared/attesto/schemas';
import { verifyAttestoSignature } from '../../shared/attesto/webhook-signature';

// The sandbox may only say what the real Attesto could say. Random lifecycles on both stores,
// every product kind and every action (refused ones included): after each step, every
// transaction and token of the purchases involved is verified through the backend's own Attesto
// client, which parses each answer with the wire schemas and throws on any mismatch; every
// webhook sent must pass verifyAttestoSignature and parse as the §3.4 envelope, Apple's
// notification with readable inner JWS, or Google's DeveloperNotification. Error answers
// (401, 429, 502) must reach the client as the envelope it classifies.

const API_KEY = 'attesto_test_conformance0000000000000000000000000000';
const SECRET = 'Zm9yLWNvbmZvcm1hbmNlLW9ubHktMDEyMzQ1Njc4OWFiY2Q=';
const PACKAGE = 'com.example.app';
const PRODUCTS = ['premium_monthly', 'premium_yearly', 'remove_ads', 'coins_100'] as const;
const USERS = [null, '0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a', '1a2b3c4d-5e6f-4a0b-9c8d-7e6f5a4b3c2d'];

let sandbox: AttestoSandbox;
let receiver: WebhookReceiver;
let client: AttestoClient;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  sandbox = await startAttestoSandbox({
    apiKey: API_KEY,
    webhookSecret: SECRET,
    webhookUrl: receiver.url,
    packageName: PACKAGE,
    bundleId: 'com.example.app',
    seed: 2024,
  });
  client = createAttestoClient({ baseUrl: sandbox.url, apiKey: async () => API_KEY });
});

afterAll(async () => {
  await sandbox?.stop();
  await receiver?.stop();
});

/** Verifies everything the app could send for a purchase; the client throws on any off-contract answer. */
async function verifyAllOf(record: PurchaseRecord): Promise<number> {
  if (record.platform === 'apple') {
    for (const t of record.transactions) {
      const answer = await client.verifyApple({ transactionId: t.transactionId });
      expect(answer.valid).toBe(true);
      if (answer.valid) expect(answer.transaction.originalTransactionId).toBe(record.originalTransactionId);
    }
    return record.transactions.length;
  }
  const type = record.productType === 'subscription' ? 'subscription' : 'product';
  const request = { packageName: PACKAGE, productId: record.productId, purchaseToken: record.purchaseToken };
  const answer = await client.verifyGoogle({ ...request, type });
  expect(answer.valid).toBe(true);
  // Asked on the other endpoint, Google does not know the token: a rejection in Attesto's shape.
  const other = await client.verifyGoogle({
    ...request,
    type: type === 'subscription' ? 'product' : 'subscription',
  });
  expect(other).toMatchObject({ valid: false, error: 'PURCHASE_NOT_FOUND' });
  return 2;
}

/** Checks each delivery as the backend's webhook function and consumer would read it. */
function acceptDeliveries(from: number): number {
  const deliveries = receiver.received.slice(from);
  for (const delivery of deliveries) {
    const header = delivery.headers['x-attesto-signature'];
    expect(
      verifyAttestoSignature({
        rawBody: delivery.rawBody,
        header: typeof header === 'string' ? header : undefined,
        secrets: [SECRET],
        nowSeconds: delivery.receivedAtSeconds,
      }),
    ).toBe(true);
    // Another secret must not verify it: the signature really covers these bytes with this key.
    expect(
      verifyAttestoSignature({
        rawBody: delivery.rawBody,
        header: typeof header === 'string' ? header : undefined,
        secrets: ['another-secret-of-44-characters-0123456789ab'],
        nowSeconds: delivery.receivedAtSeconds,
      }),
    ).toBe(false);
    const webhook = attestoWebhookSchema.parse(JSON.parse(delivery.rawBody));
    expect(isAttestoEvent(webhook.event), webhook.event).toBe(true);
    expect(delivery.headers['x-attesto-event-id']).toBe(webhook.eventId);
    if (webhook.source === 'apple') {
      const notification = appleNotificationDataSchema.parse(webhook.data);
      const inner = notification.data;
      expect(inner?.signedTransactionInfo).toBeTypeOf('string');
      const transaction = decodeAppleTransaction(inner?.signedTransactionInfo ?? '');
      expect(webhook.subject?.key).toBe(transaction.originalTransactionId);
      if (inner?.signedRenewalInfo) decodeAppleRenewalInfo(inner.signedRenewalInfo);
    } else {
      const notification = googleDeveloperNotificationSchema.parse(webhook.data);
      expect(notification.packageName).toBe(PACKAGE);
    }
  }
  return deliveries.length;
}

type Step =
  | { kind: 'buy'; platform: 'apple' | 'google'; product: number; user: number }
  | { kind: 'act'; target: number; action: LifecycleAction; option: number };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('buy' as const),
    platform: fc.constantFrom('apple' as const, 'google' as const),
    product: fc.nat(PRODUCTS.length - 1),
    user: fc.nat(USERS.length - 1),
  }),
  fc.record({
    kind: fc.constant('act' as const),
    target: fc.nat(20),
    action: fc.constantFrom(...LIFECYCLE_ACTIONS),
    option: fc.nat(3),
  }),
  fc.record({
    kind: fc.constant('act' as const),
    target: fc.nat(20),
    action: fc.constantFrom('renew' as const, 'cancel' as const, 'expire' as const, 'refund' as const),
    option: fc.nat(3),
  }),
);

describe('sandbox conformance', () => {
  it('answers verify within the client schemas and signs every webhook, over random lifecycles', async () => {
    const totals = { steps: 0, refused: 0, verifies: 0, webhooks: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(stepArbitrary, { minLength: 1, maxLength: 16 }), async (steps) => {
        const ours: string[] = [];
        for (const step of steps) {
          totals.steps += 1;
          const seen = receiver.received.length;
          let touched: PurchaseRecord[] = [];
          try {
            if (step.kind === 'buy' || ours.length === 0) {
              const buy = step.kind === 'buy' ? step : { platform: 'apple' as const, product: 0, user: 1 };
              const result = await sandbox.buy({
                platform: buy.platform,
                productId: PRODUCTS[buy.product] ?? 'premium_monthly',
                appUserId: USERS[buy.user] ?? null,
              });
              ours.push(result.purchase.id);
              touched = [result.purchase.record];
            } else {
              const id = ours[step.target % ours.length] ?? '';
              const before = sandbox.controller.purchase(id).record;
              const transaction =
                step.action === 'refund' && before.platform === 'apple' && step.option === 0
                  ? before.transactions[0]?.transactionId
                  : undefined;
              const result = await sandbox.act(id, step.action, {
                grace: step.option % 2 === 0,
                newProductId: step.option < 2 ? 'premium_yearly' : 'premium_monthly',
                appUserId: USERS[step.option % USERS.length] ?? null,
                ...(transaction ? { transactionId: transaction } : {}),
              });
              if (result.created) ours.push(result.created.id);
              touched = [result.purchase.record, ...(result.created ? [result.created.record] : [])];
              expect(result.deliveries.every((d) => d.delivered)).toBe(true);
            }
          } catch (error) {
            // A store event that cannot happen in this state is refused, and nothing is sent.
            expect((error as { code?: string }).code).toMatch(/^(INVALID_STATE|UNSUPPORTED|INVALID_INPUT)$/);
            expect(receiver.received.length).toBe(seen);
            totals.refused += 1;
            continue;
          }
          totals.webhooks += acceptDeliveries(seen);
          for (const record of touched) totals.verifies += await verifyAllOf(record);
        }
      }),
      { numRuns: 100 },
    );
    console.info(
      `sandbox conformance: ${totals.steps} steps (${totals.refused} refused), ${totals.verifies} verify answers, ${totals.webhooks} webhooks`,
    );
    expect(totals.webhooks).toBeGreaterThan(50);
    expect(totals.verifies).toBeGreaterThan(100);
  }, 60_000);

  it('answers unknown purchases with the rejection shape the client returns', async () => {
    expect(await client.verifyApple({ transactionId: '2000000000000001' })).toMatchObject({
      valid: false,
      error: 'TRANSACTION_NOT_FOUND',
    });
    expect(
      await client.verifyGoogle({
        packageName: 'com.other.app',
        productId: 'premium_monthly',
        purchaseToken: 'x',
        type: 'subscription',
      }),
    ).toMatchObject({ valid: false, error: 'PACKAGE_NAME_MISMATCH' });
  });

  it('sends error envelopes the client classifies by their code: 401, 429 with Retry-After, 502', async () => {
    const { purchase } = await sandbox.buy({
      platform: 'apple',
      productId: 'premium_monthly',
      deliver: false,
    });
    const request = { transactionId: purchase.token };
    const quick = createAttestoClient({
      baseUrl: sandbox.url,
      apiKey: async () => API_KEY,
      timeBudgetMs: 2_000,
      sleep: async () => {},
    });
    const wrongKey = createAttestoClient({ baseUrl: sandbox.url, apiKey: async () => 'attesto_test_wrong' });

    const auth = await wrongKey.verifyApple(request).catch((e: unknown) => e);
    expect(auth).toBeInstanceOf(AttestoAuthError);
    expect((auth as AttestoAuthError).context).toMatchObject({ status: 401, attestoCode: 'UNAUTHENTICATED' });

    sandbox.setKnobs({ burst429: 2, retryAfterSeconds: 7 });
    const limited = await quick.verifyApple(request).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(AttestoUnavailableError);
    expect((limited as AttestoUnavailableError).context).toMatchObject({
      status: 429,
      attestoCode: 'RATE_LIMITED',
    });

    sandbox.setKnobs({ burst429: 0, errorRate: 1 });
    try {
      for (const call of [
        () => quick.verifyApple(request),
        () =>
          quick.verifyGoogle({
            packageName: PACKAGE,
            productId: 'premium_monthly',
            purchaseToken: 't',
            type: 'subscription',
          }),
      ]) {
        const failed = await call().catch((e: unknown) => e);
        expect(failed).toBeInstanceOf(AttestoUnavailableError);
        expect((failed as AttestoUnavailableError).context.status).toBe(502);
        expect((failed as AttestoUnavailableError).context.attestoCode).toMatch(/^(APPLE|GOOGLE)_API_ERROR$/);
      }
    } finally {
      sandbox.setKnobs({ errorRate: 0 });
    }
    expect((await client.verifyApple(request)).valid).toBe(true);
  });
});
