import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attestoWebhookSchema } from '../../shared/attesto/schemas';
import { normalizeAppleNotification } from '../../shared/ingest/apple/envelope';
import {
  type AppleNotificationConfig,
  verifyAppleNotification,
} from '../../shared/ingest/apple/notification-verifier';
import { NotificationAuthError, NotificationCheckUnavailableError } from '../../shared/ingest/errors';
import {
  type AppleTestSigner,
  appleTestPki,
  generateAppleTestPki,
  signAppleJws,
} from '../support/apple-test-pki';

const BUNDLE_ID = 'com.example.iapdemo';
const APP_APPLE_ID = 1234567890;
// Offline checks date the chain at the notification's signedDate, and the test chain starts today.
const NOW = Date.now();
const ACCOUNT_TOKEN = '5f0c1d8e-7a4b-4c2e-9d3f-2a1b0c9d8e7f';

type Env = 'Sandbox' | 'Production';

function transaction(overrides: Record<string, unknown> = {}) {
  return {
    transactionId: '2000000900000001',
    originalTransactionId: '2000000900000000',
    webOrderLineItemId: '2000000055500001',
    bundleId: BUNDLE_ID,
    productId: 'premium_monthly',
    subscriptionGroupIdentifier: '21000001',
    purchaseDate: NOW - 60_000,
    originalPurchaseDate: NOW - 86_400_000,
    expiresDate: NOW + 30 * 86_400_000,
    quantity: 1,
    type: 'Auto-Renewable Subscription',
    appAccountToken: ACCOUNT_TOKEN,
    inAppOwnershipType: 'PURCHASED',
    signedDate: NOW,
    environment: 'Sandbox',
    transactionReason: 'RENEWAL',
    storefront: 'USA',
    storefrontId: '143441',
    price: 9990,
    currency: 'USD',
    ...overrides,
  };
}

function renewalInfo(overrides: Record<string, unknown> = {}) {
  return {
    originalTransactionId: '2000000900000000',
    autoRenewProductId: 'premium_monthly',
    productId: 'premium_monthly',
    autoRenewStatus: 1,
    signedDate: NOW,
    environment: 'Sandbox',
    recentSubscriptionStartDate: NOW - 86_400_000,
    renewalDate: NOW + 30 * 86_400_000,
    ...overrides,
  };
}

interface NotificationOptions {
  type: string;
  subtype?: string;
  uuid?: string;
  env?: Env;
  bundleId?: string;
  appAppleId?: number;
  tx?: Record<string, unknown> | null;
  renewal?: Record<string, unknown> | null;
  innerSigner?: AppleTestSigner;
}

function notificationPayload(o: NotificationOptions): Record<string, unknown> {
  const env = o.env ?? 'Sandbox';
  const data: Record<string, unknown> = {
    appAppleId: o.appAppleId ?? APP_APPLE_ID,
    bundleId: o.bundleId ?? BUNDLE_ID,
    bundleVersion: '42',
    environment: env,
    status: 1,
  };
  if (o.tx !== null)
    data.signedTransactionInfo = signAppleJws(transaction({ environment: env, ...o.tx }), o.innerSigner);
  if (o.renewal !== null && o.renewal !== undefined) {
    data.signedRenewalInfo = signAppleJws(renewalInfo({ environment: env, ...o.renewal }), o.innerSigner);
  }
  return {
    notificationType: o.type,
    ...(o.subtype ? { subtype: o.subtype } : {}),
    notificationUUID: o.uuid ?? `uuid-${o.type}-${o.subtype ?? 'none'}`.toLowerCase(),
    version: '2.0',
    signedDate: NOW,
    data,
  };
}

function config(overrides: Partial<AppleNotificationConfig> = {}): AppleNotificationConfig {
  return {
    rootCertificates: [appleTestPki().rootDer],
    bundleId: BUNDLE_ID,
    appAppleId: APP_APPLE_ID,
    environment: 'Sandbox',
    enableOnlineChecks: false,
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<NotificationAuthError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NotificationAuthError);
  expect((error as NotificationAuthError).statusCode).toBe(401);
  return error as NotificationAuthError;
}

// Every row of the contract's event table for Apple, with what Attesto's normaliser emits for it.
const SUBSCRIPTION = 'Auto-Renewable Subscription';
const cases: {
  type: string;
  subtype?: string;
  event: string;
  reason: string | null;
  platformEvent: string;
  txType?: string;
  renewal?: boolean;
}[] = [
  {
    type: 'SUBSCRIBED',
    subtype: 'INITIAL_BUY',
    event: 'subscription.purchased',
    reason: 'initial',
    platformEvent: 'apple.subscribed.initial_buy',
    renewal: true,
  },
  {
    type: 'SUBSCRIBED',
    subtype: 'RESUBSCRIBE',
    event: 'subscription.purchased',
    reason: 'resubscribe',
    platformEvent: 'apple.subscribed.resubscribe',
    renewal: true,
  },
  {
    type: 'SUBSCRIBED',
    event: 'subscription.purchased',
    reason: 'initial',
    platformEvent: 'apple.subscribed',
  },
  {
    type: 'SUBSCRIBED',
    subtype: 'UPGRADE',
    event: 'subscription.upgraded',
    reason: null,
    platformEvent: 'apple.subscribed.upgrade',
    renewal: true,
  },
  {
    type: 'SUBSCRIBED',
    subtype: 'DOWNGRADE',
    event: 'subscription.downgraded',
    reason: null,
    platformEvent: 'apple.subscribed.downgrade',
    renewal: true,
  },
  {
    type: 'DID_RENEW',
    event: 'subscription.renewed',
    reason: null,
    platformEvent: 'apple.did_renew',
    renewal: true,
  },
  {
    type: 'DID_RENEW',
    subtype: 'BILLING_RECOVERY',
    event: 'subscription.recovered',
    reason: null,
    platformEvent: 'apple.did_renew.billing_recovery',
    renewal: true,
  },
  {
    type: 'DID_CHANGE_RENEWAL_STATUS',
    subtype: 'AUTO_RENEW_DISABLED',
    event: 'subscription.cancellation_scheduled',
    reason: null,
    platformEvent: 'apple.did_change_renewal_status.auto_renew_disabled',
    renewal: true,
  },
  {
    type: 'DID_CHANGE_RENEWAL_STATUS',
    subtype: 'AUTO_RENEW_ENABLED',
    event: 'subscription.cancellation_revoked',
    reason: null,
    platformEvent: 'apple.did_change_renewal_status.auto_renew_enabled',
    renewal: true,
  },
  {
    type: 'EXPIRED',
    subtype: 'VOLUNTARY',
    event: 'subscription.expired',
    reason: 'voluntary',
    platformEvent: 'apple.expired.voluntary',
    renewal: true,
  },
  {
    type: 'EXPIRED',
    subtype: 'BILLING_RETRY',
    event: 'subscription.expired',
    reason: 'billing_retry',
    platformEvent: 'apple.expired.billing_retry',
    renewal: true,
  },
  {
    type: 'EXPIRED',
    subtype: 'PRODUCT_NOT_FOR_SALE',
    event: 'subscription.expired',
    reason: 'product_not_for_sale',
    platformEvent: 'apple.expired.product_not_for_sale',
    renewal: true,
  },
  // A subtype Attesto does not know falls back to the type, with no reason.
  {
    type: 'EXPIRED',
    subtype: 'PRICE_INCREASE',
    event: 'subscription.expired',
    reason: null,
    platformEvent: 'apple.expired.price_increase',
    renewal: true,
  },
  {
    type: 'REVOKE',
    event: 'subscription.revoked',
    reason: null,
    platformEvent: 'apple.revoke',
    renewal: true,
  },
  { type: 'REFUND', event: 'subscription.refunded', reason: null, platformEvent: 'apple.refund' },
  {
    type: 'REFUND',
    event: 'subscription.refunded',
    reason: null,
    platformEvent: 'apple.refund',
    txType: 'Consumable',
  },
  {
    type: 'DID_FAIL_TO_RENEW',
    event: 'subscription.in_billing_retry',
    reason: null,
    platformEvent: 'apple.did_fail_to_renew',
    renewal: true,
  },
  {
    type: 'DID_FAIL_TO_RENEW',
    subtype: 'GRACE_PERIOD',
    event: 'subscription.in_grace_period',
    reason: null,
    platformEvent: 'apple.did_fail_to_renew.grace_period',
    renewal: true,
  },
  {
    type: 'GRACE_PERIOD_EXPIRED',
    event: 'subscription.grace_period_expired',
    reason: null,
    platformEvent: 'apple.grace_period_expired',
    renewal: true,
  },
  {
    type: 'DID_CHANGE_RENEWAL_PREF',
    subtype: 'UPGRADE',
    event: 'subscription.renewal_pref_changed',
    reason: null,
    platformEvent: 'apple.did_change_renewal_pref.upgrade',
    renewal: true,
  },
  {
    type: 'DID_CHANGE_RENEWAL_PREF',
    subtype: 'DOWNGRADE',
    event: 'subscription.renewal_pref_changed',
    reason: null,
    platformEvent: 'apple.did_change_renewal_pref.downgrade',
    renewal: true,
  },
  {
    type: 'DID_CHANGE_RENEWAL_PREF',
    event: 'subscription.renewal_pref_changed',
    reason: null,
    platformEvent: 'apple.did_change_renewal_pref',
    renewal: true,
  },
  {
    type: 'REFUND_DECLINED',
    event: 'subscription.refund_declined',
    reason: null,
    platformEvent: 'apple.refund_declined',
  },
  {
    type: 'REFUND_REVERSED',
    event: 'subscription.refund_reversed',
    reason: null,
    platformEvent: 'apple.refund_reversed',
  },
  {
    type: 'RENEWAL_EXTENDED',
    event: 'subscription.renewal_extended',
    reason: null,
    platformEvent: 'apple.renewal_extended',
    renewal: true,
  },
  {
    type: 'PRICE_INCREASE',
    subtype: 'PENDING',
    event: 'subscription.price_change_pending',
    reason: null,
    platformEvent: 'apple.price_increase.pending',
    renewal: true,
  },
  {
    type: 'PRICE_INCREASE',
    subtype: 'ACCEPTED',
    event: 'subscription.price_change_accepted',
    reason: null,
    platformEvent: 'apple.price_increase.accepted',
    renewal: true,
  },
  {
    type: 'OFFER_REDEEMED',
    subtype: 'INITIAL_BUY',
    event: 'subscription.offer_redeemed',
    reason: null,
    platformEvent: 'apple.offer_redeemed.initial_buy',
    renewal: true,
  },
  {
    type: 'CONSUMPTION_REQUEST',
    event: 'subscription.consumption_request',
    reason: null,
    platformEvent: 'apple.consumption_request',
    txType: 'Consumable',
  },
  {
    type: 'ONE_TIME_CHARGE',
    event: 'product.charged',
    reason: null,
    platformEvent: 'apple.one_time_charge',
    txType: 'Non-Consumable',
  },
  {
    type: 'SOMETHING_APPLE_ADDS_LATER',
    subtype: 'WHATEVER',
    event: 'unknown',
    reason: null,
    platformEvent: 'apple.something_apple_adds_later.whatever',
  },
];

describe('Apple notifications: every type verifies and normalises as Attesto would', () => {
  it.each(cases)('$type $subtype ($txType) → $event', async (c) => {
    const payload = notificationPayload({
      type: c.type,
      ...(c.subtype ? { subtype: c.subtype } : {}),
      tx: c.txType ? { type: c.txType, productId: 'coins_100', expiresDate: undefined } : {},
      renewal: c.renewal ? {} : null,
    });
    const signedPayload = signAppleJws(payload);
    const verified = await verifyAppleNotification(signedPayload, config());
    const envelope = normalizeAppleNotification(verified, signedPayload, new Date(NOW + 5_000));

    expect(envelope).toMatchObject({
      event: c.event,
      reason: c.reason,
      platformEvent: c.platformEvent,
      eventId: `apple_${payload.notificationUUID}`,
      externalId: payload.notificationUUID,
      timestamp: new Date(NOW + 5_000).toISOString(),
      tenantId: 'direct',
      source: 'apple',
      appUserId: ACCOUNT_TOKEN,
      raw: { signedPayload },
    });
    const isSubscription = (c.txType ?? SUBSCRIPTION) === SUBSCRIPTION;
    expect(envelope.subject).toEqual({
      key: '2000000900000000',
      productId: isSubscription ? 'premium_monthly' : 'coins_100',
      type: isSubscription ? 'subscription' : 'product',
    });
    // data is the notification as signed: the inner JWS are left for the consumer to decode.
    expect(envelope.data).toEqual(payload);
    expect((envelope.data.data as Record<string, unknown>).signedTransactionInfo).toMatch(
      /^ey[\w-]+\.[\w-]+\.[\w-]+$/,
    );
    expect(verified.transaction?.transactionId).toBe('2000000900000001');
    expect(verified.renewalInfo?.autoRenewStatus ?? null).toBe(c.renewal ? 1 : null);
    expect(attestoWebhookSchema.safeParse(envelope).success).toBe(true);
  });

  it('TEST has no transaction and no subject', async () => {
    const payload = notificationPayload({ type: 'TEST', tx: null });
    const signedPayload = signAppleJws(payload);
    const verified = await verifyAppleNotification(signedPayload, config());
    const envelope = normalizeAppleNotification(verified, signedPayload, new Date(NOW));
    expect(envelope).toMatchObject({
      event: 'test',
      reason: null,
      platformEvent: 'apple.test',
      subject: null,
      appUserId: null,
    });
    expect(verified.transaction).toBeNull();
    expect(attestoWebhookSchema.parse(envelope).event).toBe('test');
  });

  it('RENEWAL_EXTENSION summary (no data) verifies on the summary and has no subject', async () => {
    const payload = {
      notificationType: 'RENEWAL_EXTENSION',
      subtype: 'SUMMARY',
      notificationUUID: 'uuid-summary',
      version: '2.0',
      signedDate: NOW,
      summary: {
        requestIdentifier: 'req-1',
        environment: 'Sandbox',
        appAppleId: APP_APPLE_ID,
        bundleId: BUNDLE_ID,
        productId: 'premium_monthly',
        storefrontCountryCodes: ['USA'],
        succeededCount: 10,
        failedCount: 0,
      },
    };
    const signedPayload = signAppleJws(payload);
    const envelope = normalizeAppleNotification(
      await verifyAppleNotification(signedPayload, config()),
      signedPayload,
      new Date(NOW),
    );
    expect(envelope).toMatchObject({
      event: 'subscription.renewal_extension_complete',
      platformEvent: 'apple.renewal_extension.summary',
      subject: null,
    });
    expect(attestoWebhookSchema.safeParse(envelope).success).toBe(true);
    // The summary names the bundle too, and is checked.
    await rejection(verifyAppleNotification(signedPayload, config({ bundleId: 'com.other.app' })));
  });

  it('accepts Production when configured with the app id, and both environments when listed', async () => {
    const production = signAppleJws(notificationPayload({ type: 'DID_RENEW', env: 'Production' }));
    const sandbox = signAppleJws(notificationPayload({ type: 'DID_RENEW', env: 'Sandbox' }));
    expect(
      (await verifyAppleNotification(production, config({ environment: 'Production' }))).environment,
    ).toBe('Production');
    const both = config({ environment: ['Production', 'Sandbox'] });
    expect((await verifyAppleNotification(production, both)).environment).toBe('Production');
    expect((await verifyAppleNotification(sandbox, both)).environment).toBe('Sandbox');
  });
});

describe('Apple notifications: refused with 401', () => {
  const renew = () => notificationPayload({ type: 'DID_RENEW', renewal: {} });

  it('signed under another root (forged)', async () => {
    const error = await rejection(
      verifyAppleNotification(signAppleJws(renew(), appleTestPki().foreignSigner), config()),
    );
    expect(error.rejection).toBe('BAD_CERTIFICATE_CHAIN');
  });

  it('a leaf or intermediate without Apple’s OID', async () => {
    const pki = appleTestPki();
    for (const signer of [pki.leafWithoutOidSigner, pki.intermediateWithoutOidSigner]) {
      const error = await rejection(verifyAppleNotification(signAppleJws(renew(), signer), config()));
      expect(error.rejection).toBe('BAD_CERTIFICATE_CHAIN');
    }
  });

  it('an expired leaf certificate', async () => {
    const error = await rejection(
      verifyAppleNotification(signAppleJws(renew(), appleTestPki().expiredSigner), config()),
    );
    expect(error.rejection).toBe('BAD_CERTIFICATE_CHAIN');
    expect(error.detail).toContain('INVALID_CERTIFICATE');
  });

  it('an x5c chain that is not leaf, intermediate, root', async () => {
    const { signer } = appleTestPki();
    const short = {
      key: signer.key,
      x5c: [signer.x5c[0], signer.x5c[1]] as unknown as AppleTestSigner['x5c'],
    };
    const error = await rejection(verifyAppleNotification(signAppleJws(renew(), short), config()));
    expect(error.rejection).toBe('BAD_CERTIFICATE_CHAIN');
  });

  it('a tampered payload', async () => {
    const [header, , signature] = signAppleJws(renew()).split('.');
    const forgedBody = Buffer.from(JSON.stringify({ ...renew(), notificationType: 'REFUND' })).toString(
      'base64url',
    );
    const error = await rejection(verifyAppleNotification(`${header}.${forgedBody}.${signature}`, config()));
    expect(error.rejection).toBe('BAD_SIGNATURE');
  });

  it('an inner transaction not signed by Apple inside a valid notification', async () => {
    const payload = notificationPayload({ type: 'DID_RENEW', innerSigner: appleTestPki().foreignSigner });
    const error = await rejection(verifyAppleNotification(signAppleJws(payload), config()));
    expect(error.rejection).toBe('BAD_CERTIFICATE_CHAIN');
  });

  it('another app’s bundle id, in the notification or in its transaction', async () => {
    const other = await rejection(
      verifyAppleNotification(
        signAppleJws(notificationPayload({ type: 'DID_RENEW', bundleId: 'com.other.app' })),
        config(),
      ),
    );
    expect(other.rejection).toBe('WRONG_APP');
    const inner = await rejection(
      verifyAppleNotification(
        signAppleJws(notificationPayload({ type: 'DID_RENEW', tx: { bundleId: 'com.other.app' } })),
        config(),
      ),
    );
    expect(inner.rejection).toBe('WRONG_APP');
  });

  it('another app id in Production', async () => {
    const payload = notificationPayload({ type: 'DID_RENEW', env: 'Production', appAppleId: 999 });
    const error = await rejection(
      verifyAppleNotification(signAppleJws(payload), config({ environment: 'Production' })),
    );
    expect(error.rejection).toBe('WRONG_APP');
  });

  it('the wrong environment, in the notification or in its transaction', async () => {
    const sandbox = signAppleJws(notificationPayload({ type: 'DID_RENEW' }));
    const outer = await rejection(verifyAppleNotification(sandbox, config({ environment: 'Production' })));
    expect(outer.rejection).toBe('WRONG_ENVIRONMENT');
    const mixed = signAppleJws(notificationPayload({ type: 'DID_RENEW', tx: { environment: 'Production' } }));
    const inner = await rejection(
      verifyAppleNotification(mixed, config({ environment: ['Production', 'Sandbox'] })),
    );
    expect(inner.rejection).toBe('WRONG_ENVIRONMENT');
  });

  it('malformed input', async () => {
    for (const input of ['', 'not-a-jws', 'a.b.c', `${Buffer.from('{}').toString('base64url')}.e30.sig`]) {
      const error = await rejection(verifyAppleNotification(input, config()));
      expect(['MALFORMED', 'BAD_CERTIFICATE_CHAIN']).toContain(error.rejection);
    }
    const missingUuid = signAppleJws({ ...renew(), notificationUUID: undefined });
    expect((await rejection(verifyAppleNotification(missingUuid, config()))).rejection).toBe('MALFORMED');
  });

  it('Production without appAppleId is a configuration error, not a 401', async () => {
    const signed = signAppleJws(renew());
    await expect(
      verifyAppleNotification(signed, config({ environment: 'Production', appAppleId: undefined })),
    ).rejects.toThrow(/appAppleId is required/);
  });
});

describe('Apple notifications with online checks: OCSP trouble is retryable, never 401', () => {
  let server: Server;
  let status = 503;
  let hang = false;
  let requests = 0;
  let ocspUrl: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests += 1;
      req.resume();
      if (hang) return; // never answers
      res.writeHead(status).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ocspUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ocsp`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function signedWithOcsp(url: string) {
    const pki = generateAppleTestPki({ ocspUrl: url });
    const payload = notificationPayload({ type: 'DID_RENEW', tx: { signedDate: Date.now() } });
    return {
      signed: signAppleJws({ ...payload, signedDate: Date.now() }, pki.signer),
      cfg: config({ rootCertificates: [pki.rootDer], enableOnlineChecks: true, timeoutMs: 1_500 }),
    };
  }

  it('the OCSP responder answers 5xx', async () => {
    const { signed, cfg } = await signedWithOcsp(ocspUrl);
    status = 503;
    const before = requests;
    const error = await verifyAppleNotification(signed, cfg).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotificationCheckUnavailableError);
    expect((error as NotificationCheckUnavailableError).statusCode).toBe(503);
    expect(requests).toBeGreaterThan(before);
  });

  it('the OCSP responder is unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { signed, cfg } = await signedWithOcsp(`http://127.0.0.1:${port}/ocsp`);
    const error = await verifyAppleNotification(signed, cfg).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotificationCheckUnavailableError);
  });

  it('the OCSP responder does not answer in time', async () => {
    const { signed, cfg } = await signedWithOcsp(ocspUrl);
    hang = true;
    try {
      const started = Date.now();
      const error = await verifyAppleNotification(signed, { ...cfg, timeoutMs: 300 }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(NotificationCheckUnavailableError);
      // The configured 300 ms, not the 8 s default nor the hang (until the test ends).
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      hang = false;
    }
  });

  it('a forged chain is still a 401 with online checks on (refused before any OCSP call)', async () => {
    const { cfg } = await signedWithOcsp(ocspUrl);
    const before = requests;
    const forged = signAppleJws(notificationPayload({ type: 'DID_RENEW' }), appleTestPki().foreignSigner);
    await rejection(verifyAppleNotification(forged, cfg));
    expect(requests).toBe(before);
  });
});
