// Attesto's unified event names for the upstream notifications the sandbox emits (contract §3.6).
// Apple lookups try TYPE:SUBTYPE, then the bare TYPE, as Attesto does.

export interface UnifiedEventName {
  event: string;
  reason: string | null;
  platformEvent: string;
}

const APPLE: Record<string, [event: string, reason: string | null]> = {
  SUBSCRIBED: ['subscription.purchased', 'initial'],
  'SUBSCRIBED:INITIAL_BUY': ['subscription.purchased', 'initial'],
  'SUBSCRIBED:RESUBSCRIBE': ['subscription.purchased', 'resubscribe'],
  'SUBSCRIBED:UPGRADE': ['subscription.upgraded', null],
  'SUBSCRIBED:DOWNGRADE': ['subscription.downgraded', null],
  DID_RENEW: ['subscription.renewed', null],
  'DID_RENEW:BILLING_RECOVERY': ['subscription.recovered', null],
  'DID_CHANGE_RENEWAL_STATUS:AUTO_RENEW_DISABLED': ['subscription.cancellation_scheduled', null],
  'DID_CHANGE_RENEWAL_STATUS:AUTO_RENEW_ENABLED': ['subscription.cancellation_revoked', null],
  EXPIRED: ['subscription.expired', null],
  'EXPIRED:VOLUNTARY': ['subscription.expired', 'voluntary'],
  'EXPIRED:BILLING_RETRY': ['subscription.expired', 'billing_retry'],
  'EXPIRED:PRODUCT_NOT_FOR_SALE': ['subscription.expired', 'product_not_for_sale'],
  REVOKE: ['subscription.revoked', null],
  REFUND: ['subscription.refunded', null],
  DID_FAIL_TO_RENEW: ['subscription.in_billing_retry', null],
  'DID_FAIL_TO_RENEW:GRACE_PERIOD': ['subscription.in_grace_period', null],
  GRACE_PERIOD_EXPIRED: ['subscription.grace_period_expired', null],
  DID_CHANGE_RENEWAL_PREF: ['subscription.renewal_pref_changed', null],
  ONE_TIME_CHARGE: ['product.charged', null],
  TEST: ['test', null],
};

export function appleEventName(notificationType: string, subtype?: string): UnifiedEventName {
  const platformEvent = subtype
    ? `apple.${notificationType.toLowerCase()}.${subtype.toLowerCase()}`
    : `apple.${notificationType.toLowerCase()}`;
  const mapped = (subtype && APPLE[`${notificationType}:${subtype}`]) || APPLE[notificationType];
  return mapped
    ? { event: mapped[0], reason: mapped[1], platformEvent }
    : { event: 'unknown', reason: null, platformEvent };
}

/** Google RTDN subscriptionNotification.notificationType numbers the sandbox uses. */
export const GOOGLE_SUBSCRIPTION_NOTIFICATION = {
  RECOVERED: 1,
  RENEWED: 2,
  CANCELED: 3,
  PURCHASED: 4,
  ON_HOLD: 5,
  IN_GRACE_PERIOD: 6,
  RESTARTED: 7,
  PAUSED: 10,
  REVOKED: 12,
  EXPIRED: 13,
} as const;

const GOOGLE_SUBSCRIPTION: Record<number, [event: string, reason: string | null]> = {
  1: ['subscription.recovered', null],
  2: ['subscription.renewed', null],
  3: ['subscription.cancellation_scheduled', null],
  4: ['subscription.purchased', 'initial'],
  5: ['subscription.on_hold', null],
  6: ['subscription.in_grace_period', null],
  7: ['subscription.cancellation_revoked', null],
  8: ['subscription.price_change_accepted', null],
  9: ['subscription.deferred', null],
  10: ['subscription.paused', null],
  11: ['subscription.pause_schedule_changed', null],
  12: ['subscription.revoked', null],
  13: ['subscription.expired', null],
  17: ['subscription.pending_purchase_canceled', null],
  19: ['subscription.price_change_updated', null],
  20: ['subscription.price_change_rejected', null],
};

export function googleSubscriptionEventName(notificationType: number): UnifiedEventName {
  const mapped = GOOGLE_SUBSCRIPTION[notificationType];
  const platformEvent = `google.subscription.${notificationType}`;
  return mapped
    ? { event: mapped[0], reason: mapped[1], platformEvent }
    : { event: 'unknown', reason: null, platformEvent };
}

export function googleProductEventName(notificationType: number): UnifiedEventName {
  const platformEvent = `google.product.${notificationType}`;
  if (notificationType === 1) return { event: 'product.purchased', reason: null, platformEvent };
  if (notificationType === 2) return { event: 'product.canceled', reason: null, platformEvent };
  return { event: 'unknown', reason: null, platformEvent };
}

export const GOOGLE_VOIDED_EVENT: UnifiedEventName = {
  event: 'subscription.refunded',
  reason: null,
  platformEvent: 'google.voided',
};
