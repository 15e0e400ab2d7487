import type { PurchaseEventKind } from '../../domain/state-machine';

// Attesto's unified event names (contract §3.6) → what the consumer does.

export type AttestoEventAction =
  /** Apply this kind. `reread`: the event carries no state; ask Attesto's verify for it first. */
  | { action: 'apply'; kind: PurchaseEventKind; reread: boolean }
  /** A real event that changes no access: mark it processed and log it. */
  | { action: 'record-only' }
  /** test / unknown: acknowledge, log platformEvent, no state change. */
  | { action: 'acknowledge' };

const APPLY: Record<string, PurchaseEventKind> = {
  'subscription.purchased': 'purchased',
  'subscription.renewed': 'renewed',
  'subscription.recovered': 'recovered',
  'subscription.cancellation_scheduled': 'cancellation_scheduled',
  'subscription.cancellation_revoked': 'cancellation_revoked',
  'subscription.expired': 'expired',
  'subscription.revoked': 'revoked',
  'subscription.refunded': 'refunded',
  'subscription.in_grace_period': 'in_grace_period',
  'subscription.in_billing_retry': 'in_billing_retry',
  'subscription.grace_period_expired': 'grace_period_expired',
  'subscription.on_hold': 'on_hold',
  'subscription.upgraded': 'upgraded',
  'subscription.downgraded': 'downgraded',
  'subscription.paused': 'paused',
  'subscription.deferred': 'deferred',
  'subscription.refund_reversed': 'refund_reversed',
  'subscription.renewal_extended': 'renewal_extended',
  'product.purchased': 'product_purchased',
  'product.canceled': 'product_canceled',
  'product.charged': 'product_charged',
};

const RECORD_ONLY = new Set([
  'subscription.renewal_pref_changed',
  'subscription.pause_schedule_changed',
  'subscription.refund_declined',
  'subscription.price_change_pending',
  'subscription.price_change_accepted',
  'subscription.price_change_updated',
  'subscription.price_change_rejected',
  'subscription.offer_redeemed',
  'subscription.renewal_extension_complete',
  'subscription.renewal_extension_failed',
  'subscription.consumption_request',
  'subscription.external_purchase_token',
  'subscription.pending_purchase_canceled',
]);

/**
 * Maps an Attesto webhook's `event` (with `reason` and `platformEvent`) to an action.
 * Special cases (contract §6.13, §6.14):
 *   - `apple.renewal_extension.failure` may arrive named `renewal_extension_complete`; neither
 *     moves an expiry, so both are recorded only (never treated as `renewal_extended`);
 *   - `apple.did_change_renewal_pref.upgrade` is an immediate upgrade Attesto names
 *     `renewal_pref_changed`: apply as `upgraded` after re-reading the transaction.
 * Google subscription notifications carry no expiry, so they always need a re-read.
 */
export function actionForAttestoEvent(
  event: string,
  _reason: string | null,
  platformEvent: string,
): AttestoEventAction {
  const platform = platformEvent.toLowerCase();
  if (platform === 'apple.did_change_renewal_pref.upgrade') {
    return { action: 'apply', kind: 'upgraded', reread: true };
  }
  if (platform.startsWith('apple.renewal_extension')) return { action: 'record-only' };
  const kind = APPLY[event];
  if (kind) return { action: 'apply', kind, reread: platform.startsWith('google.subscription.') };
  if (RECORD_ONLY.has(event)) return { action: 'record-only' };
  return { action: 'acknowledge' };
}
