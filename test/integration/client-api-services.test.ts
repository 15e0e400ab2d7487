import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttestoSandbox, startAttestoSandbox } from '../../dev/sandbox/server';
import type { AttestoClient } from '../../shared/attesto/client';
import { attestoClientFromEnv } from '../../shared/attesto/client';
import { resetConfigCache } from '../../shared/config';
import { defaultDeps, type PurchaseDeps } from '../../shared/purchases/dependencies';
import { MAX_ATTESTO_CALLS_PER_RESTORE, restorePurchases } from '../../shared/purchases/restore';
import { verifyApplePurchase } from '../../shared/purchases/verify-apple';
import { documentClient } from '../../shared/store/dynamo-client';
import { purchasesOfUser } from '../../shared/store/purchases';
import { getOrMintUuid } from '../../shared/store/user-ids';
import { useLocalAws } from '../support/local-aws';

// The services against DynamoDB Local and the Attesto sandbox, with one part swapped where the
// test needs it: a byUser index that lags, a client that counts calls in flight.

const APP = 'com.example.app';
let sandbox: AttestoSandbox;

beforeAll(async () => {
  await useLocalAws();
  sandbox = await startAttestoSandbox({
    apiKey: 'attesto_test_services',
    webhookSecret: 'services-secret-0123456789abcdefghijklmnopq',
    packageName: APP,
    bundleId: APP,
  });
  Object.assign(process.env, {
    ATTESTO_URL: sandbox.url,
    ATTESTO_API_KEY: 'attesto_test_services',
    GOOGLE_PACKAGE_NAME: APP,
    APPLE_BUNDLE_ID: APP,
  });
  resetConfigCache();
});
afterAll(async () => {
  await sandbox?.stop();
});

let users = 0;
const newUser = () => `svc-${++users}-${Date.now()}`;

/** A byUser index that has not caught up: it answers nothing, or an old copy. */
function laggingIndex(answer: () => Promise<Awaited<ReturnType<typeof purchasesOfUser>>>): PurchaseDeps {
  const deps = defaultDeps();
  return {
    ...deps,
    store: { ...deps.store, holdingsOfUser: async () => ({ purchases: await answer(), grants: [] }) },
  };
}

/** The real client, counting the calls made through it. */
function countingAttesto(): { client: AttestoClient; calls: () => number } {
  const real = attestoClientFromEnv();
  let calls = 0;
  return {
    client: {
      verifyApple(request, options) {
        calls++;
        return real.verifyApple(request, options);
      },
      verifyGoogle(request, options) {
        calls++;
        return real.verifyGoogle(request, options);
      },
    },
    calls: () => calls,
  };
}

/** Records every DynamoDB command's [start, end] to count sequential round trips. */
function recordRoundTrips() {
  const spans: { name: string; start: number; end: number }[] = [];
  const stack = documentClient().middlewareStack;
  const name = `round-trips-${Math.random()}`;
  stack.add(
    (next, context) => async (args) => {
      const start = performance.now();
      try {
        return await next(args);
      } finally {
        spans.push({ name: String(context.commandName), start, end: performance.now() });
      }
    },
    { step: 'initialize', name },
  );
  return {
    /** The longest chain of calls each starting after the previous one ended (those starting at or after `from`). */
    sequential(from = 0): number {
      const sorted = spans.filter((s) => s.start >= from).sort((a, b) => a.end - b.end);
      const depth = sorted.map(() => 1);
      sorted.forEach((span, i) => {
        for (let j = 0; j < i; j++) {
          const before = sorted[j] as (typeof sorted)[number];
          if (before.end <= span.start) depth[i] = Math.max(depth[i] as number, (depth[j] as number) + 1);
        }
      });
      return Math.max(0, ...depth);
    },
    spans,
    stop: () => stack.remove(name),
  };
}

describe('verify', () => {
  it('answers what it just granted although the byUser index has not caught up', async () => {
    const user = newUser();
    const sub = (await sandbox.buy({ platform: 'apple', productId: 'premium_monthly' })).purchase;
    const answer = await verifyApplePurchase(
      user,
      { productId: 'premium_monthly', transactionId: sub.token, type: 'subscription' },
      {},
      laggingIndex(async () => []),
    );
    expect(answer.valid && answer.entitlements.map((e) => [e.key, e.expiresAt])).toEqual([
      ['premium', sub.expiresAt],
    ]);

    // The index still holds the copy from before the refund: the fresh write wins.
    const stale = await purchasesOfUser(user);
    expect(stale).toHaveLength(1);
    await sandbox.act(sub.id, 'refund');
    const after = await verifyApplePurchase(
      user,
      { productId: 'premium_monthly', transactionId: sub.token, type: 'subscription' },
      {},
      laggingIndex(async () => stale),
    );
    expect(after.valid && after.entitlements).toEqual([]);
  });

  /** Verifies with a client that notes when Attesto answered, and the round trips made. */
  async function measuredVerify(user: string, transactionId: string) {
    const real = attestoClientFromEnv();
    let answeredAt = 0;
    const attesto: AttestoClient = {
      async verifyApple(request, options) {
        try {
          return await real.verifyApple(request, options);
        } finally {
          answeredAt = performance.now();
        }
      },
      verifyGoogle: (request, options) => real.verifyGoogle(request, options),
    };
    sandbox.resetStats();
    const trips = recordRoundTrips();
    try {
      const answer = await verifyApplePurchase(
        user,
        { productId: 'premium_yearly', transactionId, type: 'subscription' },
        {},
        defaultDeps({ attesto: () => attesto }),
      );
      const [limiter] = trips.spans.filter((s) => s.name === 'UpdateItemCommand');
      return {
        answer,
        names: trips.spans.map((s) => s.name).sort(),
        afterAttesto: trips.sequential(answeredAt),
        // The call is counted against the user's limit before Attesto is asked.
        limiterFirst: limiter !== undefined && limiter.end <= answeredAt,
      };
    } finally {
      trips.stop();
    }
  }

  it('counts the call against the user, makes one Attesto call, then at most two sequential DynamoDB round trips', async () => {
    const user = newUser();
    const sub = (await sandbox.buy({ platform: 'apple', productId: 'premium_yearly' })).purchase;
    const { answer, names, afterAttesto, limiterFirst } = await measuredVerify(user, sub.token);
    expect(answer.valid).toBe(true);
    expect(sandbox.stats().verify.total).toBe(1);
    expect(limiterFirst).toBe(true);
    // The caller's UUID is read while Attesto answers.
    // The owner's outbox item and UUID are read beside the purchase and holdings.
    expect(names).toEqual([
      'GetItemCommand',
      'GetItemCommand',
      'GetItemCommand',
      'GetItemCommand',
      'QueryCommand',
      'TransactWriteItemsCommand',
      'UpdateItemCommand',
    ]);
    expect(afterAttesto).toBeLessThanOrEqual(2);
  });

  it('costs no extra round trip for a purchase the store binds to the caller', async () => {
    const user = newUser();
    const uuid = await getOrMintUuid(user, randomUUID);
    const sub = (await sandbox.buy({ platform: 'apple', productId: 'premium_yearly', appUserId: uuid }))
      .purchase;
    const { answer, names, afterAttesto } = await measuredVerify(user, sub.token);
    expect(answer.valid).toBe(true);
    // The owner's outbox item and UUID are read beside the purchase and holdings.
    expect(names).toEqual([
      'GetItemCommand',
      'GetItemCommand',
      'GetItemCommand',
      'GetItemCommand',
      'QueryCommand',
      'TransactWriteItemsCommand',
      'UpdateItemCommand',
    ]);
    expect(afterAttesto).toBeLessThanOrEqual(2);
  });

  it("refuses a purchase bound to another user's UUID with one round of lookups and no write", async () => {
    const owner = newUser();
    const uuid = await getOrMintUuid(owner, randomUUID);
    const sub = (await sandbox.buy({ platform: 'apple', productId: 'premium_yearly', appUserId: uuid }))
      .purchase;
    const { answer, names, afterAttesto } = await measuredVerify(newUser(), sub.token);
    expect(answer).toMatchObject({ valid: false, error: 'ALREADY_OWNED' });
    // The caller's UUID, then the UUID's user beside the purchase (an operator's transfer would
    // override the binding), beside the user's holdings.
    expect(names).toEqual([
      'GetItemCommand',
      'GetItemCommand',
      'GetItemCommand',
      'QueryCommand',
      'UpdateItemCommand',
    ]);
    expect(afterAttesto).toBeLessThanOrEqual(2);
  });
});

describe('restore', () => {
  it('skips entries Attesto has not answered by the deadline, and answers the rest in time', async () => {
    const user = newUser();
    const slow = (await sandbox.buy({ platform: 'apple', productId: 'premium_monthly' })).purchase;
    const fast = (await sandbox.buy({ platform: 'apple', productId: 'remove_ads' })).purchase;
    // The first verify request hangs; the other answers at once.
    sandbox.setKnobs({ hang: { remaining: 1, afterMs: null } });
    // The hang never ends: without the 800 ms budget the Attesto client's own 7 s would stop it,
    // so a bound of 5 s tells the two apart with seconds to spare on a busy machine.
    const started = Date.now();
    try {
      // With one call at a time the hanging call uses the whole budget and nothing else is asked:
      // no call answered, so the restore must not pretend to know the set.
      await expect(
        restorePurchases(
          user,
          [
            { platform: 'apple', productId: 'premium_monthly', transactionId: slow.token },
            { platform: 'apple', productId: 'remove_ads', transactionId: fast.token },
          ],
          { budgetMs: 800, concurrency: 1 },
        ),
      ).rejects.toMatchObject({ statusCode: 503 });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      sandbox.setKnobs({ hang: null });
    }

    sandbox.setKnobs({ hang: { remaining: 1, afterMs: null } });
    const secondStarted = Date.now();
    try {
      // Both calls start together; whichever reaches the sandbox first is the one that hangs.
      const answer = await restorePurchases(
        user,
        [
          { platform: 'apple', productId: 'premium_monthly', transactionId: slow.token },
          { platform: 'apple', productId: 'remove_ads', transactionId: fast.token },
        ],
        { budgetMs: 800, concurrency: 2 },
      );
      expect(Date.now() - secondStarted).toBeLessThan(5_000);
      expect(answer.counts).toMatchObject({ verified: 1, failed: 1 });
      // One answered in time: best effort, the hanging one is skipped, not failed.
      expect(answer.valid).toBe(true);
      const keys = answer.entitlements.map((e) => e.key);
      expect(keys).toHaveLength(1);
      expect(['no_ads', 'premium']).toContain(keys[0]);
    } finally {
      sandbox.setKnobs({ hang: null });
    }
  });

  it('never has more than the bound of Attesto calls in flight', async () => {
    const user = newUser();
    const entries = [];
    for (let i = 0; i < 20; i++) {
      const coins = (await sandbox.buy({ platform: 'apple', productId: 'coins_100' })).purchase;
      entries.push({ platform: 'apple', productId: 'coins_100', transactionId: coins.token });
    }
    sandbox.setKnobs({ latencyMs: 60 });
    let inFlight = 0;
    let most = 0;
    // The first calls wait until 8 are in flight, so a busy machine that is slow to start them
    // cannot make the pool look smaller; a pool that never reaches 8 is let go after 2 s.
    let open = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const fallback = setTimeout(open, 2_000);
    const real = attestoClientFromEnv();
    const counting: AttestoClient = {
      async verifyApple(request, options) {
        most = Math.max(most, ++inFlight);
        if (inFlight >= 8) open();
        try {
          await gate;
          return await real.verifyApple(request, options);
        } finally {
          inFlight--;
        }
      },
      verifyGoogle: (request, options) => real.verifyGoogle(request, options),
    };
    try {
      const answer = await restorePurchases(user, entries, {}, defaultDeps({ attesto: () => counting }));
      expect(answer.counts).toMatchObject({ verified: 20, attestoCalls: 20 });
    } finally {
      clearTimeout(fallback);
      sandbox.setKnobs({ latencyMs: 0 });
    }
    expect(most).toBe(8);
  });

  it('asks Attesto nothing about products the catalog does not list', async () => {
    const user = newUser();
    const entries = Array.from({ length: 500 }, (_, i) => ({
      platform: i % 2 ? 'apple' : 'google',
      productId: `unknown_product_${i}`,
      ...(i % 2
        ? { transactionId: String(2000000000000000 + i) }
        : { purchaseToken: `token-${i}`, type: 'product' }),
    }));
    const attesto = countingAttesto();
    const answer = await restorePurchases(user, entries, {}, defaultDeps({ attesto: () => attesto.client }));
    expect(attesto.calls()).toBe(0);
    expect(answer).toMatchObject({ valid: true, entitlements: [] });
    expect(answer.counts).toMatchObject({ entries: 500, unknownProduct: 500, attestoCalls: 0 });
  });

  it('makes at most its cap of Attesto calls, entitlement-granting entries first, and still answers', async () => {
    const user = newUser();
    const premium = (await sandbox.buy({ platform: 'apple', productId: 'premium_monthly' })).purchase;
    // More consumables than the cap: transaction ids Apple never issued, each one an Attesto call.
    const consumables = Array.from({ length: MAX_ATTESTO_CALLS_PER_RESTORE + 10 }, (_, i) => ({
      platform: 'apple',
      productId: 'coins_100',
      transactionId: String(1000000000000000 + i),
    }));
    const attesto = countingAttesto();
    const answer = await restorePurchases(
      user,
      [...consumables, { platform: 'apple', productId: 'premium_monthly', transactionId: premium.token }],
      {},
      defaultDeps({ attesto: () => attesto.client }),
    );
    expect(attesto.calls()).toBe(MAX_ATTESTO_CALLS_PER_RESTORE);
    expect(answer.valid).toBe(true);
    expect(answer.entitlements.map((e) => e.key)).toEqual(['premium']);
    expect(answer.counts).toMatchObject({
      attestoCalls: MAX_ATTESTO_CALLS_PER_RESTORE,
      verified: 1,
      rejected: MAX_ATTESTO_CALLS_PER_RESTORE - 1,
      capped: consumables.length + 1 - MAX_ATTESTO_CALLS_PER_RESTORE,
    });
  });
});
