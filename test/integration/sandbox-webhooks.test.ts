import { compactVerify, importJWK } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AttestoSandbox, startAttestoSandbox } from '../../dev/sandbox/server';
import {
  type ReceivedWebhook,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../../dev/sandbox/webhook-receiver';
import {
  decodeAppleRenewalInfo,
  decodeAppleTransaction,
  decodeJwsPayload,
} from '../../shared/attesto/apple-jws';
import {
  type AttestoWebhook,
  appleNotificationDataSchema,
  attestoWebhookSchema,
  googleDeveloperNotificationSchema,
  isAttestoEvent,
} from '../../shared/attesto/schemas';
import { verifyAttestoSignature } from '../../shared/attesto/webhook-signature';

// Every webhook the sandbox sends must be one a backend accepts from the real Attesto: a valid
// signature over the exact bytes, the §3.4 envelope, Apple's decoded notification with readable
// inner JWS, Google's DeveloperNotification — and the §3.6 event for each store event.

const SECRET = 'k2vX9q1u0yQh3J7bW4eT6rN8mP5sL2aD9fG1hJ3kL5c=';
const USER = '6f1d2c3b-4a5e-4f60-9b7a-8c9d0e1f2a3b';

let sandbox: AttestoSandbox;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  sandbox = await startAttestoSandbox({
    apiKey: 'attesto_test_webhooks',
    webhookSecret: SECRET,
    webhookUrl: receiver.url,
    packageName: 'com.example.app',
    bundleId: 'com.example.app',
    seed: 7,
  });
});

afterAll(async () => {
  await sandbox.stop();
  await receiver.stop();
});

beforeEach(() => {
  receiver.received.length = 0;
  receiver.respondWith(200);
});

/** Checks one delivery as a backend would, and returns the parsed envelope. */
function accept(delivery: ReceivedWebhook): AttestoWebhook {
  const header = delivery.headers['x-attesto-signature'];
  expect(
    verifyAttestoSignature({
      rawBody: delivery.rawBody,
      header: typeof header === 'string' ? header : undefined,
      secrets: [SECRET],
      nowSeconds: delivery.receivedAtSeconds,
    }),
  ).toBe(true);
  const webhook = attestoWebhookSchema.parse(JSON.parse(delivery.rawBody));
  expect(delivery.headers['content-type']).toBe('application/json');
  expect(delivery.headers['x-attesto-event']).toBe(webhook.event);
  expect(delivery.headers['x-attesto-event-id']).toBe(webhook.eventId);
  expect(delivery.headers['x-attesto-timestamp']).toBe(String(header).match(/^t=(\d+),/)?.[1]);
  expect(delivery.headers['x-attesto-version']).toBeTruthy();
  expect(webhook.eventId).toMatch(/^evt_[0-9A-HJKMNP-TV-Z]{26}$/);
  expect(webhook.tenantId).toMatch(/^tenant_[0-9A-HJKMNP-TV-Z]{26}$/);
  expect(webhook.tenantId).toBe(sandbox.tenantId);
  expect(isAttestoEvent(webhook.event)).toBe(true);
  return webhook;
}

function appleDetails(webhook: AttestoWebhook) {
  const notification = appleNotificationDataSchema.parse(webhook.data);
  expect(notification.version).toBe('2.0');
  expect(notification.notificationUUID).toBe(webhook.externalId);
  expect(notification.data?.environment).toBe('Sandbox');
  // raw.signedPayload is the JWS of exactly `data`.
  expect(decodeJwsPayload(String(webhook.raw.signedPayload))).toEqual(webhook.data);
  const transaction = decodeAppleTransaction(notification.data?.signedTransactionInfo ?? '');
  const renewal = notification.data?.signedRenewalInfo
    ? decodeAppleRenewalInfo(notification.data.signedRenewalInfo)
    : null;
  return { notification, transaction, renewal };
}

function googleDetails(webhook: AttestoWebhook) {
  const notification = googleDeveloperNotificationSchema.parse(webhook.data);
  const message = (webhook.raw as { message: { data: string; messageId: string; publishTime: string } })
    .message;
  expect(JSON.parse(Buffer.from(message.data, 'base64').toString('utf8'))).toEqual(webhook.data);
  expect(message.messageId).toBe(webhook.externalId);
  expect(Date.parse(message.publishTime)).toBe(Number(notification.eventTimeMillis));
  return notification;
}

describe('Apple webhooks', () => {
  it('walks a subscription through its lifecycle with the §3.6 events, valid signatures and readable JWS', async () => {
    const bought = await sandbox.buy({ platform: 'apple', productId: 'premium_monthly', appUserId: USER });
    const id = bought.purchase.id;
    const steps: [string, Parameters<AttestoSandbox['act']>[2]?][] = [
      ['renew'],
      ['cancel'],
      ['uncancel'],
      ['fail-billing', { grace: true }],
      ['recover'],
      ['fail-billing'],
      ['expire'],
      ['renew'],
      ['upgrade', { newProductId: 'premium_yearly' }],
      ['refund'],
    ];
    for (const [action, options] of steps) await sandbox.act(id, action as never, options ?? {});

    const webhooks = receiver.received.map(accept);
    const names = webhooks.map((w) => [w.event, w.reason, w.platformEvent]);
    expect(names).toEqual([
      ['subscription.purchased', 'initial', 'apple.subscribed.initial_buy'],
      ['subscription.renewed', null, 'apple.did_renew'],
      ['subscription.cancellation_scheduled', null, 'apple.did_change_renewal_status.auto_renew_disabled'],
      ['subscription.cancellation_revoked', null, 'apple.did_change_renewal_status.auto_renew_enabled'],
      ['subscription.in_grace_period', null, 'apple.did_fail_to_renew.grace_period'],
      ['subscription.recovered', null, 'apple.did_renew.billing_recovery'],
      ['subscription.in_billing_retry', null, 'apple.did_fail_to_renew'],
      ['subscription.expired', 'billing_retry', 'apple.expired.billing_retry'],
      ['subscription.purchased', 'resubscribe', 'apple.subscribed.resubscribe'],
      ['subscription.renewal_pref_changed', null, 'apple.did_change_renewal_pref.upgrade'],
      ['subscription.refunded', null, 'apple.refund'],
    ]);

    const details = webhooks.map(appleDetails);
    for (const [i, webhook] of webhooks.entries()) {
      const { transaction, renewal } = details[i] ?? {};
      expect(webhook.subject).toEqual({
        key: bought.purchase.subjectKey,
        productId: transaction?.productId,
        type: 'subscription',
      });
      expect(webhook.appUserId).toBe(USER);
      expect(transaction?.appAccountToken).toBe(USER);
      expect(transaction?.originalTransactionId).toBe(bought.purchase.subjectKey);
      expect(renewal?.originalTransactionId).toBe(bought.purchase.subjectKey);
    }
    // Upstream times strictly increase along the lifecycle: a backend orders by them.
    const signedDates = details.map((d) => d.notification.signedDate);
    expect([...signedDates].sort((a, b) => a - b)).toEqual(signedDates);
    expect(new Set(signedDates).size).toBe(signedDates.length);

    const byEvent = (event: string) => details[webhooks.findIndex((w) => w.platformEvent === event)];
    expect(byEvent('apple.did_change_renewal_status.auto_renew_disabled')?.renewal?.autoRenewStatus).toBe(0);
    const grace = byEvent('apple.did_fail_to_renew.grace_period');
    expect(grace?.notification.data?.status).toBe(4);
    expect(grace?.renewal?.gracePeriodExpiresDate).toBeGreaterThan(
      grace?.notification.signedDate ?? Infinity,
    );
    expect(byEvent('apple.did_fail_to_renew')?.renewal?.isInBillingRetryPeriod).toBe(true);
    expect(byEvent('apple.did_fail_to_renew')?.notification.data?.status).toBe(3);
    expect(byEvent('apple.expired.billing_retry')?.notification.data?.status).toBe(2);
    const renewed = byEvent('apple.did_renew');
    expect(renewed?.transaction.transactionReason).toBe('RENEWAL');
    expect(renewed?.transaction.transactionId).not.toBe(bought.purchase.subjectKey);
    expect(byEvent('apple.did_change_renewal_pref.upgrade')?.transaction.productId).toBe('premium_yearly');
    const refund = byEvent('apple.refund');
    expect(refund?.transaction.revocationDate).toBe(refund?.notification.signedDate);
    expect(refund?.notification.data?.status).toBe(5);
  });

  it('signs the inner JWS with ES256 (checkable with the sandbox key)', async () => {
    await sandbox.buy({ platform: 'apple', productId: 'premium_monthly' });
    const webhook = accept(receiver.received[0] as ReceivedWebhook);
    const jws = String((webhook.data.data as Record<string, unknown>).signedTransactionInfo);
    const state = sandbox.controller.world.state;
    const { d: _d, ...publicJwk } = state.signingKey as Record<string, string>;
    const key = await importJWK({ ...publicJwk, alg: 'ES256' }, 'ES256');
    const { protectedHeader } = await compactVerify(jws, key);
    expect(protectedHeader.alg).toBe('ES256');
  });

  it('sends ONE_TIME_CHARGE for a consumable and REFUND with a product subject', async () => {
    const bought = await sandbox.buy({ platform: 'apple', productId: 'coins_100', appUserId: USER });
    await sandbox.act(bought.purchase.id, 'refund');

    const [charged, refunded] = receiver.received.map(accept);
    expect([charged?.event, refunded?.event]).toEqual(['product.charged', 'subscription.refunded']);
    expect(refunded?.subject).toEqual({
      key: bought.purchase.subjectKey,
      productId: 'coins_100',
      type: 'product',
    });
    const { transaction, renewal, notification } = appleDetails(refunded as AttestoWebhook);
    expect(transaction.type).toBe('Consumable');
    expect(transaction.revocationDate).toBeTypeOf('number');
    expect(renewal).toBeNull();
    expect(notification.data?.status).toBeUndefined();
  });

  it('family-shares a subscription and revokes the member with REVOKE', async () => {
    const organiser = await sandbox.buy({ platform: 'apple', productId: 'premium_monthly', appUserId: USER });
    const member = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
    const shared = await sandbox.act(organiser.purchase.id, 'family-share', { appUserId: member });
    const memberId = shared.created?.id ?? '';
    await sandbox.act(memberId, 'revoke');

    const [, sharedWebhook, revoked] = receiver.received.map(accept);
    expect(sharedWebhook?.event).toBe('subscription.purchased');
    expect(sharedWebhook?.appUserId).toBe(member);
    expect(appleDetails(sharedWebhook as AttestoWebhook).transaction.inAppOwnershipType).toBe(
      'FAMILY_SHARED',
    );
    expect(sharedWebhook?.subject?.key).not.toBe(organiser.purchase.subjectKey);
    expect(revoked?.event).toBe('subscription.revoked');
    expect(revoked?.platformEvent).toBe('apple.revoke');
    expect(revoked?.subject?.key).toBe(shared.created?.subjectKey);
    expect(appleDetails(revoked as AttestoWebhook).transaction.revocationDate).toBeTypeOf('number');
  });
});

describe('Google webhooks', () => {
  it('walks a subscription through its lifecycle with RTDN numbers and the current token', async () => {
    const bought = await sandbox.buy({ platform: 'google', productId: 'premium_monthly', appUserId: USER });
    const id = bought.purchase.id;
    for (const [action, options] of [
      ['renew'],
      ['cancel'],
      ['uncancel'],
      ['fail-billing', { grace: true }],
      ['hold'],
      ['recover'],
      ['pause'],
      ['renew'],
      ['expire'],
    ] as const) {
      await sandbox.act(id, action, options ?? {});
    }

    const webhooks = receiver.received.map(accept);
    expect(webhooks.map((w) => [w.event, w.platformEvent])).toEqual([
      ['subscription.purchased', 'google.subscription.4'],
      ['subscription.renewed', 'google.subscription.2'],
      ['subscription.cancellation_scheduled', 'google.subscription.3'],
      ['subscription.cancellation_revoked', 'google.subscription.7'],
      ['subscription.in_grace_period', 'google.subscription.6'],
      ['subscription.on_hold', 'google.subscription.5'],
      ['subscription.recovered', 'google.subscription.1'],
      ['subscription.paused', 'google.subscription.10'],
      ['subscription.renewed', 'google.subscription.2'],
      ['subscription.expired', 'google.subscription.13'],
    ]);
    const token = bought.purchase.token;
    const times: number[] = [];
    for (const webhook of webhooks) {
      const notification = googleDetails(webhook);
      expect(notification.packageName).toBe('com.example.app');
      expect(notification.subscriptionNotification).toMatchObject({
        purchaseToken: token,
        subscriptionId: 'premium_monthly',
      });
      expect(webhook.subject).toEqual({ key: token, productId: 'premium_monthly', type: 'subscription' });
      expect(webhook.appUserId).toBe(USER);
      times.push(Number(notification.eventTimeMillis));
    }
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(new Set(times).size).toBe(times.length);
  });

  it('announces an upgrade as purchased with the ROOT token as subject.key and the new token in data', async () => {
    const bought = await sandbox.buy({ platform: 'google', productId: 'premium_monthly', appUserId: USER });
    const root = bought.purchase.token;
    const first = await sandbox.act(bought.purchase.id, 'upgrade', { newProductId: 'premium_yearly' });
    const second = await sandbox.act(first.created?.id ?? '', 'upgrade', { newProductId: 'premium_monthly' });
    const latestToken = second.created?.token;

    const webhooks = receiver.received.map(accept);
    // Each upgrade: the new token's purchase, then the replaced token's expiry, both under the root.
    expect(webhooks.map((w) => w.event)).toEqual([
      'subscription.purchased',
      'subscription.purchased',
      'subscription.expired',
      'subscription.purchased',
      'subscription.expired',
    ]);
    const purchased = webhooks[3] as AttestoWebhook;
    expect(purchased.subject).toEqual({ key: root, productId: 'premium_monthly', type: 'subscription' });
    expect(googleDetails(purchased).subscriptionNotification?.purchaseToken).toBe(latestToken);
    const replaced = webhooks[4] as AttestoWebhook;
    expect(replaced.subject).toEqual({ key: root, productId: 'premium_yearly', type: 'subscription' });
    expect(googleDetails(replaced).subscriptionNotification).toMatchObject({
      notificationType: 13,
      purchaseToken: first.created?.token,
      subscriptionId: 'premium_yearly',
    });
    expect(Number(googleDetails(replaced).eventTimeMillis)).toBeGreaterThan(
      Number(googleDetails(purchased).eventTimeMillis),
    );
    expect(webhooks[1]?.subject?.key).toBe(root);
    expect(webhooks[2]?.subject?.key).toBe(root);
    expect(googleDetails(webhooks[2] as AttestoWebhook).subscriptionNotification?.purchaseToken).toBe(root);
    expect(second.created?.subjectKey).toBe(root);
  });

  it('sends a voided purchase with subject and appUserId null for a refund', async () => {
    const bought = await sandbox.buy({ platform: 'google', productId: 'premium_monthly', appUserId: USER });
    await sandbox.act(bought.purchase.id, 'renew');
    await sandbox.act(bought.purchase.id, 'refund');

    const voided = accept(receiver.received[2] as ReceivedWebhook);
    expect(voided).toMatchObject({
      event: 'subscription.refunded',
      platformEvent: 'google.voided',
      subject: null,
      appUserId: null,
    });
    expect(googleDetails(voided).voidedPurchaseNotification).toEqual({
      purchaseToken: bought.purchase.token,
      orderId: `${bought.purchase.record.platform === 'google' ? bought.purchase.record.orderId : ''}..0`,
      productType: 1,
      refundType: 1,
    });
  });

  it('sends oneTimeProductNotification for a one-time product, without appUserId', async () => {
    const bought = await sandbox.buy({ platform: 'google', productId: 'coins_100', appUserId: USER });
    await sandbox.act(bought.purchase.id, 'refund');

    const [purchased, voided] = receiver.received.map(accept);
    expect(purchased).toMatchObject({
      event: 'product.purchased',
      platformEvent: 'google.product.1',
      appUserId: null,
    });
    expect(purchased?.subject).toEqual({
      key: bought.purchase.subjectKey,
      productId: 'coins_100',
      type: 'product',
    });
    expect(googleDetails(purchased as AttestoWebhook).oneTimeProductNotification).toMatchObject({
      notificationType: 1,
      sku: 'coins_100',
    });
    expect(googleDetails(voided as AttestoWebhook).voidedPurchaseNotification?.productType).toBe(2);
  });
});

describe('delivery control', () => {
  it('builds without sending, then lets the test deliver duplicates and out of order', async () => {
    const bought = await sandbox.buy({ platform: 'apple', productId: 'premium_monthly', deliver: false });
    const renewed = await sandbox.act(bought.purchase.id, 'renew', { deliver: false });
    expect(bought.deliveries).toEqual([]);
    expect(receiver.received).toHaveLength(0);

    const [purchased] = bought.webhooks;
    const [renewal] = renewed.webhooks;
    const results = await sandbox.deliver([renewal, purchased, purchased].filter((w) => w !== undefined));

    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    const received = receiver.received.map(accept);
    expect(received.map((w) => w.eventId)).toEqual([
      renewal?.eventId,
      purchased?.eventId,
      purchased?.eventId,
    ]);
    // The same event re-sent is byte-identical; only the signature's t may change.
    expect(receiver.received[1]?.rawBody).toBe(receiver.received[2]?.rawBody);
  });

  it('returns a signed request that a test can POST itself', async () => {
    const bought = await sandbox.buy({ platform: 'google', productId: 'premium_monthly', deliver: false });
    const request = sandbox.buildWebhookRequest(bought.webhooks[0]?.eventId ?? '');

    const response = await fetch(receiver.url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
    });

    expect(response.status).toBe(200);
    expect(accept(receiver.received[0] as ReceivedWebhook).eventId).toBe(bought.webhooks[0]?.eventId);
  });

  it("reports the receiver's status and an unreachable URL to the caller", async () => {
    receiver.respondWith(500);
    const failed = await sandbox.buy({ platform: 'apple', productId: 'premium_monthly' });
    expect(failed.deliveries).toMatchObject([{ status: 500, delivered: false }]);

    const unreachable = await sandbox.act(failed.purchase.id, 'renew', {
      webhookUrl: 'http://127.0.0.1:9/nowhere',
    });
    expect(unreachable.deliveries[0]).toMatchObject({ status: null, delivered: false });
    expect(unreachable.deliveries[0]?.error).toBeTruthy();
  });
});
