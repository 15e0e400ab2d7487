import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext } from '../../dev/fixtures/api-event';
import type { AttestoSandbox } from '../../dev/sandbox/server';
import type { GooglePurchaseRecord, SandboxWebhook } from '../../dev/sandbox/world-types';
import { purchaseKey } from '../../shared/domain/purchase';
import { getPurchase } from '../../shared/store/purchases';
import { useLocalAws } from '../support/local-aws';
import { readMarker, sqsEvent, startSandboxForConsumer } from './webhook-test-kit';

// Google voided purchases (refunds, chargebacks) through the real consumer: a void arriving with
// a subject is applied like one without; a subscription takes the state Google reports after the
// refund (a refunded renewal of a live subscription keeps access; a revoked one ends); a one-time
// product loses access on a full refund, never on a quantity-based partial one.

type Handler = (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<SQSBatchResponse>;

/** The same voided notification as a relay that names the purchase would send it. */
function withSubject(
  webhook: SandboxWebhook,
  key: string,
  productId: string,
  type: 'subscription' | 'product',
) {
  return { ...webhook, subject: { key, productId, type } };
}

function withRefundType(webhook: SandboxWebhook, refundType: number): SandboxWebhook {
  const data = structuredClone(webhook.data) as { voidedPurchaseNotification: Record<string, unknown> };
  data.voidedPurchaseNotification.refundType = refundType;
  return { ...webhook, data };
}

describe('Google voided purchases (real consumer, DynamoDB Local, Attesto sandbox)', () => {
  let sandbox: AttestoSandbox;
  let handler: Handler;
  const consume = async (...webhooks: SandboxWebhook[]) => {
    for (const webhook of webhooks) {
      expect(await handler(sqsEvent([webhook]), lambdaContext('webhook-consumer'))).toEqual({
        batchItemFailures: [],
      });
    }
  };
  const markerOf = (w: SandboxWebhook) => readMarker(`${w.source}:${w.externalId}`);
  const record = (id: string) => sandbox.controller.purchase(id).record as GooglePurchaseRecord;

  beforeAll(async () => {
    await useLocalAws();
    sandbox = await startSandboxForConsumer();
    ({ handler } = (await import('../../functions/webhook-consumer/handler')) as { handler: Handler });
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('applies a voided one-time product that arrives WITH a subject: a full refund revokes it', async () => {
    const bought = await sandbox.buy({ platform: 'google', productId: 'remove_ads', deliver: false });
    await consume(...bought.webhooks);
    const pk = purchaseKey('google', bought.purchase.subjectKey);
    expect((await getPurchase(pk))?.status).toBe('active');

    const [voided] = (await sandbox.act(bought.purchase.id, 'refund', { deliver: false })).webhooks;
    const refund = withSubject(voided as SandboxWebhook, bought.purchase.token, 'remove_ads', 'product');
    await consume(refund);
    expect(await getPurchase(pk)).toMatchObject({ status: 'refunded', productId: 'remove_ads' });
    expect(await markerOf(refund)).toMatchObject({ outcome: 'refunded' });
  });

  it('applies a voided subscription that arrives WITH a subject as the state Google reports (revoked: ended)', async () => {
    const bought = await sandbox.buy({ platform: 'google', productId: 'premium_monthly', deliver: false });
    await consume(...bought.webhooks);
    const pk = purchaseKey('google', bought.purchase.subjectKey);

    const [voided] = (await sandbox.act(bought.purchase.id, 'refund', { deliver: false })).webhooks;
    const refund = withSubject(
      voided as SandboxWebhook,
      bought.purchase.subjectKey,
      'premium_monthly',
      'subscription',
    );
    await consume(refund);
    expect(await getPurchase(pk)).toMatchObject({
      status: 'expired',
      willRenew: false,
      productId: 'premium_monthly',
      expiresAt: record(bought.purchase.id).expiryTime,
    });
    expect(await markerOf(refund)).toMatchObject({ outcome: 'voided' });
  });

  it.each([
    ['without a subject', false],
    ['with a subject', true],
  ])('keeps a live subscription whose one renewal order was refunded (%s)', async (_name, subject) => {
    const bought = await sandbox.buy({ platform: 'google', productId: 'premium_monthly', deliver: false });
    const renewed = await sandbox.act(bought.purchase.id, 'renew', { deliver: false });
    await consume(...bought.webhooks, ...renewed.webhooks);
    const pk = purchaseKey('google', bought.purchase.subjectKey);
    const before = await getPurchase(pk);
    expect(before).toMatchObject({ status: 'active', willRenew: true });

    // Play Console: refund the first order, do not revoke.
    const firstOrder = record(bought.purchase.id).orderId;
    const [voided] = (
      await sandbox.act(bought.purchase.id, 'refund', { transactionId: firstOrder, deliver: false })
    ).webhooks as [SandboxWebhook];
    expect(voided.data.voidedPurchaseNotification).toMatchObject({ orderId: firstOrder, productType: 1 });
    const refund = subject
      ? withSubject(voided, bought.purchase.subjectKey, 'premium_monthly', 'subscription')
      : voided;
    await consume(refund);
    expect(await getPurchase(pk)).toMatchObject({
      status: 'active',
      willRenew: true,
      productId: 'premium_monthly',
      expiresAt: before?.expiresAt,
    });
    expect(await markerOf(refund)).toMatchObject({ outcome: 'voided' });
  });

  it('keeps a one-time product after a quantity-based partial refund (refundType 2), and records it', async () => {
    const bought = await sandbox.buy({ platform: 'google', productId: 'remove_ads', deliver: false });
    await consume(...bought.webhooks);
    const pk = purchaseKey('google', bought.purchase.subjectKey);

    const [voided] = (await sandbox.act(bought.purchase.id, 'refund', { deliver: false })).webhooks;
    const partial = withRefundType(voided as SandboxWebhook, 2);
    await consume(partial);
    expect(await getPurchase(pk)).toMatchObject({ status: 'active', productId: 'remove_ads' });
    expect(await markerOf(partial)).toMatchObject({ outcome: 'recorded' });

    // The same purchase refunded in full afterwards does lose access.
    const full = {
      ...withRefundType(voided as SandboxWebhook, 1),
      eventId: 'evt_full',
      externalId: 'full-refund',
    };
    await consume(full);
    expect((await getPurchase(pk))?.status).toBe('refunded');
  });

  it('never rolls an upgraded subscription back for a refunded order of the token it replaced', async () => {
    const bought = await sandbox.buy({ platform: 'google', productId: 'premium_monthly', deliver: false });
    const upgraded = await sandbox.act(bought.purchase.id, 'upgrade', {
      newProductId: 'premium_yearly',
      deliver: false,
    });
    await consume(...bought.webhooks, ...upgraded.webhooks);
    const pk = purchaseKey('google', bought.purchase.subjectKey);
    const live = { status: 'active', productId: 'premium_yearly', willRenew: true };
    expect(await getPurchase(pk)).toMatchObject(live);

    const oldOrder = record(bought.purchase.id).orderId;
    const [voided] = (
      await sandbox.act(bought.purchase.id, 'refund', { transactionId: oldOrder, deliver: false })
    ).webhooks as [SandboxWebhook];
    await consume(voided);
    expect(await getPurchase(pk)).toMatchObject(live);
    expect((await getPurchase(pk))?.expiresAt).toBe(record(upgraded.created?.id as string).expiryTime);
  });
});
