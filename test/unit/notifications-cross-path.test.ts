import { describe, expect, it } from 'vitest';
import { type AttestoWebhook, attestoWebhookSchema } from '../../shared/attesto/schemas';
import { normalizeAppleNotification } from '../../shared/ingest/apple/envelope';
import { verifyAppleNotification } from '../../shared/ingest/apple/notification-verifier';
import { upstreamEventKey } from '../../shared/ingest/direct-envelope';
import { normalizeGoogleNotification } from '../../shared/ingest/google/envelope';
import { decodePubSubMessage } from '../../shared/ingest/google/pubsub-message';
import { appleTestPki, signAppleJws } from '../support/apple-test-pki';
import { pubSubPushBody } from '../support/google-test-oidc';

// One store event can reach the backend twice: relayed by Attesto and sent directly by the store.
// These tests build the envelope Attesto sends for a store event (its receivers store the decoded
// upstream payload as `data`, the upstream id as `externalId`, and derive subject and appUserId
// the same way) and check that the direct envelope differs only where it must, and names the same
// upstream event, which is what the consumer dedupes on.

const BUNDLE_ID = 'com.example.iapdemo';
const NOW = Date.now();

function decodeJwsPayload(jws: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jws.split('.')[1] as string, 'base64url').toString('utf8'));
}

function asAttestoWould(direct: AttestoWebhook): AttestoWebhook {
  // What Attesto's own copy looks like: its ids and receive time, the same upstream content.
  return {
    ...direct,
    eventId: 'evt_01JDQ4Z8X7V3M2N5P6R7S8T9UV',
    tenantId: 'tenant_01JDQ4Z8X7V3M2N5P6R7S8T9UW',
    timestamp: new Date(NOW + 2_000).toISOString(),
  };
}

describe('the same store event through Attesto and directly', () => {
  it('Apple: same upstream key, event, subject, appUserId and data as Attesto derives them', async () => {
    const tx = {
      transactionId: '2000000900000077',
      originalTransactionId: '2000000900000070',
      bundleId: BUNDLE_ID,
      productId: 'premium_yearly',
      purchaseDate: NOW - 1_000,
      expiresDate: NOW + 365 * 86_400_000,
      type: 'Auto-Renewable Subscription',
      inAppOwnershipType: 'PURCHASED',
      appAccountToken: '0d6a4c1e-1111-4f00-9c3b-2a1b0c9d8e7f',
      signedDate: NOW,
      environment: 'Sandbox',
    };
    const upstream = {
      notificationType: 'DID_RENEW',
      notificationUUID: '6f4b3a2e-9d8c-4b7a-a1e2-3c4d5e6f7a8b',
      version: '2.0',
      signedDate: NOW,
      data: {
        bundleId: BUNDLE_ID,
        environment: 'Sandbox',
        signedTransactionInfo: signAppleJws(tx),
        status: 1,
      },
    };
    const signedPayload = signAppleJws(upstream);
    const verified = await verifyAppleNotification(signedPayload, {
      rootCertificates: [appleTestPki().rootDer],
      bundleId: BUNDLE_ID,
      environment: 'Sandbox',
      enableOnlineChecks: false,
    });
    const direct = normalizeAppleNotification(verified, signedPayload, new Date(NOW));

    // Attesto's side, from its receiver + subject.ts: data is the decoded outer payload.
    const attestoData = decodeJwsPayload(signedPayload);
    const attesto = attestoWebhookSchema.parse({
      ...asAttestoWould(direct),
      data: attestoData,
      subject: { key: tx.originalTransactionId, productId: tx.productId, type: 'subscription' },
      appUserId: tx.appAccountToken,
      externalId: upstream.notificationUUID,
      raw: { signedPayload },
    });

    expect(upstreamEventKey(direct)).toBe(`apple:${upstream.notificationUUID}`);
    expect(upstreamEventKey(attesto)).toBe(upstreamEventKey(direct));
    expect(direct.eventId).not.toBe(attesto.eventId);
    const { eventId: _a, tenantId: _b, timestamp: _c, ...directRest } = attestoWebhookSchema.parse(direct);
    const { eventId: _d, tenantId: _e, timestamp: _f, ...attestoRest } = attesto;
    expect(directRest).toEqual(attestoRest);
  });

  it('Google: same upstream key (the Pub/Sub messageId), event and data', () => {
    const notification = {
      version: '1.0',
      packageName: BUNDLE_ID,
      eventTimeMillis: String(NOW),
      subscriptionNotification: {
        version: '1.0',
        notificationType: 3,
        purchaseToken: 'token-current',
        subscriptionId: 'premium_monthly',
      },
    };
    const body = pubSubPushBody(notification, { messageId: '9876543210123' });
    const direct = normalizeGoogleNotification(decodePubSubMessage(body), new Date(NOW));
    const attesto = attestoWebhookSchema.parse({
      ...asAttestoWould(direct),
      externalId: body.message.messageId,
      data: JSON.parse(Buffer.from(body.message.data, 'base64').toString('utf8')),
      raw: {
        message: {
          data: body.message.data,
          messageId: body.message.messageId,
          publishTime: body.message.publishTime,
        },
      },
    });

    expect(upstreamEventKey(direct)).toBe('google:9876543210123');
    expect(upstreamEventKey(attesto)).toBe(upstreamEventKey(direct));
    expect(direct).toMatchObject({
      event: attesto.event,
      reason: attesto.reason,
      platformEvent: attesto.platformEvent,
    });
    expect(direct.data).toEqual(attesto.data);
    expect(direct.raw).toEqual(attesto.raw);
  });

  it('different store events never share a key, and Apple and Google ids cannot collide', () => {
    const a = upstreamEventKey({ source: 'apple', externalId: 'same-id' });
    const g = upstreamEventKey({ source: 'google', externalId: 'same-id' });
    expect(a).not.toBe(g);
    expect(upstreamEventKey({ source: 'apple', externalId: '' })).toBeNull();
  });
});
