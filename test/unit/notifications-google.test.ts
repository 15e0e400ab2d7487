import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attestoWebhookSchema } from '../../shared/attesto/schemas';
import {
  MalformedNotificationError,
  NotificationAuthError,
  NotificationCheckUnavailableError,
} from '../../shared/ingest/errors';
import { normalizeGoogleNotification } from '../../shared/ingest/google/envelope';
import { decodePubSubMessage } from '../../shared/ingest/google/pubsub-message';
import { type PubSubPushAuthConfig, verifyPubSubPush } from '../../shared/ingest/google/pubsub-push-auth';
import {
  type GoogleTestOidc,
  pubSubPushBody,
  startGoogleTestOidc,
  TEST_AUDIENCE,
  TEST_PUSH_SERVICE_ACCOUNT,
} from '../support/google-test-oidc';

const PACKAGE = 'com.example.iapdemo';
const EVENT_TIME = '1795000000000';

let oidc: GoogleTestOidc;
beforeAll(async () => {
  oidc = await startGoogleTestOidc();
});
afterAll(async () => {
  await oidc.stop();
});

function authConfig(overrides: Partial<PubSubPushAuthConfig> = {}): PubSubPushAuthConfig {
  return {
    audience: TEST_AUDIENCE,
    serviceAccountEmail: TEST_PUSH_SERVICE_ACCOUNT,
    jwks: oidc.jwks(),
    ...overrides,
  };
}

async function refusal(promise: Promise<unknown>): Promise<NotificationAuthError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NotificationAuthError);
  expect((error as NotificationAuthError).statusCode).toBe(401);
  return error as NotificationAuthError;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('Pub/Sub push authentication', () => {
  it('accepts a token Google signed for our audience and push service account', async () => {
    const identity = await verifyPubSubPush(`Bearer ${await oidc.token()}`, authConfig());
    expect(identity.email).toBe(TEST_PUSH_SERVICE_ACCOUNT);
    expect(identity.expiresAt).toBeGreaterThan(nowSeconds());
  });

  it('accepts both of Google’s issuer spellings and a lower-case bearer scheme', async () => {
    const token = await oidc.token({ iss: 'accounts.google.com' });
    await expect(verifyPubSubPush(`bearer ${token}`, authConfig())).resolves.toMatchObject({
      email: TEST_PUSH_SERVICE_ACCOUNT,
    });
  });

  it('tolerates a small clock skew and no more', async () => {
    const justExpired = await oidc.token({ iat: nowSeconds() - 3610, exp: nowSeconds() - 10 });
    await expect(verifyPubSubPush(`Bearer ${justExpired}`, authConfig())).resolves.toBeDefined();
    const expired = await oidc.token({ iat: nowSeconds() - 3700, exp: nowSeconds() - 100 });
    expect((await refusal(verifyPubSubPush(`Bearer ${expired}`, authConfig()))).rejection).toBe('EXPIRED');
  });

  const refusals: [string, () => Promise<string>, string][] = [
    [
      'signed with a key Google does not publish',
      () => oidc.token({}, { key: oidc.foreignKey }),
      'BAD_SIGNATURE',
    ],
    [
      'signed with an unknown key id',
      () => oidc.token({}, { key: oidc.foreignKey, kid: 'nope' }),
      'BAD_SIGNATURE',
    ],
    ['expired', () => oidc.token({ iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 }), 'EXPIRED'],
    [
      'issued in the future',
      () => oidc.token({ iat: nowSeconds() + 600, exp: nowSeconds() + 4200 }),
      'EXPIRED',
    ],
    ['for another audience', () => oidc.token({ aud: 'https://elsewhere.example/push' }), 'WRONG_AUDIENCE'],
    [
      'from another service account',
      () => oidc.token({ email: 'someone@evil.example' }),
      'WRONG_SERVICE_ACCOUNT',
    ],
    ['without an email', () => oidc.token({ email: null }), 'MALFORMED'],
    ['with email_verified false', () => oidc.token({ email_verified: false }), 'EMAIL_NOT_VERIFIED'],
    [
      'with email_verified "true" as a string',
      () => oidc.token({ email_verified: 'true' }),
      'EMAIL_NOT_VERIFIED',
    ],
    ['from another issuer', () => oidc.token({ iss: 'https://evil.example' }), 'WRONG_ISSUER'],
    ['without exp', () => oidc.token({ exp: null }), 'MALFORMED'],
  ];
  it.each(refusals)('refuses a token %s', async (_name, make, expected) => {
    const error = await refusal(verifyPubSubPush(`Bearer ${await make()}`, authConfig()));
    expect(error.rejection).toBe(expected);
  });

  it('refuses a tampered token and an unsigned one', async () => {
    const [header, body, signature] = (await oidc.token()).split('.');
    const claims = JSON.parse(Buffer.from(body as string, 'base64url').toString());
    const tampered = Buffer.from(JSON.stringify({ ...claims, email: 'x@evil.example' })).toString(
      'base64url',
    );
    await refusal(verifyPubSubPush(`Bearer ${header}.${tampered}.${signature}`, authConfig()));
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    await refusal(verifyPubSubPush(`Bearer ${none}.${body}.`, authConfig()));
  });

  it('refuses a missing or non-bearer Authorization header', async () => {
    for (const header of [undefined, '', 'Basic dXNlcjpwYXNz', 'Bearer']) {
      expect((await refusal(verifyPubSubPush(header, authConfig()))).rejection).toBe('MISSING_TOKEN');
    }
  });

  describe('when Google’s key set cannot be fetched the check is retryable (503), not a 401', () => {
    it.each([
      ['answers 500', 500],
      ['answers 404', 404],
      ['answers something that is not JSON', 'not-json'],
    ] as const)('the key set endpoint %s', async (_name, mode) => {
      oidc.respondWith(mode);
      try {
        const error = await verifyPubSubPush(
          `Bearer ${await oidc.token()}`,
          authConfig({ jwks: oidc.jwks() }),
        ).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(NotificationCheckUnavailableError);
        expect((error as NotificationCheckUnavailableError).statusCode).toBe(503);
      } finally {
        oidc.respondWith('ok');
      }
    });

    it('the key set endpoint is unreachable (through the default remote key set)', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const error = await verifyPubSubPush(
        `Bearer ${await oidc.token()}`,
        authConfig({ jwks: undefined, jwksUrl: `http://127.0.0.1:${port}/certs` }),
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotificationCheckUnavailableError);
    });
  });

  it('uses the remote key set at jwksUrl when no getter is injected', async () => {
    await expect(
      verifyPubSubPush(
        `Bearer ${await oidc.token()}`,
        authConfig({ jwks: undefined, jwksUrl: oidc.jwksUrl }),
      ),
    ).resolves.toMatchObject({ email: TEST_PUSH_SERVICE_ACCOUNT });
  });
});

describe('decodePubSubMessage', () => {
  const renewal = {
    version: '1.0',
    packageName: PACKAGE,
    eventTimeMillis: EVENT_TIME,
    subscriptionNotification: {
      version: '1.0',
      notificationType: 2,
      purchaseToken: 'tok-2',
      subscriptionId: 'premium_monthly',
    },
  };

  it('decodes the DeveloperNotification and keeps the Pub/Sub ids', () => {
    const body = pubSubPushBody(renewal, { messageId: 'm-1', publishTime: '2026-11-21T10:00:00Z' });
    const decoded = decodePubSubMessage(body);
    expect(decoded).toEqual({
      messageId: 'm-1',
      publishTime: '2026-11-21T10:00:00Z',
      subscription: body.subscription,
      data: body.message.data,
      notification: renewal,
    });
    expect(decodePubSubMessage(JSON.stringify(body)).notification).toEqual(renewal);
  });

  const bad: [string, unknown, string | null][] = [
    ['a body that is not JSON', '{not json', null],
    ['a body without message', { subscription: 's' }, 'message'],
    ['a message without messageId', { message: { data: 'e30=' } }, 'message.messageId'],
    ['data that is not base64', { message: { data: '!!!not base64!!!', messageId: 'm' } }, 'message.data'],
    [
      'data that is not JSON',
      { message: { data: Buffer.from('hello').toString('base64'), messageId: 'm' } },
      'message.data',
    ],
    [
      'a notification without packageName',
      pubSubPushBody({ version: '1.0', eventTimeMillis: EVENT_TIME, testNotification: { version: '1.0' } }),
      'message.data.packageName',
    ],
    [
      'a subscription notification without purchaseToken',
      pubSubPushBody({ ...renewal, subscriptionNotification: { notificationType: 2, subscriptionId: 'p' } }),
      'message.data.subscriptionNotification.purchaseToken',
    ],
  ];
  it.each(bad)('refuses %s with a 400 naming the field', (_name, body, path) => {
    let error: unknown;
    try {
      decodePubSubMessage(body);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MalformedNotificationError);
    expect((error as MalformedNotificationError).statusCode).toBe(400);
    if (path) expect((error as MalformedNotificationError).issues?.map((i) => i.path)).toContain(path);
  });
});

describe('Google notifications normalise as Attesto would', () => {
  const subscriptionCases: [number, string, string | null][] = [
    [1, 'subscription.recovered', null],
    [2, 'subscription.renewed', null],
    [3, 'subscription.cancellation_scheduled', null],
    [4, 'subscription.purchased', 'initial'],
    [5, 'subscription.on_hold', null],
    [6, 'subscription.in_grace_period', null],
    [7, 'subscription.cancellation_revoked', null],
    [8, 'subscription.price_change_accepted', null],
    [9, 'subscription.deferred', null],
    [10, 'subscription.paused', null],
    [11, 'subscription.pause_schedule_changed', null],
    [12, 'subscription.revoked', null],
    [13, 'subscription.expired', null],
    [17, 'subscription.pending_purchase_canceled', null],
    [19, 'subscription.price_change_updated', null],
    [20, 'subscription.price_change_rejected', null],
    [14, 'unknown', null],
  ];

  function envelopeFor(notification: Record<string, unknown>, messageId = 'msg-1') {
    const body = pubSubPushBody(
      { version: '1.0', packageName: PACKAGE, eventTimeMillis: EVENT_TIME, ...notification },
      { messageId },
    );
    const envelope = normalizeGoogleNotification(
      decodePubSubMessage(body),
      new Date('2026-11-21T10:00:01.000Z'),
    );
    expect(attestoWebhookSchema.safeParse(envelope).success).toBe(true);
    // data is the DeveloperNotification exactly as Google sent it, raw the Pub/Sub message.
    expect(envelope.data).toEqual(JSON.parse(Buffer.from(body.message.data, 'base64').toString()));
    expect(envelope.raw).toEqual({
      message: { data: body.message.data, messageId, publishTime: body.message.publishTime },
    });
    return envelope;
  }

  it.each(subscriptionCases)('subscription notification %i → %s', (type, event, reason) => {
    const envelope = envelopeFor(
      {
        subscriptionNotification: {
          version: '1.0',
          notificationType: type,
          purchaseToken: `tok-${type}`,
          subscriptionId: 'premium_monthly',
        },
      },
      `msg-sub-${type}`,
    );
    expect(envelope).toMatchObject({
      event,
      reason,
      platformEvent: `google.subscription.${type}`,
      eventId: `google_msg-sub-${type}`,
      externalId: `msg-sub-${type}`,
      timestamp: '2026-11-21T10:00:01.000Z',
      tenantId: 'direct',
      source: 'google',
      // The notification's own token: the consumer resolves upgrade chains to the root itself.
      subject: { key: `tok-${type}`, productId: 'premium_monthly', type: 'subscription' },
      appUserId: null,
    });
  });

  it.each([
    [1, 'product.purchased'],
    [2, 'product.canceled'],
    [3, 'unknown'],
  ] as const)('one-time product notification %i → %s', (type, event) => {
    const envelope = envelopeFor({
      oneTimeProductNotification: {
        version: '1.0',
        notificationType: type,
        purchaseToken: 'otp-tok',
        sku: 'remove_ads',
      },
    });
    expect(envelope).toMatchObject({
      event,
      reason: null,
      platformEvent: `google.product.${type}`,
      subject: { key: 'otp-tok', productId: 'remove_ads', type: 'product' },
      appUserId: null,
    });
  });

  it('an older one-time payload naming productId instead of sku', () => {
    const envelope = envelopeFor({
      oneTimeProductNotification: { notificationType: 1, purchaseToken: 'otp-tok', productId: 'coins_100' },
    });
    expect(envelope.subject).toEqual({ key: 'otp-tok', productId: 'coins_100', type: 'product' });
  });

  it('a voided purchase → subscription.refunded with no subject (found by token/orderId in data)', () => {
    const envelope = envelopeFor({
      voidedPurchaseNotification: {
        purchaseToken: 'void-tok',
        orderId: 'GPA.1234-5678',
        productType: 1,
        refundType: 1,
      },
    });
    expect(envelope).toMatchObject({
      event: 'subscription.refunded',
      reason: null,
      platformEvent: 'google.voided',
      subject: null,
    });
    expect(envelope.data.voidedPurchaseNotification).toMatchObject({
      purchaseToken: 'void-tok',
      orderId: 'GPA.1234-5678',
    });
  });

  it('a test notification → test, and an empty one → unknown', () => {
    expect(envelopeFor({ testNotification: { version: '1.0' } })).toMatchObject({
      event: 'test',
      platformEvent: 'google.test',
      subject: null,
    });
    expect(envelopeFor({})).toMatchObject({
      event: 'unknown',
      platformEvent: 'google.unknown',
      subject: null,
    });
  });
});
