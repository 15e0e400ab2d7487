import { describe, expect, it } from 'vitest';
import { type AttestoWebhook, attestoWebhookSchema } from '../../shared/attesto/schemas';
import { hasLegacyEventName, withCurrentEventName } from '../../shared/ingest/consumer/legacy-event-names';

function webhook(fields: Partial<AttestoWebhook> & Pick<AttestoWebhook, 'source' | 'data'>): AttestoWebhook {
  return attestoWebhookSchema.parse({
    event: 'subscription.renewed',
    eventId: 'evt_1',
    externalId: 'ext-1',
    timestamp: '2026-04-18T12:00:00.000Z',
    tenantId: 'tenant_1',
    subject: null,
    ...fields,
  });
}

const appleData = (notificationType: string, subtype?: string) => ({
  notificationType,
  ...(subtype ? { subtype } : {}),
  notificationUUID: 'u-1',
  version: '2.0',
  signedDate: 1,
});
const googleData = (extra: Record<string, unknown>) => ({
  version: '1.0',
  packageName: 'com.example.app',
  eventTimeMillis: '1',
  ...extra,
});

describe('withCurrentEventName', () => {
  it.each<[string, AttestoWebhook['source'], Record<string, unknown>, string, string | null, string]>([
    ['apple.did_renew', 'apple', appleData('DID_RENEW'), 'subscription.renewed', null, 'apple.did_renew'],
    ['apple.refund', 'apple', appleData('REFUND'), 'subscription.refunded', null, 'apple.refund'],
    [
      'apple.expired.billing_retry',
      'apple',
      appleData('EXPIRED', 'BILLING_RETRY'),
      'subscription.expired',
      'billing_retry',
      'apple.expired.billing_retry',
    ],
    [
      'apple.did_change_renewal_pref.upgrade',
      'apple',
      appleData('DID_CHANGE_RENEWAL_PREF', 'UPGRADE'),
      'subscription.renewal_pref_changed',
      null,
      'apple.did_change_renewal_pref.upgrade',
    ],
    [
      'google.subscription.renewed',
      'google',
      googleData({
        subscriptionNotification: { notificationType: 2, purchaseToken: 't', subscriptionId: 's' },
      }),
      'subscription.renewed',
      null,
      'google.subscription.2',
    ],
    [
      'google.subscription.12',
      'google',
      googleData({
        subscriptionNotification: { notificationType: 12, purchaseToken: 't', subscriptionId: 's' },
      }),
      'subscription.revoked',
      null,
      'google.subscription.12',
    ],
    [
      'google.product.2',
      'google',
      googleData({ oneTimeProductNotification: { notificationType: 2, purchaseToken: 't', sku: 'x' } }),
      'product.canceled',
      null,
      'google.product.2',
    ],
    [
      'google.voided',
      'google',
      googleData({ voidedPurchaseNotification: { purchaseToken: 't', productType: 1 } }),
      'subscription.refunded',
      null,
      'google.voided',
    ],
    ['google.test', 'google', googleData({ testNotification: {} }), 'test', null, 'google.test'],
    ['apple.brand_new', 'apple', appleData('BRAND_NEW'), 'unknown', null, 'apple.brand_new'],
    ['google.something', 'google', googleData({}), 'unknown', null, 'google.unknown'],
  ])('reads %s from its data', (name, source, data, event, reason, platformEvent) => {
    const legacy = webhook({ event: name, source, data });
    expect(legacy.platformEvent).toBe('');
    expect(hasLegacyEventName(legacy)).toBe(true);
    expect(withCurrentEventName(legacy)).toEqual({ ...legacy, event, reason, platformEvent });
  });

  it('leaves a webhook in the current vocabulary as it is, even without a platformEvent', () => {
    const current = webhook({ event: 'subscription.renewed', source: 'apple', data: appleData('REFUND') });
    expect(withCurrentEventName(current)).toBe(current);
    const named = webhook({
      event: 'subscription.something_newer',
      platformEvent: 'apple.refund',
      source: 'apple',
      data: appleData('REFUND'),
    });
    expect(hasLegacyEventName(named)).toBe(false);
    expect(withCurrentEventName(named)).toBe(named);
  });
});
