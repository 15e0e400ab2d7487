import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttestoSandbox, startAttestoSandbox } from '../../dev/sandbox/server';
import {
  appleVerifyOkSchema,
  googleProductOkSchema,
  googleSubscriptionOkSchema,
  verifyRejectedSchema,
} from '../../shared/attesto/schemas';

// Lifecycle steps must show up in what verify answers, since a backend re-reads state through
// verify; and the world must survive a restart when it has a data file.

const API_KEY = 'attesto_test_lifecycle';
const BASE = {
  apiKey: API_KEY,
  webhookSecret: 'lifecycle-secret-0123456789abcdefghijklmnopq',
  packageName: 'com.example.app',
  bundleId: 'com.example.app',
};

let sandbox: AttestoSandbox;

beforeAll(async () => {
  sandbox = await startAttestoSandbox(BASE);
});

afterAll(async () => {
  await sandbox.stop();
});

async function verify(target: AttestoSandbox, path: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${target.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return response.json();
}

const verifyApple = async (transactionId: string, target = sandbox) =>
  appleVerifyOkSchema.parse(await verify(target, '/v1/apple/verify', { transactionId }));

describe('Apple verify follows the lifecycle', () => {
  it('verifies a renewal transaction with a later expiry, and still answers for the original one', async () => {
    const bought = await sandbox.buy({ platform: 'apple', productId: 'premium_monthly' });
    const renewed = await sandbox.act(bought.purchase.id, 'renew');

    const first = await verifyApple(bought.purchase.token);
    const second = await verifyApple(renewed.purchase.token);

    expect(renewed.purchase.token).not.toBe(bought.purchase.token);
    expect(second.transaction.transactionId).toBe(renewed.purchase.token);
    expect(second.transaction.originalTransactionId).toBe(bought.purchase.token);
    expect(second.transaction.transactionReason).toBe('RENEWAL');
    expect(Date.parse(second.transaction.expiresDate ?? '')).toBeGreaterThan(
      Date.parse(first.transaction.expiresDate ?? ''),
    );
    // The new period starts where the old one ended.
    expect(second.transaction.purchaseDate).toBe(first.transaction.expiresDate);
  });

  it('shows revocationDate after a refund', async () => {
    const bought = await sandbox.buy({ platform: 'apple', productId: 'premium_monthly' });
    expect((await verifyApple(bought.purchase.token)).transaction.revocationDate).toBeNull();

    await sandbox.act(bought.purchase.id, 'refund');

    const after = await verifyApple(bought.purchase.token);
    expect(after.transaction.revocationDate).not.toBeNull();
    expect(after.transaction.revocationReason).toBe(0);
  });

  it('ends the period at expire, and shows FAMILY_SHARED for a shared copy', async () => {
    const bought = await sandbox.buy({ platform: 'apple', productId: 'premium_monthly' });
    const shared = await sandbox.act(bought.purchase.id, 'family-share');
    await sandbox.act(bought.purchase.id, 'expire');

    const expired = await verifyApple(bought.purchase.token);
    expect(Date.parse(expired.transaction.expiresDate ?? '')).toBeLessThanOrEqual(Date.now());
    const member = await verifyApple(shared.created?.token ?? '');
    expect(member.transaction.inAppOwnershipType).toBe('FAMILY_SHARED');
    expect(member.transaction.originalTransactionId).not.toBe(bought.purchase.token);
  });

  it('verifies the new product after an upgrade and marks the old transaction upgraded', async () => {
    const bought = await sandbox.buy({ platform: 'apple', productId: 'premium_monthly' });
    const upgraded = await sandbox.act(bought.purchase.id, 'upgrade', { newProductId: 'premium_yearly' });

    const before = await verifyApple(bought.purchase.token);
    const after = await verifyApple(upgraded.purchase.token);
    expect(before.transaction.rawDecodedPayload.isUpgraded).toBe(true);
    expect(after.transaction.productId).toBe('premium_yearly');
    expect(after.transaction.originalTransactionId).toBe(bought.purchase.token);
  });
});

describe('Google verify follows the lifecycle', () => {
  const verifyGoogleSub = async (token: string, productId = 'premium_monthly') =>
    googleSubscriptionOkSchema.parse(
      await verify(sandbox, '/v1/google/verify', {
        packageName: 'com.example.app',
        productId,
        purchaseToken: token,
        type: 'subscription',
      }),
    );

  it('moves subscriptionState, expiry, auto-renew and order ids as Google does', async () => {
    const bought = await sandbox.buy({ platform: 'google', productId: 'premium_monthly' });
    const token = bought.purchase.token;
    const initial = await verifyGoogleSub(token);

    await sandbox.act(token, 'renew');
    const renewed = await verifyGoogleSub(token);
    await sandbox.act(token, 'renew');
    const renewedTwice = await verifyGoogleSub(token);
    await sandbox.act(token, 'cancel');
    const canceled = await verifyGoogleSub(token);
    await sandbox.act(token, 'uncancel');
    await sandbox.act(token, 'fail-billing', { grace: true });
    const grace = await verifyGoogleSub(token);
    await sandbox.act(token, 'hold');
    const hold = await verifyGoogleSub(token);
    await sandbox.act(token, 'recover');
    await sandbox.act(token, 'pause');
    const paused = await verifyGoogleSub(token);
    await sandbox.act(token, 'expire');
    const expired = await verifyGoogleSub(token);

    const state = (v: typeof initial) =>
      (v.purchase.rawResponse as { subscriptionState: string }).subscriptionState;
    expect(renewed.purchase.orderId).toBe(`${initial.purchase.orderId}..0`);
    expect(renewedTwice.purchase.orderId).toBe(`${initial.purchase.orderId}..1`);
    expect(Date.parse(renewed.purchase.expiryTime ?? '')).toBeGreaterThan(
      Date.parse(initial.purchase.expiryTime ?? ''),
    );
    expect([state(canceled), canceled.purchase.autoRenewing]).toEqual(['SUBSCRIPTION_STATE_CANCELED', false]);
    expect(canceled.purchase.expiryTime).toBe(renewedTwice.purchase.expiryTime);
    expect(state(grace)).toBe('SUBSCRIPTION_STATE_IN_GRACE_PERIOD');
    expect(state(hold)).toBe('SUBSCRIPTION_STATE_ON_HOLD');
    expect(Date.parse(hold.purchase.expiryTime ?? '')).toBeLessThanOrEqual(Date.now());
    expect(state(paused)).toBe('SUBSCRIPTION_STATE_PAUSED');
    expect(paused.purchase.rawResponse.pausedStateContext).toBeDefined();
    expect([state(expired), expired.purchase.autoRenewing]).toEqual(['SUBSCRIPTION_STATE_EXPIRED', false]);
  });

  it('gives an upgrade a new token linked to the old one, and expires the old one', async () => {
    const bought = await sandbox.buy({ platform: 'google', productId: 'premium_monthly' });
    const upgraded = await sandbox.act(bought.purchase.id, 'upgrade', { newProductId: 'premium_yearly' });
    const newToken = upgraded.created?.token ?? '';

    const fresh = await verifyGoogleSub(newToken, 'premium_yearly');
    const old = await verifyGoogleSub(bought.purchase.token);

    expect(newToken).not.toBe(bought.purchase.token);
    expect(fresh.purchase.rawResponse.linkedPurchaseToken).toBe(bought.purchase.token);
    expect((fresh.purchase.rawResponse.lineItems as { productId: string }[])[0]?.productId).toBe(
      'premium_yearly',
    );
    expect(old.purchase.rawResponse.subscriptionState).toBe('SUBSCRIPTION_STATE_EXPIRED');
    expect(old.purchase.rawResponse.canceledStateContext).toEqual({ replacementCancellation: {} });
  });

  it('shows a refunded one-time product as canceled (purchaseState 1)', async () => {
    const bought = await sandbox.buy({ platform: 'google', productId: 'remove_ads' });
    await sandbox.act(bought.purchase.id, 'refund');
    const body = {
      packageName: 'com.example.app',
      productId: 'remove_ads',
      purchaseToken: bought.purchase.token,
      type: 'product',
    };
    const after = googleProductOkSchema.parse(await verify(sandbox, '/v1/google/verify', body));
    expect(after.purchase.purchaseState).toBe(1);
  });
});

describe('persistence', () => {
  it('keeps purchases, tenant and webhooks across a restart with the same data file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attesto-sandbox-'));
    const dataFile = join(dir, 'nested', 'sandbox.json');
    try {
      const first = await startAttestoSandbox({ ...BASE, dataFile });
      const bought = await first.buy({ platform: 'apple', productId: 'premium_monthly' });
      await first.act(bought.purchase.id, 'renew');
      const google = await first.buy({ platform: 'google', productId: 'premium_yearly' });
      const tenantId = first.tenantId;
      const webhookCount = first.webhooks().length;
      await first.stop();

      const second = await startAttestoSandbox({ ...BASE, dataFile, port: 0 });
      try {
        expect(second.tenantId).toBe(tenantId);
        expect(second.webhooks()).toHaveLength(webhookCount);
        const renewal = second.purchases().find((p) => p.id === bought.purchase.id);
        expect(renewal?.record.platform === 'apple' && renewal.record.transactions).toHaveLength(2);
        expect((await verifyApple(bought.purchase.token, second)).transaction.originalTransactionId).toBe(
          bought.purchase.token,
        );
        const g = await verify(second, '/v1/google/verify', google.purchase.verify.body);
        expect(googleSubscriptionOkSchema.parse(g).purchase.purchaseToken).toBe(google.purchase.token);
        // New purchases continue the numbering instead of reusing ids.
        const next = await second.buy({ platform: 'apple', productId: 'remove_ads' });
        expect(second.purchases().map((p) => p.id)).toEqual(['sbx_1', 'sbx_2', next.purchase.id]);
        expect(next.purchase.id).toBe('sbx_3');
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts empty without a data file', async () => {
    const fresh = await startAttestoSandbox(BASE);
    try {
      expect(fresh.purchases()).toEqual([]);
      const res = await verify(fresh, '/v1/apple/verify', { transactionId: '2000000000000001' });
      expect(verifyRejectedSchema.parse(res).error).toBe('TRANSACTION_NOT_FOUND');
    } finally {
      await fresh.stop();
    }
  });
});
