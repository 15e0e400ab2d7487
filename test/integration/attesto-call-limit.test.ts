import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpApiEvent, lambdaContext } from '../../dev/fixtures/api-event';
import { type AttestoSandbox, startAttestoSandbox } from '../../dev/sandbox/server';
import { resetConfigCache } from '../../shared/config';
import type { ApiEvent } from '../../shared/http/api-handler';
import { errorResponse } from '../../shared/http/response';
import { AttestoCallLimitError, attestoCallLimit } from '../../shared/purchases/attesto-call-limit';
import { defaultDeps } from '../../shared/purchases/dependencies';
import { restorePurchases } from '../../shared/purchases/restore';
import { verifyApplePurchase } from '../../shared/purchases/verify-apple';
import { verifyGooglePurchase } from '../../shared/purchases/verify-google';
import { windowOf } from '../../shared/store/rate-limits';
import { useLocalAws } from '../support/local-aws';

// The per-user Attesto call limit against DynamoDB Local and the Attesto sandbox: parallel
// requests of one user admit exactly the limit, other users are untouched, restore spends one
// unit per call it makes, and the HTTP answer past the limit is 429 with Retry-After.

const APP = 'com.example.app';
const LIMIT = 5;
const WINDOW_SECONDS = 600;
let sandbox: AttestoSandbox;

beforeAll(async () => {
  await useLocalAws();
  sandbox = await startAttestoSandbox({
    apiKey: 'attesto_test_limits',
    webhookSecret: 'limits-secret-0123456789abcdefghijklmnopqrs',
    packageName: APP,
    bundleId: APP,
  });
  Object.assign(process.env, {
    ATTESTO_URL: sandbox.url,
    ATTESTO_API_KEY: 'attesto_test_limits',
    GOOGLE_PACKAGE_NAME: APP,
    APPLE_BUNDLE_ID: APP,
    ATTESTO_CALLS_PER_USER: String(LIMIT),
    ATTESTO_CALL_WINDOW_SECONDS: String(WINDOW_SECONDS),
  });
  resetConfigCache();
});
afterAll(async () => {
  await sandbox?.stop();
});

let users = 0;
const newUser = () => `limit-${++users}-${Date.now()}`;
/** One instant for a whole test, so every request falls in one window whatever the wall clock does. */
const frozenDeps = (now: number) => defaultDeps({ now: () => now });

async function settled<T>(promises: Promise<T>[]) {
  const results = await Promise.allSettled(promises);
  return {
    admitted: results
      .filter((r) => r.status === 'fulfilled')
      .map((r) => (r as PromiseFulfilledResult<T>).value),
    refused: results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason),
  };
}

describe('per-user Attesto call limit', () => {
  it('reads its setting from the environment, validated like the other settings', () => {
    expect(attestoCallLimit()).toEqual({ calls: LIMIT, windowSeconds: WINDOW_SECONDS });
    expect(attestoCallLimit({})).toEqual({ calls: 120, windowSeconds: 600 });
    expect(() => attestoCallLimit({ ATTESTO_CALLS_PER_USER: '0' })).toThrow(/ATTESTO_CALLS_PER_USER/);
    expect(() => attestoCallLimit({ ATTESTO_CALL_WINDOW_SECONDS: 'soon' })).toThrow(
      /ATTESTO_CALL_WINDOW_SECONDS/,
    );
  });

  it('admits exactly the limit of parallel verifies of one user, and leaves other users alone', async () => {
    const sub = (await sandbox.buy({ platform: 'apple', productId: 'premium_monthly' })).purchase;
    const input = { productId: 'premium_monthly', transactionId: sub.token, type: 'subscription' } as const;
    const now = Date.now();
    const mallory = newUser();
    sandbox.resetStats();
    const { admitted, refused } = await settled(
      Array.from({ length: LIMIT * 3 }, () => verifyApplePurchase(mallory, input, {}, frozenDeps(now))),
    );
    expect(admitted).toHaveLength(LIMIT);
    expect(refused).toHaveLength(LIMIT * 2);
    expect(sandbox.stats().verify.total).toBe(LIMIT);
    const { end } = windowOf(now, WINDOW_SECONDS);
    for (const error of refused) {
      expect(error).toBeInstanceOf(AttestoCallLimitError);
      expect(error.retryAfterSeconds).toBe(Math.ceil(end - now / 1000));
    }

    // Another user, same instant: untouched by mallory's counter (Attesto is asked, and answers).
    const other = newUser();
    const own = (await sandbox.buy({ platform: 'apple', productId: 'premium_monthly' })).purchase;
    const answer = await verifyApplePurchase(
      other,
      { ...input, transactionId: own.token },
      {},
      frozenDeps(now),
    );
    expect(answer.valid).toBe(true);
    const google = (await sandbox.buy({ platform: 'google', productId: 'premium_monthly' })).purchase;
    const googleAnswer = await verifyGooglePurchase(
      other,
      { productId: 'premium_monthly', purchaseToken: google.token, packageName: APP, type: 'subscription' },
      {},
      frozenDeps(now),
    );
    expect(googleAnswer.valid).toBe(true);
    // Google verifies draw from the same counter as Apple's.
    await expect(
      verifyGooglePurchase(
        mallory,
        { productId: 'premium_monthly', purchaseToken: google.token, packageName: APP, type: 'subscription' },
        {},
        frozenDeps(now),
      ),
    ).rejects.toBeInstanceOf(AttestoCallLimitError);
  });

  it('frees the user again in the next window', async () => {
    const user = newUser();
    const coins = (await sandbox.buy({ platform: 'apple', productId: 'coins_100' })).purchase;
    const input = { productId: 'coins_100', transactionId: coins.token, type: 'consumable' } as const;
    const now = Date.now();
    for (let i = 0; i < LIMIT; i++) await verifyApplePurchase(user, input, {}, frozenDeps(now));
    await expect(verifyApplePurchase(user, input, {}, frozenDeps(now))).rejects.toBeInstanceOf(
      AttestoCallLimitError,
    );
    const next = windowOf(now, WINDOW_SECONDS).end * 1000;
    expect((await verifyApplePurchase(user, input, {}, frozenDeps(next))).valid).toBe(true);
  });

  it('counts every Attesto call a restore makes, and answers 429 once none can be made', async () => {
    const user = newUser();
    const entries = [];
    for (let i = 0; i < LIMIT + 3; i++) {
      const coins = (await sandbox.buy({ platform: 'apple', productId: 'coins_100' })).purchase;
      entries.push({ platform: 'apple', productId: 'coins_100', transactionId: coins.token });
    }
    const now = Date.now();
    sandbox.resetStats();
    const first = await restorePurchases(user, entries, {}, frozenDeps(now));
    // One restore request, LIMIT calls: the rest is skipped, best effort, and known next time.
    expect(sandbox.stats().verify.total).toBe(LIMIT);
    expect(first.valid).toBe(true);
    expect(first.counts).toMatchObject({ verified: LIMIT, limited: 3 });

    // The same batch again: the verified ones need no call; the others are refused, and nothing
    // new could be verified, so the answer is the limit's 429.
    const again = await restorePurchases(user, entries, {}, frozenDeps(now)).catch((error: unknown) => error);
    expect(again).toBeInstanceOf(AttestoCallLimitError);
    expect(sandbox.stats().verify.total).toBe(LIMIT);
    const response = errorResponse(again, 'req-1');
    expect(response.statusCode).toBe(429);
    expect(JSON.parse(String(response.body))).toMatchObject({ error: 'RATE_LIMITED' });
    expect(Number(response.headers?.['retry-after'])).toBe(
      Math.ceil(windowOf(now, WINDOW_SECONDS).end - now / 1000),
    );
  });

  it('answers 429 with Retry-After through the verify handler', async () => {
    process.env.ATTESTO_CALLS_PER_USER = '1';
    // A day-long window, so the two requests below share one.
    process.env.ATTESTO_CALL_WINDOW_SECONDS = '86400';
    resetConfigCache();
    try {
      const { handler } = (await import('../../functions/verify-apple/handler')) as unknown as {
        handler: (event: ApiEvent, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
      };
      const sub = (await sandbox.buy({ platform: 'apple', productId: 'premium_yearly' })).purchase;
      const user = newUser();
      const request = (n: number) =>
        handler(
          httpApiEvent({
            method: 'POST',
            path: '/api/iap/verify/apple',
            body: JSON.stringify({
              productId: 'premium_yearly',
              transactionId: sub.token,
              type: 'subscription',
            }),
            claims: { sub: user },
            requestId: `req-limit-${n}`,
            timeEpoch: Date.now(),
          }),
          lambdaContext('verify-apple'),
        );
      expect((await request(1)).statusCode).toBe(200);
      const refused = await request(2);
      expect(refused.statusCode).toBe(429);
      expect(JSON.parse(String(refused.body))).toMatchObject({ error: 'RATE_LIMITED' });
      const retryAfter = Number(refused.headers?.['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(86_400);
    } finally {
      process.env.ATTESTO_CALLS_PER_USER = String(LIMIT);
      process.env.ATTESTO_CALL_WINDOW_SECONDS = String(WINDOW_SECONDS);
      resetConfigCache();
    }
  });
});
