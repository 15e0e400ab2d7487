import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext } from '../../dev/fixtures/api-event';
import type { AttestoSandbox } from '../../dev/sandbox/server';
import type { SandboxWebhook } from '../../dev/sandbox/world-types';
import { purchaseKey } from '../../shared/domain/purchase';
import { restorePurchases } from '../../shared/purchases/restore';
import { verifyGooglePurchase } from '../../shared/purchases/verify-google';
import { getPurchase } from '../../shared/store/purchases';
import { useLocalAws } from '../support/local-aws';
import { APP_ID, asDirectEnvelope, sqsEvent, startSandboxForConsumer } from './webhook-test-kit';

// A Google upgrade chain (2–3 tokens): whatever order and however often the notifications of
// every token arrive — including the replaced tokens' SUBSCRIPTION_EXPIRED and CANCELED, which
// Attesto delivers under the chain's root — and whichever tokens are verified or restored in
// between, the purchase ends with the live token's product, expiry and status, and verify and
// restore grant the live plan. The sandbox stands in for Google and Attesto; the real consumer,
// verify and restore write to DynamoDB Local.

type Handler = (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<SQSBatchResponse>;

interface Plan {
  upgrades: number;
  /** Renewals of each token before it is replaced (the last entry: of the live token). */
  renewals: number[];
  end: 'none' | 'cancel' | 'expire';
}

const planArb: fc.Arbitrary<Plan> = fc.record({
  upgrades: fc.integer({ min: 1, max: 2 }),
  renewals: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 3, maxLength: 3 }),
  end: fc.constantFrom('none', 'cancel', 'expire'),
});

const PRODUCTS = ['premium_monthly', 'premium_yearly'] as const;

interface Token {
  id: string;
  token: string;
  productId: string;
}

/** Google's SUBSCRIPTION_CANCELED for a replaced token, as Attesto delivers it (root subject.key). */
function canceledFrom(expired: SandboxWebhook, n: number): SandboxWebhook {
  const data = structuredClone(expired.data) as { subscriptionNotification: Record<string, unknown> };
  data.subscriptionNotification.notificationType = 3;
  return {
    ...expired,
    event: 'subscription.cancellation_scheduled',
    platformEvent: 'google.subscription.3',
    eventId: `${expired.eventId}c${n}`,
    externalId: `${expired.externalId}-canceled`,
    data,
  };
}

async function chain(sandbox: AttestoSandbox, plan: Plan) {
  const webhooks: SandboxWebhook[] = [];
  const bought = await sandbox.buy({ platform: 'google', productId: PRODUCTS[0], deliver: false });
  webhooks.push(...bought.webhooks);
  const tokens: Token[] = [
    { id: bought.purchase.id, token: bought.purchase.token, productId: bought.purchase.productId },
  ];
  for (let i = 0; i <= plan.upgrades; i++) {
    const live = tokens.at(-1) as Token;
    for (let r = 0; r < (plan.renewals[i] ?? 0); r++) {
      webhooks.push(...(await sandbox.act(live.id, 'renew', { deliver: false })).webhooks);
    }
    if (i === plan.upgrades) break;
    const upgraded = await sandbox.act(live.id, 'upgrade', {
      newProductId: PRODUCTS[(i + 1) % 2],
      deliver: false,
    });
    const created = upgraded.created;
    if (!created) throw new Error('an upgrade creates a token');
    webhooks.push(...upgraded.webhooks);
    const replacedExpired = upgraded.webhooks.find(
      (w) => (w.data.subscriptionNotification as { purchaseToken?: string }).purchaseToken === live.token,
    );
    if (!replacedExpired) throw new Error('the sandbox tells of the replaced token');
    webhooks.push(canceledFrom(replacedExpired, i));
    tokens.push({ id: created.id, token: created.token, productId: created.productId });
  }
  const live = tokens.at(-1) as Token;
  if (plan.end !== 'none') {
    webhooks.push(...(await sandbox.act(live.id, plan.end, { deliver: false })).webhooks);
  }
  // Ground truth from the store's own record of the live token, not from the code under test.
  const record = sandbox.controller.purchase(live.id).record;
  if (record.platform !== 'google') throw new Error('a Google purchase');
  const expected = {
    productId: live.productId,
    expiresAt: record.expiryTime,
    status: plan.end === 'expire' ? 'expired' : 'active',
    willRenew: plan.end === 'none',
  };
  return { webhooks, tokens, root: bought.purchase.subjectKey, expected };
}

const restoreEntry = (t: Token) => ({ platform: 'google', productId: t.productId, purchaseToken: t.token });

describe('Google upgrade chains: superseded tokens never change the live plan', () => {
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

  it.each([
    ['after the first token was seen', true],
    ['before anything was seen', false],
  ])(
    'a verify of the newest of three tokens, the middle one never seen, joins the chain’s purchase %s',
    async (_, firstSeen) => {
      const plan: Plan = { upgrades: 2, renewals: [0, 0, 0], end: 'none' };
      const { webhooks, tokens, root, expected } = await chain(sandbox, plan);
      const consume = async (batch: SandboxWebhook[]) =>
        expect((await handler(sqsEvent(batch), lambdaContext('webhook-consumer'))).batchItemFailures).toEqual(
          [],
        );
      if (firstSeen) await consume([webhooks[0] as SandboxWebhook]);
      const [first, middle, live] = tokens as [Token, Token, Token];
      const answer = await verifyGooglePurchase(`chain-user-${first.token.slice(-8)}`, {
        productId: live.productId,
        purchaseToken: live.token,
        packageName: APP_ID,
        type: undefined,
      });
      expect(answer.valid).toBe(true);
      expect(await getPurchase(purchaseKey('google', middle.token))).toBeUndefined();
      expect(await getPurchase(purchaseKey('google', root))).toMatchObject({ productId: live.productId });
      // Then every notification, each also straight from the store (the same event twice).
      for (const webhook of webhooks) await consume([asDirectEnvelope(webhook), webhook]);
      const stored = await getPurchase(purchaseKey('google', root));
      expect({
        productId: stored?.productId,
        expiresAt: stored?.expiresAt,
        status: stored?.status,
        willRenew: stored?.willRenew,
      }).toEqual(expected);
      expect(await getPurchase(purchaseKey('google', middle.token))).toBeUndefined();
    },
  );

  it('holds for random chains, delivery orders, duplicates, verifies and restores of old and new tokens', async () => {
    let runs = 0;
    const scenario = planArb.chain((plan) =>
      fc.record({
        plan: fc.constant(plan),
        // Sort keys give the permutation of every notification and of one verify per token.
        order: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 24, maxLength: 24 }),
        duplicates: fc.array(
          fc.record({ of: fc.nat(30), at: fc.double({ min: 0, max: 1, noNaN: true }), direct: fc.boolean() }),
          { maxLength: 5 },
        ),
        batchSize: fc.integer({ min: 1, max: 4 }),
      }),
    );

    await fc.assert(
      fc.asyncProperty(scenario, async ({ plan, order, duplicates, batchSize }) => {
        runs += 1;
        const userId = `upgrade-user-${runs}`;
        const { webhooks, tokens, root, expected } = await chain(sandbox, plan);
        type Step = { webhook: SandboxWebhook } | { verify: Token } | { restore: Token[] };
        const steps: Step[] = [
          ...webhooks.map((webhook) => ({ webhook })),
          ...tokens.map((verify) => ({ verify })),
          { restore: tokens },
        ];
        expect(steps.length).toBeLessThanOrEqual(order.length);
        const keyed = steps.map((s, i) => ({ s, k: order[i] as number }));
        for (const d of duplicates) {
          const original = webhooks[d.of % webhooks.length] as SandboxWebhook;
          keyed.push({ s: { webhook: d.direct ? asDirectEnvelope(original) : original }, k: d.at });
        }
        const delivery = keyed.sort((a, b) => a.k - b.k).map((x) => x.s);

        let batch: SandboxWebhook[] = [];
        const flush = async () => {
          if (batch.length === 0) return;
          const result = await handler(sqsEvent(batch), lambdaContext('webhook-consumer'));
          expect(result.batchItemFailures).toEqual([]);
          batch = [];
        };
        for (const step of delivery) {
          if ('webhook' in step) {
            batch.push(step.webhook);
            if (batch.length >= batchSize) await flush();
            continue;
          }
          await flush();
          if ('restore' in step) {
            await restorePurchases(userId, step.restore.map(restoreEntry));
            continue;
          }
          const answer = await verifyGooglePurchase(userId, {
            productId: step.verify.productId,
            purchaseToken: step.verify.token,
            packageName: APP_ID,
            type: undefined,
          });
          expect(answer.valid).toBe(true);
        }
        await flush();

        const stored = await getPurchase(purchaseKey('google', root));
        expect({
          productId: stored?.productId,
          expiresAt: stored?.expiresAt,
          status: stored?.status,
          willRenew: stored?.willRenew,
        }).toEqual(expected);

        // The user sees the live plan whichever token the app verifies last.
        const live = tokens.at(-1) as Token;
        const answer = await verifyGooglePurchase(userId, {
          productId: live.productId,
          purchaseToken: live.token,
          packageName: APP_ID,
          type: undefined,
        });
        if (!answer.valid) throw new Error(answer.message);
        const granted = answer.entitlements.map((e) => e.productId);
        expect(granted).toEqual(expected.status === 'active' ? [expected.productId] : []);
        // …and whichever tokens a restore sends, old ones first.
        const restored = await restorePurchases(userId, tokens.map(restoreEntry));
        expect(restored.entitlements.map((e) => e.productId)).toEqual(granted);
      }),
      { numRuns: 40 },
    );
    expect(runs).toBeGreaterThanOrEqual(40);
  }, 240_000);
});
