import { describe, expect, it } from 'vitest';
import {
  ATTESTO_EVENTS,
  appleNotificationDataSchema,
  appleVerifyOkSchema,
  appleVerifyResponseSchema,
  attestoErrorSchema,
  attestoWebhookSchema,
  googleDeveloperNotificationSchema,
  googleVerifyRequestSchema,
  googleVerifyResponseSchema,
  isAttestoEvent,
  verifyRejectedSchema,
} from '../../shared/attesto/schemas';

const appleOk = {
  valid: true,
  environment: 'production',
  appUserId: null,
  version: 'v0.0.24',
  transaction: {
    transactionId: '2000000123456790',
    originalTransactionId: '2000000123456789',
    bundleId: 'com.example.app',
    productId: 'remove_ads',
    purchaseDate: '2026-01-01T10:00:00.000Z',
    originalPurchaseDate: '2026-01-01T10:00:00.000Z',
    expiresDate: null,
    type: 'Non-Consumable',
    inAppOwnershipType: 'FAMILY_SHARED',
    quantity: 1,
    webOrderLineItemId: null,
    revocationDate: null,
    revocationReason: null,
    offerType: null,
    offerIdentifier: null,
    appAccountToken: null,
    storefront: null,
    storefrontId: null,
    transactionReason: 'PURCHASE',
    currency: null,
    price: null,
    signedTransactionInfo: 'a.b.c',
    rawDecodedPayload: {},
  },
};

describe('verify answers', () => {
  it('keeps unknown keys at every level', () => {
    const parsed = appleVerifyOkSchema.parse({
      ...appleOk,
      traceId: 't-1',
      transaction: { ...appleOk.transaction, newField: 1 },
    });
    expect(parsed).toMatchObject({ traceId: 't-1', transaction: { newField: 1 } });
  });

  it('fills nulls for informational fields an older Attesto leaves out', () => {
    const { webOrderLineItemId: _w, price: _p, currency: _c, ...older } = appleOk.transaction;
    const { appUserId: _a, version: _v, ...top } = appleOk;
    const parsed = appleVerifyOkSchema.parse({ ...top, transaction: older });
    expect(parsed.appUserId).toBeNull();
    expect(parsed.transaction.price).toBeNull();
    expect(parsed.transaction.webOrderLineItemId).toBeNull();
  });

  it('is strict on what the backend acts on', () => {
    const bad = [
      { ...appleOk, environment: 'Production' },
      { ...appleOk, transaction: { ...appleOk.transaction, expiresDate: 1769940000000 } },
      { ...appleOk, transaction: { ...appleOk.transaction, purchaseDate: 'yesterday' } },
      { ...appleOk, transaction: { ...appleOk.transaction, productId: '' } },
      { ...appleOk, transaction: { ...appleOk.transaction, revocationDate: 'soon' } },
    ];
    for (const body of bad)
      expect(appleVerifyOkSchema.safeParse(body).success, JSON.stringify(body)).toBe(false);
  });

  it('requires error on a rejection (the old `reason` shape fails)', () => {
    expect(verifyRejectedSchema.safeParse({ valid: false, reason: 'nope' }).success).toBe(false);
    expect(appleVerifyResponseSchema.parse({ valid: false, error: 'BUNDLE_ID_MISMATCH' })).toEqual({
      valid: false,
      error: 'BUNDLE_ID_MISMATCH',
    });
  });

  it('tells Google subscription and product answers apart', () => {
    const base = { packageName: 'p', productId: 'x', purchaseToken: 't', rawResponse: {} };
    const sub = googleVerifyResponseSchema.parse({
      valid: true,
      appUserId: null,
      purchase: {
        ...base,
        kind: 'androidpublisher#subscriptionPurchaseV2',
        expiryTime: '2026-02-01T10:00:00.5Z',
      },
    });
    expect(sub.valid && sub.purchase.kind).toBe('androidpublisher#subscriptionPurchaseV2');
    const product = googleVerifyResponseSchema.parse({
      valid: true,
      appUserId: null,
      purchase: { ...base, kind: 'androidpublisher#productPurchase', purchaseTimeMillis: '1767261600000' },
    });
    expect(product.valid && product.purchase.kind).toBe('androidpublisher#productPurchase');
    expect(
      googleVerifyResponseSchema.safeParse({
        valid: true,
        purchase: { ...base, kind: 'androidpublisher#other' },
      }).success,
    ).toBe(false);
  });

  it('parses the error envelope', () => {
    expect(
      attestoErrorSchema.parse({
        valid: false,
        error: 'RATE_LIMITED',
        message: 'm',
        details: { retryAfterSeconds: 2 },
      }),
    ).toMatchObject({ details: { retryAfterSeconds: 2 } });
    expect(attestoErrorSchema.safeParse({ valid: false, error: 'X' }).success).toBe(false);
  });

  it('refuses the SDK-only Google type and trims strings', () => {
    const req = { packageName: ' com.example.app ', productId: 'coins_100', purchaseToken: 't' };
    expect(googleVerifyRequestSchema.safeParse({ ...req, type: 'consumable' }).success).toBe(false);
    expect(googleVerifyRequestSchema.parse({ ...req, type: 'product' }).packageName).toBe('com.example.app');
  });
});

const envelope = {
  event: 'subscription.renewed',
  reason: null,
  platformEvent: 'apple.did_renew',
  eventId: 'evt_01J9ZQ3W6Y8KX2V4T5R7N9M1B3',
  externalId: '5f1c0a9e-2b7d-4f7e-8c1a-0e3d9b6a4c21',
  timestamp: '2026-01-01T10:00:01.000Z',
  tenantId: 'tenant_01J9ZQ3W6Y8KX2V4T5R7N9M1B4',
  source: 'apple',
  subject: { key: '2000000123456789', productId: 'premium_monthly', type: 'subscription' },
  appUserId: '3f0c9a52-6a4e-4c59-9d0b-5c1f3e0a7b21',
  data: {
    notificationType: 'DID_RENEW',
    notificationUUID: '5f1c0a9e-2b7d-4f7e-8c1a-0e3d9b6a4c21',
    version: '2.0',
    signedDate: 1_767_261_601_000,
    data: {
      appAppleId: 1234567890,
      bundleId: 'com.example.app',
      bundleVersion: '42',
      environment: 'Sandbox',
      signedTransactionInfo: 'a.b.c',
      signedRenewalInfo: 'd.e.f',
      status: 1,
    },
  },
  raw: { signedPayload: 'x.y.z' },
};

describe('webhook envelope', () => {
  it('parses an Apple delivery and its data', () => {
    const parsed = attestoWebhookSchema.parse(envelope);
    expect(parsed.subject?.key).toBe('2000000123456789');
    const data = appleNotificationDataSchema.parse(parsed.data);
    expect(data.data?.environment).toBe('Sandbox');
    expect(data.signedDate).toBe(1_767_261_601_000);
  });

  it('accepts a null subject, legacy rows and unknown event names', () => {
    const { reason: _r, platformEvent: _p, appUserId: _a, raw: _raw, ...legacy } = envelope;
    const parsed = attestoWebhookSchema.parse({
      ...legacy,
      event: 'subscription.something_new',
      subject: null,
    });
    expect(parsed).toMatchObject({
      reason: null,
      platformEvent: '',
      appUserId: null,
      subject: null,
      raw: {},
    });
    expect(isAttestoEvent(parsed.event)).toBe(false);
    expect(isAttestoEvent('subscription.renewed')).toBe(true);
  });

  it('refuses envelopes missing what dedupe and routing need', () => {
    for (const key of ['event', 'eventId', 'source', 'data', 'timestamp', 'subject'] as const) {
      const { [key]: _omit, ...rest } = envelope;
      expect(attestoWebhookSchema.safeParse(rest).success, key).toBe(false);
    }
    expect(attestoWebhookSchema.safeParse({ ...envelope, source: 'amazon' }).success).toBe(false);
  });

  it('parses Apple summary notifications that carry no data', () => {
    const summary = appleNotificationDataSchema.parse({
      notificationType: 'RENEWAL_EXTENSION',
      subtype: 'SUMMARY',
      notificationUUID: 'u',
      version: '2.0',
      signedDate: 1,
      summary: { requestIdentifier: 'r', succeededCount: 3 },
    });
    expect(summary.data).toBeUndefined();
  });

  it('parses each kind of Google DeveloperNotification', () => {
    const base = { version: '1.0', packageName: 'com.example.app', eventTimeMillis: '1767261600000' };
    const kinds = [
      {
        subscriptionNotification: {
          version: '1.0',
          notificationType: 4,
          purchaseToken: 't',
          subscriptionId: 's',
        },
      },
      {
        oneTimeProductNotification: {
          version: '1.0',
          notificationType: 1,
          purchaseToken: 't',
          sku: 'coins_100',
        },
      },
      {
        oneTimeProductNotification: {
          version: '1.0',
          notificationType: 2,
          purchaseToken: 't',
          productId: 'coins_100',
        },
      },
      { voidedPurchaseNotification: { purchaseToken: 't', orderId: 'GPA.1', productType: 2, refundType: 1 } },
      { testNotification: { version: '1.0' } },
    ];
    for (const kind of kinds) {
      expect(
        googleDeveloperNotificationSchema.safeParse({ ...base, ...kind }).success,
        JSON.stringify(kind),
      ).toBe(true);
    }
    expect(
      googleDeveloperNotificationSchema.safeParse({ ...base, eventTimeMillis: 1767261600000 }).success,
    ).toBe(false);
    expect(
      googleDeveloperNotificationSchema.safeParse({
        ...base,
        oneTimeProductNotification: { notificationType: 1, purchaseToken: 't' },
      }).success,
    ).toBe(false);
  });
});

describe('ATTESTO_EVENTS', () => {
  // Every `event` Attesto's normalize.ts can emit (APPLE_MAP, GOOGLE_SUB_MAP, GOOGLE_PRODUCT_MAP,
  // voided, test, unknown), plus the documented renewal_extension_failed.
  const emitted = [
    'subscription.purchased',
    'subscription.upgraded',
    'subscription.downgraded',
    'subscription.renewed',
    'subscription.recovered',
    'subscription.cancellation_scheduled',
    'subscription.cancellation_revoked',
    'subscription.expired',
    'subscription.revoked',
    'subscription.refunded',
    'subscription.in_billing_retry',
    'subscription.in_grace_period',
    'subscription.grace_period_expired',
    'subscription.renewal_pref_changed',
    'subscription.refund_declined',
    'subscription.refund_reversed',
    'subscription.price_change_pending',
    'subscription.price_change_accepted',
    'subscription.offer_redeemed',
    'subscription.renewal_extended',
    'subscription.renewal_extension_complete',
    'subscription.renewal_extension_failed',
    'subscription.consumption_request',
    'subscription.external_purchase_token',
    'product.charged',
    'test',
    'subscription.on_hold',
    'subscription.deferred',
    'subscription.paused',
    'subscription.pause_schedule_changed',
    'subscription.pending_purchase_canceled',
    'subscription.price_change_updated',
    'subscription.price_change_rejected',
    'product.purchased',
    'product.canceled',
    'unknown',
  ];

  it('lists exactly the events Attesto emits, once each', () => {
    expect(new Set(ATTESTO_EVENTS).size).toBe(ATTESTO_EVENTS.length);
    expect([...ATTESTO_EVENTS].sort()).toEqual([...emitted].sort());
  });
});
