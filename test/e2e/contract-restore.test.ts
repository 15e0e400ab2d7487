import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxProductsFromCatalog } from '../../dev/sandbox/catalog-products';
import type { PurchaseView } from '../../dev/sandbox/purchase-view';
import { documentClient } from '../../shared/store/dynamo-client';
import { type ContractApi, startContractApi } from '../support/contract-api';
import { assertEntitlementSet, sdkRestoreResponseSchema, sdkVerifyOkSchema } from '../support/sdk-schemas';

// POST restore as the SDK sends it, through the local HTTP API against the Attesto sandbox with
// 150 ms of latency per verify, the way a real iOS history looks: every renewal of every
// subscription, plus one-time purchases.

const LATENCY_MS = 150;
let api: ContractApi;

beforeAll(async () => {
  api = await startContractApi({
    sandbox: {
      latencyMs: LATENCY_MS,
      // Two subscriptions the catalog does not know: they grant nothing, so restore skips them
      // without asking Attesto.
      products: [
        ...sandboxProductsFromCatalog(),
        { productId: 'extra_monthly', type: 'subscription' },
        { productId: 'extra_weekly', type: 'subscription' },
      ],
    },
  });
});
afterAll(async () => {
  await api?.stop();
});

let users = 0;
const newUser = (name: string) => `${name}-${++users}-${Date.now()}`;

type AppleRecord = { originalTransactionId: string; transactions: { transactionId: string }[] };

let nextId = BigInt(Date.now()) * 10_000n;
/**
 * Apple's transaction ids grow with time (a renewal's id is higher than the one it renews); the
 * sandbox draws them at random. Renumber a purchase's transactions in the order they happened,
 * in the sandbox's own world, so its verify answers speak of the renumbered ids.
 */
function renumberAppleIds(purchaseId: string): void {
  const record = api.sandbox.controller.world.get(purchaseId) as unknown as AppleRecord;
  for (const t of record.transactions) t.transactionId = String(nextId++);
  record.originalTransactionId = record.transactions[0]?.transactionId as string;
}

/** 4 subscriptions × 12 transactions (a purchase and 11 renewals) + 2 one-time purchases = 50. */
async function iosHistory() {
  const subscriptions: PurchaseView[] = [];
  for (const productId of ['premium_monthly', 'premium_yearly', 'extra_monthly', 'extra_weekly']) {
    const bought = (await api.sandbox.buy({ platform: 'apple', productId })).purchase;
    for (let i = 0; i < 11; i++) await api.sandbox.act(bought.id, 'renew');
    renumberAppleIds(bought.id);
    subscriptions.push(api.sandbox.controller.purchase(bought.id));
  }
  const adsBought = (await api.sandbox.buy({ platform: 'apple', productId: 'remove_ads' })).purchase;
  const coinsBought = (await api.sandbox.buy({ platform: 'apple', productId: 'coins_100' })).purchase;
  renumberAppleIds(adsBought.id);
  renumberAppleIds(coinsBought.id);
  const ads = api.sandbox.controller.purchase(adsBought.id);
  const coins = api.sandbox.controller.purchase(coinsBought.id);
  const entries = [
    ...subscriptions.flatMap((s) =>
      (s.record as unknown as AppleRecord).transactions.map((t) => ({
        platform: 'apple',
        productId: s.productId,
        transactionId: t.transactionId,
      })),
    ),
    { platform: 'apple', productId: 'remove_ads', transactionId: ads.token },
    { platform: 'apple', productId: 'coins_100', transactionId: coins.token },
  ];
  // The device lists them in no particular order.
  entries.sort((a, b) => (a.transactionId.slice(-3) < b.transactionId.slice(-3) ? -1 : 1));
  return { subscriptions, ads, coins, entries };
}

describe('restore', () => {
  it('restores a 50-transaction iOS history with one Attesto call per product', async () => {
    const user = newUser('history');
    const { subscriptions, coins, entries } = await iosHistory();
    expect(entries).toHaveLength(50);
    // Load the function first (its cold start is not what this measures).
    await api.call('POST', '/api/iap/restore', { user, body: { transactions: [] } });
    api.sandbox.resetStats();

    const res = await api.call('POST', '/api/iap/restore', { user, body: { transactions: entries } });
    const calls = api.sandbox.stats().verify.total;

    expect(res.status).toBe(200);
    const body = sdkRestoreResponseSchema.parse(res.json);
    if (!body.valid) throw new Error(`restore rejected: ${body.error}`);
    assertEntitlementSet(body.entitlements);
    const yearly = subscriptions.find((s) => s.productId === 'premium_yearly');
    expect(body.entitlements.map((e) => [e.key, e.productId, e.expiresAt])).toEqual([
      ['no_ads', 'remove_ads', null],
      ['premium', 'premium_yearly', yearly?.expiresAt],
    ]);
    expect(calls).toBeLessThanOrEqual(10);
    // The newest transaction of each catalog subscription, remove_ads and coins_100.
    // Its wall time is figure 3 of `npm run bench`.
    expect(calls).toBe(4);

    const { Items = [] } = await documentClient().send(
      new ScanCommand({ TableName: api.resources.env.PURCHASES_TABLE, ConsistentRead: true }),
    );
    const mine = Items.filter((i) => i.userId === user);
    expect(mine).toHaveLength(4);
    for (const s of subscriptions) {
      const item = mine.find((i) => i.pk === `apple#${s.subjectKey}`);
      if (s.productId.startsWith('extra_')) expect(item).toBeUndefined();
      else expect(new Date(item?.expiresAt).toISOString()).toBe(s.expiresAt);
    }
    expect(Items.filter((i) => i.pk === `credit#apple#${coins.token}`)).toHaveLength(1);

    // The SDK re-sends the whole batch on a retry: everything is known now, so Attesto is not asked.
    api.sandbox.resetStats();
    const again = sdkRestoreResponseSchema.parse(
      (await api.call('POST', '/api/iap/restore', { user, body: { transactions: entries } })).json,
    );
    expect(again).toEqual(body);
    expect(api.sandbox.stats().verify.total).toBe(0);
  });

  it('takes both entry shapes and both platforms, skips duplicates and bad entries, and answers the full set', async () => {
    const user = newUser('mixed');
    const earlier = (await api.sandbox.buy({ platform: 'apple', productId: 'remove_ads' })).purchase;
    sdkVerifyOkSchema.parse(
      (
        await api.call('POST', '/api/iap/verify/apple', {
          user,
          body: { productId: 'remove_ads', transactionId: earlier.token, type: 'product' },
        })
      ).json,
    );
    const gsub = (await api.sandbox.buy({ platform: 'google', productId: 'premium_monthly' })).purchase;
    const gcoins = (await api.sandbox.buy({ platform: 'google', productId: 'coins_100' })).purchase;
    api.sandbox.resetStats();
    const res = await api.call('POST', '/api/iap/restore', {
      user,
      body: {
        transactions: [
          {
            platform: 'google',
            productId: 'premium_monthly',
            purchaseToken: gsub.token,
            packageName: 'com.example.app',
          },
          { platform: 'google', productId: 'premium_monthly', purchaseToken: gsub.token },
          { platform: 'google', token: gcoins.token, productId: 'coins_100', productType: 'consumable' },
          { platform: 'apple', productId: 'premium_monthly', transactionId: '4242424242' },
          {
            platform: 'google',
            productId: 'premium_monthly',
            purchaseToken: 'x',
            packageName: 'com.other.app',
          },
          { platform: 'windows', productId: 'premium_monthly', token: 'abc' },
          'not an object',
          { platform: 'apple', productId: 'remove_ads' },
        ],
      },
    });
    expect(res.status).toBe(200);
    const body = sdkRestoreResponseSchema.parse(res.json);
    if (!body.valid) throw new Error('restore rejected');
    // no_ads came from the earlier verify: the answer is the user's whole set, not this batch's.
    expect(body.entitlements.map((e) => [e.key, e.platform])).toEqual([
      ['no_ads', 'apple'],
      ['premium', 'google'],
    ]);
    // The Google subscription, the Google consumable and the unknown Apple transaction.
    expect(api.sandbox.stats().verify).toEqual({ apple: 1, google: 2, total: 3 });
  });

  it('answers 503, never an empty set, when every Attesto call fails', async () => {
    const user = newUser('outage');
    const sub = (await api.sandbox.buy({ platform: 'apple', productId: 'premium_monthly' })).purchase;
    api.sandbox.setKnobs({ errorRate: 1 });
    try {
      const res = await api.call('POST', '/api/iap/restore', {
        user,
        body: {
          transactions: [{ platform: 'apple', productId: 'premium_monthly', transactionId: sub.token }],
        },
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBeTruthy();
    } finally {
      api.sandbox.setKnobs({ errorRate: 0 });
    }
    const ok = sdkRestoreResponseSchema.parse(
      (
        await api.call('POST', '/api/iap/restore', {
          user,
          body: {
            transactions: [{ platform: 'apple', productId: 'premium_monthly', transactionId: sub.token }],
          },
        })
      ).json,
    );
    expect(ok.valid && ok.entitlements.map((e) => e.key)).toEqual(['premium']);
  });
});
