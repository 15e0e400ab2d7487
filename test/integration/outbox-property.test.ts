import { randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext } from '../../dev/fixtures/api-event';
import { type AttestoSandbox, startAttestoSandbox } from '../../dev/sandbox/server';
import type { SandboxWebhook } from '../../dev/sandbox/world-types';
import { resetConfigCache } from '../../shared/config';
import { eventIdOf } from '../../shared/domain/entitlement-events';
import type { Entitlement } from '../../shared/domain/entitlements';
import { restorePurchases } from '../../shared/purchases/restore';
import { userEntitlements } from '../../shared/purchases/user-entitlements';
import { verifyApplePurchase } from '../../shared/purchases/verify-apple';
import { putGrant, revokeGrant } from '../../shared/store/grants';
import { getOrMintUuid } from '../../shared/store/user-ids';
import { useLocalAws } from '../support/local-aws';
import { type OutboxVersion, outboxVersions } from '../support/outbox-stream';
import { APP_ID, sqsEvent } from './webhook-test-kit';

// Random histories through the real services (verify, restore, the webhook consumer, grants)
// against DynamoDB Local and the Attesto sandbox. After every step, per user: the outbox
// table's stream holds sequences 1..n without gaps or repeats, each event's `previous` is the
// event before's set, the newest event's set is what GET /entitlements answers, and a step that
// leaves the set as it was adds no event.

type Handler = (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<SQSBatchResponse>;

const PRODUCTS = [
  { productId: 'premium_monthly', type: 'subscription' },
  { productId: 'premium_yearly', type: 'subscription' },
  { productId: 'remove_ads', type: 'product' },
] as const;
const ACTIONS = ['renew', 'cancel', 'expire', 'refund', 'fail-billing', 'recover'] as const;

type Step =
  | { op: 'buy'; product: number; appUser: number | null }
  | { op: 'verify'; user: number; purchase: number }
  | { op: 'restore'; user: number; purchases: number[] }
  | { op: 'act'; purchase: number; action: (typeof ACTIONS)[number] }
  | { op: 'deliver'; picks: number[] }
  | { op: 'grant'; user: number; key: 'premium' | 'no_ads'; forever: boolean }
  | { op: 'revoke'; user: number; key: 'premium' | 'no_ads' };

const USERS = 2;
const index = fc.nat({ max: 7 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('buy' as const),
      product: fc.nat({ max: 2 }),
      appUser: fc.option(fc.nat({ max: USERS - 1 }), { nil: null }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('verify' as const),
      user: fc.nat({ max: USERS - 1 }),
      purchase: index,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('restore' as const),
      user: fc.nat({ max: USERS - 1 }),
      purchases: fc.array(index, { maxLength: 4 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('act' as const),
      purchase: index,
      action: fc.constantFrom(...ACTIONS),
    }),
  },
  // Picks from the pool of webhooks so far: shuffled, some twice, old ones again.
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('deliver' as const),
      picks: fc.array(fc.nat({ max: 30 }), { minLength: 1, maxLength: 6 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('grant' as const),
      user: fc.nat({ max: USERS - 1 }),
      key: fc.constantFrom('premium' as const, 'no_ads' as const),
      forever: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('revoke' as const),
      user: fc.nat({ max: USERS - 1 }),
      key: fc.constantFrom('premium' as const, 'no_ads' as const),
    }),
  },
);

let sandbox: AttestoSandbox;
let handler: Handler;

beforeAll(async () => {
  await useLocalAws();
  sandbox = await startAttestoSandbox({
    apiKey: 'attesto_test_outbox',
    webhookSecret: 'webhook-secret-for-outbox-0123456789abcdef',
    packageName: APP_ID,
    bundleId: APP_ID,
    // Real-length subscriptions: nothing lapses while a history runs.
    timeScale: 'real',
  });
  Object.assign(process.env, {
    ATTESTO_URL: sandbox.url,
    ATTESTO_API_KEY: sandbox.apiKey,
    ATTESTO_WEBHOOK_SECRET: sandbox.webhookSecret,
    GOOGLE_PACKAGE_NAME: APP_ID,
    APPLE_BUNDLE_ID: APP_ID,
  });
  resetConfigCache();
  ({ handler } = (await import('../../functions/webhook-consumer/handler')) as { handler: Handler });
});
afterAll(async () => {
  await sandbox?.stop();
});

/** Checks one user's whole event stream so far; returns how many events it holds. */
function checkStream(userId: string, events: OutboxVersion[], now: Entitlement[]): void {
  expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
  events.forEach((e, i) => {
    expect(e.eventId).toBe(eventIdOf(userId, e.sequence));
    expect(e.event.type).toBe('entitlements.changed');
    expect(e.event.data.sequence).toBe(e.sequence);
    expect(e.event.data.userId).toBe(userId);
    expect(e.event.data.previous).toEqual(i === 0 ? [] : events[i - 1]?.event.data.entitlements);
    // An event is only ever a change.
    expect(e.event.data.entitlements).not.toEqual(e.event.data.previous);
  });
  expect(events.at(-1)?.event.data.entitlements ?? []).toEqual(now);
}

describe('the outbox over random histories', () => {
  it('per user: sequences 1..n, each event a change, the newest equal to GET /entitlements, nothing for a no-op', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 4, maxLength: 14 }), async (random) => {
        // Two subscriptions of one key for the first user, so that many changes leave the set
        // as it was (the longer one decides) and must add no event.
        const steps: Step[] = [
          { op: 'buy', product: 0, appUser: 0 },
          { op: 'buy', product: 1, appUser: 0 },
          ...random,
        ];
        const users = Array.from({ length: USERS }, () => `prop-${randomUUID()}`);
        const uuids = await Promise.all(users.map((u) => getOrMintUuid(u, randomUUID)));
        const bought: { id: string; token: string; product: (typeof PRODUCTS)[number] }[] = [];
        const pool: SandboxWebhook[] = [];
        const seen = new Map<string, number>(users.map((u) => [u, 0]));
        let sets = await Promise.all(users.map((u) => userEntitlements(u)));

        for (const step of steps) {
          const purchase = (i: number) => bought[i % Math.max(bought.length, 1)];
          switch (step.op) {
            case 'buy': {
              const product = PRODUCTS[step.product] as (typeof PRODUCTS)[number];
              const result = await sandbox.buy({
                platform: 'apple',
                productId: product.productId,
                ...(step.appUser === null ? {} : { appUserId: uuids[step.appUser] }),
                deliver: false,
              });
              bought.push({ id: result.purchase.id, token: result.purchase.token, product });
              pool.push(...result.webhooks);
              break;
            }
            case 'verify': {
              const p = purchase(step.purchase);
              if (!p) break;
              await verifyApplePurchase(users[step.user] as string, {
                productId: p.product.productId,
                transactionId: p.token,
                type: p.product.type,
              });
              break;
            }
            case 'restore': {
              const entries = step.purchases.flatMap((i) => {
                const p = purchase(i);
                return p
                  ? [{ platform: 'apple', productId: p.product.productId, transactionId: p.token }]
                  : [];
              });
              await restorePurchases(users[step.user] as string, entries).catch(() => undefined);
              break;
            }
            case 'act': {
              const p = purchase(step.purchase);
              if (p?.product.type !== 'subscription') break;
              const result = await sandbox.act(p.id, step.action, { deliver: false }).catch(() => undefined);
              if (result) pool.push(...result.webhooks);
              break;
            }
            case 'deliver': {
              if (pool.length === 0) break;
              const batch = step.picks.map((i) => pool[i % pool.length] as SandboxWebhook);
              const { batchItemFailures } = await handler(sqsEvent(batch), lambdaContext('webhook-consumer'));
              expect(batchItemFailures).toEqual([]);
              break;
            }
            case 'grant':
              await putGrant(
                {
                  userId: users[step.user] as string,
                  key: step.key,
                  expiresAt: step.forever ? null : Date.now() + 86_400_000,
                  reason: 'property',
                  operator: 'test',
                },
                new Date(),
              );
              break;
            case 'revoke':
              await revokeGrant(
                { userId: users[step.user] as string, key: step.key, operator: 'test' },
                new Date(),
              );
              break;
          }

          const after = await Promise.all(users.map((u) => userEntitlements(u)));
          const versions = await outboxVersions();
          users.forEach((user, u) => {
            const events = versions.filter((v) => v.userId === user);
            checkStream(user, events, after[u] as Entitlement[]);
            const added = events.length - (seen.get(user) ?? 0);
            if (JSON.stringify(after[u]) === JSON.stringify(sets[u])) expect(added).toBe(0);
            else expect(added).toBeGreaterThanOrEqual(1);
            seen.set(user, events.length);
          });
          sets = after;
        }
      }),
      { numRuns: 8 },
    );
  }, 600_000);
});
