import type { AttestoEvent } from '../attesto/schemas';

// Apple notification types and Google RTDN codes → Attesto's unified event names, the same tables
// Attesto's webhooks/normalize.ts uses (contract §3.6), so a notification received directly drives
// the consumer exactly as the same notification relayed by Attesto does. Keep them identical:
// a difference here is a difference in state between the two paths. The consumer also names
// webhooks Attesto stored before its event renaming through these tables (legacy-event-names.ts).

export interface UnifiedEvent {
  event: AttestoEvent;
  reason: string | null;
  /** `apple.<type>[.<subtype>]` lower-case, `google.subscription.<n>`, `google.product.<n>`, … */
  platformEvent: string;
}

type Mapping = { event: AttestoEvent; reason: string | null };

const m = (event: AttestoEvent, reason: string | null = null): Mapping => ({ event, reason });

// Keyed `TYPE:SUBTYPE`, falling back to `TYPE`: a new subtype of a known type keeps the type's event.
const APPLE_MAP: Readonly<Record<string, Mapping>> = {
  SUBSCRIBED: m('subscription.purchased', 'initial'),
  'SUBSCRIBED:INITIAL_BUY': m('subscription.purchased', 'initial'),
  'SUBSCRIBED:RESUBSCRIBE': m('subscription.purchased', 'resubscribe'),
  'SUBSCRIBED:UPGRADE': m('subscription.upgraded'),
  'SUBSCRIBED:DOWNGRADE': m('subscription.downgraded'),

  DID_RENEW: m('subscription.renewed'),
  'DID_RENEW:BILLING_RECOVERY': m('subscription.recovered'),

  'DID_CHANGE_RENEWAL_STATUS:AUTO_RENEW_DISABLED': m('subscription.cancellation_scheduled'),
  'DID_CHANGE_RENEWAL_STATUS:AUTO_RENEW_ENABLED': m('subscription.cancellation_revoked'),

  EXPIRED: m('subscription.expired'),
  'EXPIRED:VOLUNTARY': m('subscription.expired', 'voluntary'),
  'EXPIRED:BILLING_RETRY': m('subscription.expired', 'billing_retry'),
  'EXPIRED:PRODUCT_NOT_FOR_SALE': m('subscription.expired', 'product_not_for_sale'),

  REVOKE: m('subscription.revoked'),
  REFUND: m('subscription.refunded'),

  DID_FAIL_TO_RENEW: m('subscription.in_billing_retry'),
  'DID_FAIL_TO_RENEW:GRACE_PERIOD': m('subscription.in_grace_period'),
  GRACE_PERIOD_EXPIRED: m('subscription.grace_period_expired'),

  DID_CHANGE_RENEWAL_PREF: m('subscription.renewal_pref_changed'),
  'DID_CHANGE_RENEWAL_PREF:AUTO_RENEW_PREF_CHANGE': m('subscription.renewal_pref_changed'),

  REFUND_DECLINED: m('subscription.refund_declined'),
  REFUND_REVERSED: m('subscription.refund_reversed'),

  PRICE_INCREASE: m('subscription.price_change_pending'),
  'PRICE_INCREASE:PENDING': m('subscription.price_change_pending'),
  'PRICE_INCREASE:ACCEPTED': m('subscription.price_change_accepted'),

  OFFER_REDEEMED: m('subscription.offer_redeemed'),
  RENEWAL_EXTENDED: m('subscription.renewal_extended'),
  RENEWAL_EXTENSION: m('subscription.renewal_extension_complete'),

  CONSUMPTION_REQUEST: m('subscription.consumption_request'),
  EXTERNAL_PURCHASE_TOKEN: m('subscription.external_purchase_token'),
  ONE_TIME_CHARGE: m('product.charged'),

  TEST: m('test'),
};

const GOOGLE_SUBSCRIPTION_MAP: Readonly<Record<number, Mapping>> = {
  1: m('subscription.recovered'),
  2: m('subscription.renewed'),
  3: m('subscription.cancellation_scheduled'),
  // Upgrades and downgrades arrive as a purchase of the new token too.
  4: m('subscription.purchased', 'initial'),
  5: m('subscription.on_hold'),
  6: m('subscription.in_grace_period'),
  7: m('subscription.cancellation_revoked'),
  8: m('subscription.price_change_accepted'),
  9: m('subscription.deferred'),
  10: m('subscription.paused'),
  11: m('subscription.pause_schedule_changed'),
  12: m('subscription.revoked'),
  13: m('subscription.expired'),
  17: m('subscription.pending_purchase_canceled'),
  19: m('subscription.price_change_updated'),
  20: m('subscription.price_change_rejected'),
};

const GOOGLE_PRODUCT_MAP: Readonly<Record<number, Mapping>> = {
  1: m('product.purchased'),
  2: m('product.canceled'),
};

const own = <T>(table: Readonly<Record<string | number, T>>, key: string | number): T | undefined =>
  Object.hasOwn(table, key) ? table[key] : undefined;

export function unifiedAppleEvent(notification: {
  notificationType?: unknown;
  subtype?: unknown;
}): UnifiedEvent {
  const type = typeof notification.notificationType === 'string' ? notification.notificationType : '';
  const subtype = typeof notification.subtype === 'string' ? notification.subtype : '';
  const platformType = type.toLowerCase() || 'unknown';
  const platformEvent = subtype ? `apple.${platformType}.${subtype.toLowerCase()}` : `apple.${platformType}`;
  if (!type) return { event: 'unknown', reason: null, platformEvent };
  const mapping = (subtype ? own(APPLE_MAP, `${type}:${subtype}`) : undefined) ?? own(APPLE_MAP, type);
  return mapping ? { ...mapping, platformEvent } : { event: 'unknown', reason: null, platformEvent };
}

export function unifiedGoogleEvent(notification: Record<string, unknown>): UnifiedEvent {
  const subscription = notification.subscriptionNotification as Record<string, unknown> | undefined;
  if (subscription && typeof subscription.notificationType === 'number') {
    const n = subscription.notificationType;
    const platformEvent = `google.subscription.${n}`;
    const mapping = own(GOOGLE_SUBSCRIPTION_MAP, n);
    return mapping ? { ...mapping, platformEvent } : { event: 'unknown', reason: null, platformEvent };
  }
  const oneTime = notification.oneTimeProductNotification as Record<string, unknown> | undefined;
  if (oneTime && typeof oneTime.notificationType === 'number') {
    const n = oneTime.notificationType;
    const platformEvent = `google.product.${n}`;
    const mapping = own(GOOGLE_PRODUCT_MAP, n);
    return mapping ? { ...mapping, platformEvent } : { event: 'unknown', reason: null, platformEvent };
  }
  if (notification.voidedPurchaseNotification) {
    return { event: 'subscription.refunded', reason: null, platformEvent: 'google.voided' };
  }
  if (notification.testNotification) return { event: 'test', reason: null, platformEvent: 'google.test' };
  return { event: 'unknown', reason: null, platformEvent: 'google.unknown' };
}
