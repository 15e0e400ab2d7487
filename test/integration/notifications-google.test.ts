import { randomUUID } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttestoSandbox } from '../../dev/sandbox/server';
import type { LifecycleAction } from '../../dev/sandbox/world';
import type { SandboxWebhook } from '../../dev/sandbox/world-types';
import { resetConfigCache } from '../../shared/config';
import { purchaseKey } from '../../shared/domain/purchase';
import { receiveGoogleNotification } from '../../shared/ingest/google/receive-notification';
import { getPurchase } from '../../shared/store/purchases';
import {
  type GoogleTestOidc,
  startGoogleTestOidc,
  TEST_AUDIENCE,
  TEST_PUSH_SERVICE_ACCOUNT,
} from '../support/google-test-oidc';
import { useLocalAws } from '../support/local-aws';
import { type ConsumerHandler, QueueTap, type StoreHandler, storeRequest } from './notifications-test-kit';
import { APP_ID, readMarker, startSandboxForConsumer } from './webhook-test-kit';

// POST /webhooks/google end to end inside the process: a Pub/Sub push signed by a local stand-in
// for Google's OIDC keys goes through the real handler onto the real queue (fauxqs); the real
// consumer re-reads each purchase through the Attesto sandbox, where the purchase lives, and
// applies it to DynamoDB Local. One case per RTDN type.

interface PushMessage {
  data: string;
  messageId: string;
  publishTime: string;
}

const messageOf = (webhook: SandboxWebhook): PushMessage => webhook.raw.message as PushMessage;
const pushBody = (message: PushMessage) =>
  JSON.stringify({ message, subscription: 'projects/example-project/subscriptions/play-rtdn-push' });

type Setup = {
  product: 'premium_monthly' | 'remove_ads';
  actions?: [LifecycleAction, { grace?: boolean }?][];
};
interface Case {
  name: string;
  setup: Setup;
  /** `sandbox`: the notification the store sent for the last step; else one built here. */
  notification: 'sandbox' | ((token: string, productId: string) => Record<string, unknown>);
  outcome: string;
  state: (view: { expiresAt: number | null }) => Record<string, unknown>;
}

const sub = (type: number) => (purchaseToken: string, subscriptionId: string) => ({
  subscriptionNotification: { version: '1.0', notificationType: type, purchaseToken, subscriptionId },
});
const active = (v: { expiresAt: number | null }) => ({
  status: 'active',
  willRenew: true,
  expiresAt: v.expiresAt,
});
const monthly = (...actions: [LifecycleAction, { grace?: boolean }?][]): Setup => ({
  product: 'premium_monthly',
  actions,
});

const cases: Case[] = [
  {
    name: '1 SUBSCRIPTION_RECOVERED',
    setup: monthly(['fail-billing', { grace: true }], ['recover']),
    notification: 'sandbox',
    outcome: 'recovered',
    state: active,
  },
  {
    name: '2 SUBSCRIPTION_RENEWED',
    setup: monthly(['renew']),
    notification: 'sandbox',
    outcome: 'renewed',
    state: active,
  },
  {
    name: '3 SUBSCRIPTION_CANCELED',
    setup: monthly(['cancel']),
    notification: 'sandbox',
    outcome: 'cancellation_scheduled',
    state: (v) => ({ status: 'active', willRenew: false, expiresAt: v.expiresAt }),
  },
  {
    name: '4 SUBSCRIPTION_PURCHASED',
    setup: monthly(),
    notification: 'sandbox',
    outcome: 'purchased',
    state: active,
  },
  {
    name: '5 SUBSCRIPTION_ON_HOLD',
    setup: monthly(['hold']),
    notification: 'sandbox',
    outcome: 'on_hold',
    state: (v) => ({ status: 'on_hold', expiresAt: v.expiresAt }),
  },
  {
    name: '6 SUBSCRIPTION_IN_GRACE_PERIOD',
    setup: monthly(['fail-billing', { grace: true }]),
    notification: 'sandbox',
    outcome: 'in_grace_period',
    state: (v) => ({ status: 'grace', expiresAt: v.expiresAt }),
  },
  {
    name: '7 SUBSCRIPTION_RESTARTED',
    setup: monthly(['cancel'], ['uncancel']),
    notification: 'sandbox',
    outcome: 'cancellation_revoked',
    state: active,
  },
  {
    name: '8 SUBSCRIPTION_PRICE_CHANGE_CONFIRMED',
    setup: monthly(),
    notification: sub(8),
    outcome: 'recorded',
    state: active,
  },
  {
    name: '9 SUBSCRIPTION_DEFERRED',
    setup: monthly(),
    notification: sub(9),
    outcome: 'deferred',
    state: active,
  },
  {
    name: '10 SUBSCRIPTION_PAUSED',
    setup: monthly(['pause']),
    notification: 'sandbox',
    outcome: 'paused',
    state: (v) => ({ status: 'paused', expiresAt: v.expiresAt }),
  },
  {
    name: '11 SUBSCRIPTION_PAUSE_SCHEDULE_CHANGED',
    setup: monthly(),
    notification: sub(11),
    outcome: 'recorded',
    state: active,
  },
  {
    name: '12 SUBSCRIPTION_REVOKED',
    setup: monthly(['revoke']),
    notification: 'sandbox',
    outcome: 'revoked',
    state: () => ({ status: 'revoked' }),
  },
  {
    name: '13 SUBSCRIPTION_EXPIRED',
    setup: monthly(['expire']),
    notification: 'sandbox',
    outcome: 'expired',
    state: () => ({ status: 'expired', willRenew: false }),
  },
  {
    name: '17 SUBSCRIPTION_PENDING_PURCHASE_CANCELED',
    setup: monthly(),
    notification: sub(17),
    outcome: 'recorded',
    state: active,
  },
  {
    name: '19 SUBSCRIPTION_PRICE_CHANGE_UPDATED',
    setup: monthly(),
    notification: sub(19),
    outcome: 'recorded',
    state: active,
  },
  {
    name: '20 SUBSCRIPTION_PRICE_STEP_UP_CONSENT_UPDATED',
    setup: monthly(),
    notification: sub(20),
    outcome: 'recorded',
    state: active,
  },
  {
    name: 'an unknown subscription type (99)',
    setup: monthly(),
    notification: sub(99),
    outcome: 'acknowledged',
    state: active,
  },
  {
    // Refunded and revoked: the re-read finds the subscription ended.
    name: 'voided subscription (refund)',
    setup: monthly(['refund']),
    notification: 'sandbox',
    outcome: 'voided',
    state: () => ({ status: 'expired', productId: 'premium_monthly' }),
  },
  {
    name: 'one-time 1 ONE_TIME_PRODUCT_PURCHASED',
    setup: { product: 'remove_ads' },
    notification: 'sandbox',
    outcome: 'product_purchased',
    state: () => ({ status: 'active', productId: 'remove_ads', expiresAt: null }),
  },
  {
    name: 'one-time 2 ONE_TIME_PRODUCT_CANCELED',
    setup: { product: 'remove_ads' },
    notification: (purchaseToken, sku) => ({
      oneTimeProductNotification: { version: '1.0', notificationType: 2, purchaseToken, sku },
    }),
    outcome: 'product_canceled',
    state: () => ({ status: 'revoked', productId: 'remove_ads' }),
  },
  {
    name: 'voided one-time product (refund)',
    setup: { product: 'remove_ads', actions: [['refund']] },
    notification: 'sandbox',
    outcome: 'refunded',
    state: () => ({ status: 'refunded' }),
  },
];

describe('POST /webhooks/google → queue → consumer (re-read through the Attesto sandbox)', () => {
  let sandbox: AttestoSandbox;
  let oidc: GoogleTestOidc;
  let handler: StoreHandler;
  let consumer: ConsumerHandler;
  let queue: QueueTap;
  let lastEventTime = 0;

  const push = async (message: PushMessage, token?: string | null) => {
    const authorization: Record<string, string> =
      token === null ? {} : { authorization: `Bearer ${token ?? (await oidc.token())}` };
    return handler(storeRequest('/webhooks/google', pushBody(message), authorization));
  };
  const built = (notification: Record<string, unknown>, packageName = APP_ID): PushMessage => {
    lastEventTime = Math.max(Date.now(), lastEventTime) + 1;
    const developerNotification = {
      version: '1.0',
      packageName,
      eventTimeMillis: String(lastEventTime),
      ...notification,
    };
    return {
      data: Buffer.from(JSON.stringify(developerNotification)).toString('base64'),
      messageId: String(Math.floor(Math.random() * 1e16)),
      publishTime: new Date(lastEventTime).toISOString(),
    };
  };
  const fromSandbox = (webhook: SandboxWebhook | undefined): PushMessage => {
    if (!webhook) throw new Error('the sandbox sent no notification');
    lastEventTime = Math.max(
      lastEventTime,
      Number((webhook.data as { eventTimeMillis: string }).eventTimeMillis),
    );
    return messageOf(webhook);
  };
  async function deliver(message: PushMessage): Promise<void> {
    const response = await push(message);
    expect(response.statusCode, response.body).toBe(200);
    const { messages, failed } = await queue.drainInto(consumer);
    expect(messages).toHaveLength(1);
    expect(failed).toEqual([]);
  }

  beforeAll(async () => {
    await useLocalAws();
    [sandbox, oidc] = await Promise.all([startSandboxForConsumer(), startGoogleTestOidc()]);
    Object.assign(process.env, {
      GOOGLE_JWKS_URL: oidc.jwksUrl,
      GOOGLE_PUSH_AUDIENCE: TEST_AUDIENCE,
      GOOGLE_PUSH_SERVICE_ACCOUNT: TEST_PUSH_SERVICE_ACCOUNT,
    });
    resetConfigCache();
    ({ handler } = (await import('../../functions/google-notifications/handler')) as {
      handler: StoreHandler;
    });
    ({ handler: consumer } = (await import('../../functions/webhook-consumer/handler')) as {
      handler: ConsumerHandler;
    });
    queue = new QueueTap();
  });
  afterAll(async () => {
    await Promise.all([sandbox?.stop(), oidc?.stop()]);
    for (const name of ['GOOGLE_JWKS_URL', 'GOOGLE_PUSH_AUDIENCE', 'GOOGLE_PUSH_SERVICE_ACCOUNT'])
      delete process.env[name];
  });

  it.each(cases)('$name → $outcome', async (c) => {
    const bought = await sandbox.buy({ platform: 'google', productId: c.setup.product, deliver: false });
    let last = bought.webhooks.at(-1);
    const actions = c.setup.actions ?? [];
    // The purchase notification itself is the case under test for 4 and one-time 1.
    if (!(c.notification === 'sandbox' && actions.length === 0)) await deliver(fromSandbox(last));
    for (const [action, options] of actions) {
      last = (await sandbox.act(bought.purchase.id, action, { ...options, deliver: false })).webhooks.at(-1);
    }
    const message =
      c.notification === 'sandbox'
        ? fromSandbox(last)
        : built(c.notification(bought.purchase.token, c.setup.product));
    await deliver(message);

    expect(await readMarker(`google:${message.messageId}`)).toMatchObject({ outcome: c.outcome });
    const view = sandbox.purchases().find((p) => p.id === bought.purchase.id);
    const expiresAt = view?.expiresAt ? Date.parse(view.expiresAt) : null;
    const stored = await getPurchase(purchaseKey('google', bought.purchase.subjectKey));
    expect(stored).toMatchObject(c.state({ expiresAt }));
  });

  it('test notification → acknowledged, nothing stored', async () => {
    const message = built({ testNotification: { version: '1.0' } });
    await deliver(message);
    expect(await readMarker(`google:${message.messageId}`)).toMatchObject({ outcome: 'acknowledged' });
  });

  it('an upgrade names the new token; the consumer applies it to the root purchase through its aliases', async () => {
    const bought = await sandbox.buy({ platform: 'google', productId: 'premium_monthly', deliver: false });
    await deliver(fromSandbox(bought.webhooks.at(-1)));
    const upgraded = await sandbox.act(bought.purchase.id, 'upgrade', {
      newProductId: 'premium_yearly',
      deliver: false,
    });
    const [purchased, replacedExpired] = upgraded.webhooks.map(fromSandbox) as [PushMessage, PushMessage];
    const tokenOf = (m: PushMessage) =>
      JSON.parse(Buffer.from(m.data, 'base64').toString()).subscriptionNotification.purchaseToken;
    const newToken = tokenOf(purchased);
    expect(newToken).not.toBe(bought.purchase.token);
    await deliver(purchased);

    const live = { productId: 'premium_yearly', status: 'active', willRenew: true };
    const pk = purchaseKey('google', bought.purchase.subjectKey);
    expect(await getPurchase(pk)).toMatchObject(live);
    expect(await getPurchase(purchaseKey('google', newToken))).toBeUndefined();

    // Google then tells of the replaced token (timed after the new one's purchase): it leads to
    // the same purchase through the old token's alias and must not take the new plan away.
    expect(tokenOf(replacedExpired)).toBe(bought.purchase.token);
    await deliver(replacedExpired);
    expect(await readMarker(`google:${replacedExpired.messageId}`)).toMatchObject({ outcome: 'expired' });
    expect(await getPurchase(pk)).toMatchObject(live);
  });

  it('queues the envelope Attesto would send, with the Pub/Sub messageId as externalId', async () => {
    const bought = await sandbox.buy({ platform: 'google', productId: 'premium_monthly', deliver: false });
    const webhook = bought.webhooks.at(-1) as SandboxWebhook;
    expect((await push(messageOf(webhook))).statusCode).toBe(200);
    const [queued] = await queue.purge();
    expect(JSON.parse(queued?.Body ?? '{}')).toMatchObject({
      event: webhook.event,
      reason: webhook.reason,
      platformEvent: webhook.platformEvent,
      eventId: `google_${webhook.externalId}`,
      externalId: webhook.externalId,
      tenantId: 'direct',
      source: 'google',
      subject: { key: bought.purchase.token, productId: 'premium_monthly', type: 'subscription' },
      data: webhook.data,
      raw: webhook.raw,
    });
  });

  describe('refused: 401, nothing queued', () => {
    const hourAgo = () => Math.floor(Date.now() / 1000) - 3600;
    it.each([
      ['forged: signed with a key Google does not publish', () => oidc.token({}, { key: oidc.foreignKey })],
      ['expired token', () => oidc.token({ iat: hourAgo() - 600, exp: hourAgo() })],
      ['wrong audience', () => oidc.token({ aud: 'https://attacker.example/webhooks/google' })],
      [
        'wrong email (another service account)',
        () => oidc.token({ email: 'someone@attacker.iam.gserviceaccount.com' }),
      ],
      ['email not verified', () => oidc.token({ email_verified: false })],
      ['wrong issuer', () => oidc.token({ iss: 'https://issuer.attacker.example' })],
      ['no token', async () => null],
    ])('%s', async (_name, token) => {
      const response = await push(built(sub(2)(randomUUID(), 'premium_monthly')), await token());
      expect(response.statusCode).toBe(401);
      expect(JSON.parse(response.body ?? '{}')).toEqual({ error: 'UNAUTHORIZED' });
      expect(await queue.receiveAll()).toEqual([]);
    });
  });

  it('acknowledges a notification for another app without queueing it', async () => {
    const response = await push(built(sub(2)(randomUUID(), 'premium_monthly'), 'com.other.app'));
    expect(response.statusCode).toBe(200);
    expect(await queue.receiveAll()).toEqual([]);
  });

  it('acknowledges an authentic push it cannot read, and queues the raw body for the dead-letter queue', async () => {
    const message = {
      data: Buffer.from('not json').toString('base64'),
      messageId: 'undecodable-1',
      publishTime: new Date().toISOString(),
    };
    const response = await push(message);
    expect(response.statusCode).toBe(200);
    const { messages, failed } = await queue.drainInto(consumer);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.MessageAttributes?.eventType?.StringValue).toBe('google.undecodable');
    expect(JSON.parse(messages[0]?.Body ?? '{}').message.messageId).toBe('undecodable-1');
    // Poison for the consumer: SQS retries it, then moves it to the DLQ.
    expect(failed).toEqual([messages[0]?.MessageId]);
    await queue.purge();
  });

  it('answers 413 to an oversized body before anything else', async () => {
    const big = { data: 'A'.repeat(256 * 1024), messageId: 'big', publishTime: new Date().toISOString() };
    expect((await push(big)).statusCode).toBe(413);
    expect(await queue.receiveAll()).toEqual([]);
  });

  it("answers 503 when Google's key set cannot be fetched, never 401", async () => {
    oidc.respondWith(503);
    try {
      const response = await receiveGoogleNotification(
        storeRequest('/webhooks/google', pushBody(built(sub(2)(randomUUID(), 'premium_monthly'))), {
          authorization: `Bearer ${await oidc.token()}`,
        }),
        {
          sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
          queueUrl: () => process.env.WEBHOOK_QUEUE_URL ?? '',
          settings: () => ({
            packageName: APP_ID,
            auth: { audience: TEST_AUDIENCE, serviceAccountEmail: TEST_PUSH_SERVICE_ACCOUNT },
          }),
          jwks: oidc.jwks(),
        },
      );
      expect(response.statusCode).toBe(503);
      expect(response.headers?.['retry-after']).toBeDefined();
    } finally {
      oidc.respondWith('ok');
    }
    expect(await queue.receiveAll()).toEqual([]);
  });

  it('answers 500 when the queue refuses the message, so Pub/Sub delivers again', async () => {
    const response = await receiveGoogleNotification(
      storeRequest('/webhooks/google', pushBody(built(sub(2)(randomUUID(), 'premium_monthly'))), {
        authorization: `Bearer ${await oidc.token()}`,
      }),
      {
        sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
        queueUrl: () => `${process.env.WEBHOOK_QUEUE_URL}-missing`,
        settings: () => ({
          packageName: APP_ID,
          auth: { audience: TEST_AUDIENCE, serviceAccountEmail: TEST_PUSH_SERVICE_ACCOUNT },
        }),
        jwks: oidc.jwks(),
      },
    );
    expect(response.statusCode).toBe(500);
  });
});
