import { randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { lambdaContext } from '../../dev/fixtures/api-event';
import type { AttestoSandbox } from '../../dev/sandbox/server';
import type { LifecycleAction } from '../../dev/sandbox/world';
import type { SandboxWebhook } from '../../dev/sandbox/world-types';
import { type Purchase, purchaseKey } from '../../shared/domain/purchase';
import { logger } from '../../shared/observability/logger';
import { getPurchase } from '../../shared/store/purchases';
import { useLocalAws } from '../support/local-aws';
import { readItem, readMarker, sqsEvent, startSandboxForConsumer } from './webhook-test-kit';

// Attesto still delivers rows it stored before renaming its events: the old name in `event`
// (`apple.did_renew`, `apple.refund`, `google.subscription.renewed`, `google.subscription.12`, …)
// and no `platformEvent`. The store notification in `data` says what happened, and the consumer
// applies it exactly as it applies the same notification under its current name.

type Handler = (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<SQSBatchResponse>;

/** The webhook as a row stored before the renaming goes out: old name, empty platformEvent. */
function legacy(webhook: SandboxWebhook, name: string): SandboxWebhook {
  return { ...webhook, event: name, reason: null, platformEvent: '' };
}

interface LegacyCase {
  platform: 'apple' | 'google';
  productId?: string;
  action: LifecycleAction | 'buy';
  kind: string;
  expected: (after: { expiresAt: string | null }) => Partial<Purchase>;
}

const CASES: Record<string, LegacyCase> = {
  'apple.did_renew': {
    platform: 'apple',
    action: 'renew',
    kind: 'renewed',
    expected: (p) => ({ status: 'active', expiresAt: Date.parse(p.expiresAt as string) }),
  },
  'apple.refund': {
    platform: 'apple',
    action: 'refund',
    kind: 'refunded',
    expected: () => ({ status: 'refunded' }),
  },
  'apple.expired.voluntary': {
    platform: 'apple',
    action: 'expire',
    kind: 'expired',
    expected: () => ({ status: 'expired', willRenew: false }),
  },
  'apple.did_change_renewal_status.auto_renew_disabled': {
    platform: 'apple',
    action: 'cancel',
    kind: 'cancellation_scheduled',
    expected: () => ({ status: 'active', willRenew: false }),
  },
  'apple.did_fail_to_renew': {
    platform: 'apple',
    action: 'fail-billing',
    kind: 'in_billing_retry',
    expected: () => ({ status: 'billing_retry' }),
  },
  'google.subscription.purchased': {
    platform: 'google',
    action: 'buy',
    kind: 'purchased',
    expected: (p) => ({ status: 'active', expiresAt: Date.parse(p.expiresAt as string) }),
  },
  'google.subscription.renewed': {
    platform: 'google',
    action: 'renew',
    kind: 'renewed',
    expected: (p) => ({ status: 'active', expiresAt: Date.parse(p.expiresAt as string) }),
  },
  'google.subscription.2': {
    platform: 'google',
    action: 'renew',
    kind: 'renewed',
    expected: (p) => ({ status: 'active', expiresAt: Date.parse(p.expiresAt as string) }),
  },
  'google.subscription.cancelled': {
    platform: 'google',
    action: 'cancel',
    kind: 'cancellation_scheduled',
    expected: () => ({ status: 'active', willRenew: false }),
  },
  'google.subscription.canceled': {
    platform: 'google',
    action: 'cancel',
    kind: 'cancellation_scheduled',
    expected: () => ({ status: 'active', willRenew: false }),
  },
  'google.subscription.revoked': {
    platform: 'google',
    action: 'revoke',
    kind: 'revoked',
    expected: () => ({ status: 'revoked' }),
  },
  'google.subscription.13': {
    platform: 'google',
    action: 'expire',
    kind: 'expired',
    expected: () => ({ status: 'expired' }),
  },
  // A voided subscription takes the state Google reports after the refund (README "Refunds").
  'google.voided': {
    platform: 'google',
    action: 'refund',
    kind: 'voided',
    expected: () => ({ status: 'expired' }),
  },
  'google.product.purchased': {
    platform: 'google',
    productId: 'remove_ads',
    action: 'buy',
    kind: 'product_purchased',
    expected: () => ({ status: 'active', productType: 'product', expiresAt: null }),
  },
};

describe('webhooks named before Attesto renamed its events (real consumer, DynamoDB Local)', () => {
  let sandbox: AttestoSandbox;
  let handler: Handler;
  const consume = async (bodies: SandboxWebhook[]) =>
    expect(await handler(sqsEvent(bodies), lambdaContext('webhook-consumer'))).toEqual({
      batchItemFailures: [],
    });
  const markerOf = (w: SandboxWebhook) => `${w.source}:${w.externalId}`;

  beforeAll(async () => {
    await useLocalAws();
    sandbox = await startSandboxForConsumer();
    ({ handler } = (await import('../../functions/webhook-consumer/handler')) as { handler: Handler });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it.each(Object.entries(CASES))('applies %s from its data', async (name, c) => {
    const bought = await sandbox.buy({
      platform: c.platform,
      productId: c.productId ?? 'premium_monthly',
      deliver: false,
    });
    let last = bought;
    let webhook = legacy(bought.webhooks[0] as SandboxWebhook, name);
    if (c.action !== 'buy') {
      await consume(bought.webhooks);
      last = await sandbox.act(bought.purchase.id, c.action, { deliver: false });
      webhook = legacy(last.webhooks[0] as SandboxWebhook, name);
    }
    const info = vi.spyOn(logger, 'info');

    await consume([webhook]);

    expect(await readMarker(markerOf(webhook))).toMatchObject({ outcome: c.kind });
    expect(await getPurchase(purchaseKey(c.platform, bought.purchase.subjectKey))).toMatchObject(
      c.expected(last.purchase as { expiresAt: string | null }),
    );
    expect(info).toHaveBeenCalledWith(
      'Webhook processed',
      expect.objectContaining({ eventId: webhook.eventId, legacyEvent: name, kind: c.kind }),
    );
  });

  it('applies a legacy event once: the same store event under its current name is a duplicate', async () => {
    const bought = await sandbox.buy({ platform: 'apple', productId: 'premium_monthly', deliver: false });
    await consume(bought.webhooks);
    const refund = (await sandbox.act(bought.purchase.id, 'refund', { deliver: false }))
      .webhooks[0] as SandboxWebhook;
    await consume([legacy(refund, 'apple.refund')]);
    const pk = purchaseKey('apple', bought.purchase.subjectKey);
    const before = await readItem(pk);
    await consume([refund]);
    expect((await readItem(pk))?.rev).toBe(before?.rev);
    expect(before?.status).toBe('refunded');
  });

  it('acknowledges and logs a legacy event its data does not name, without touching purchases', async () => {
    const bought = await sandbox.buy({ platform: 'apple', productId: 'premium_monthly', deliver: false });
    const base = bought.webhooks[0] as SandboxWebhook;
    const unknown: SandboxWebhook = {
      ...legacy(base, 'apple.some_future_type'),
      data: { ...base.data, notificationType: 'SOME_FUTURE_TYPE', subtype: undefined },
      externalId: randomUUID(),
      eventId: `evt_${randomUUID()}`,
    };
    const { platformEvent: _omitted, ...withoutPlatformEvent } = {
      ...legacy(base, 'apple.garbled'),
      data: { signedDate: 1 },
      externalId: randomUUID(),
      eventId: `evt_${randomUUID()}`,
    };
    const garbled = withoutPlatformEvent as unknown as SandboxWebhook;
    const info = vi.spyOn(logger, 'info');

    await consume([unknown, garbled]);

    expect(await readMarker(markerOf(unknown))).toMatchObject({ outcome: 'acknowledged' });
    expect(await readMarker(markerOf(garbled))).toMatchObject({ outcome: 'acknowledged' });
    expect(await readItem(purchaseKey('apple', bought.purchase.subjectKey))).toBeUndefined();
    expect(info).toHaveBeenCalledWith(
      'Webhook acknowledged without a state change',
      expect.objectContaining({
        eventId: unknown.eventId,
        event: 'unknown',
        platformEvent: 'apple.some_future_type',
        legacyEvent: 'apple.some_future_type',
      }),
    );
    expect(info).toHaveBeenCalledWith(
      'Webhook acknowledged without a state change',
      expect.objectContaining({ eventId: garbled.eventId, event: 'unknown', legacyEvent: 'apple.garbled' }),
    );
  });
});
