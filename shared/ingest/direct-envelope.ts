import type { AttestoWebhook, AttestoWebhookSubject } from '../attesto/schemas';
import type { VerifiedAppleNotification } from './apple/notification-verifier';
import { type UnifiedEvent, unifiedAppleEvent, unifiedGoogleEvent } from './event-mapping';
import type { DecodedPubSubMessage } from './google/pubsub-message';

// Wraps a verified store notification in the envelope Attesto would have sent for it (contract
// §3.4-§3.5), so the queue and the consumer see one shape whichever way the notification came.
// Differences from Attesto's envelope, on purpose:
// - `tenantId` is 'direct' and `eventId` is derived from the upstream id (`apple_<notificationUUID>`,
//   `google_<messageId>`), so a redelivery from the store gives the same eventId.
// - `externalId` is the upstream id, as Attesto sets it: the consumer dedupes on
//   (source, externalId), so the same store event arriving through Attesto and directly applies once.
// - Google `subject.key` is the notification's own purchaseToken: Attesto walks linkedPurchaseToken
//   to the root through the Play API, we leave that to the consumer, which resolves tokens to the
//   root purchase through its alias items. `appUserId` is null for Google (Attesto reads it from
//   the Play API; the consumer re-reads the purchase through Attesto's verify anyway).

export const DIRECT_TENANT_ID = 'direct';

const APPLE_SUBSCRIPTION_TYPES = new Set(['Auto-Renewable Subscription', 'Non-Renewing Subscription']);

/** The envelope fields both stores derive alike from the upstream id (see above). */
function envelopeHead(source: 'apple' | 'google', upstreamId: string, unified: UnifiedEvent, now: Date) {
  return {
    event: unified.event,
    reason: unified.reason,
    platformEvent: unified.platformEvent,
    eventId: `${source}_${upstreamId}`,
    externalId: upstreamId,
    timestamp: now.toISOString(),
    tenantId: DIRECT_TENANT_ID,
    source,
  };
}

export function normalizeAppleNotification(
  decoded: VerifiedAppleNotification,
  signedPayload: string,
  now: Date,
): AttestoWebhook {
  const { notification, transaction } = decoded;
  const unified = unifiedAppleEvent(notification);
  let subject: AttestoWebhookSubject | null = null;
  if (typeof transaction?.originalTransactionId === 'string' && transaction.originalTransactionId !== '') {
    subject = {
      key: transaction.originalTransactionId,
      productId: typeof transaction.productId === 'string' ? transaction.productId : null,
      type: APPLE_SUBSCRIPTION_TYPES.has(String(transaction.type ?? '')) ? 'subscription' : 'product',
    };
  }
  const appAccountToken = transaction?.appAccountToken;
  return {
    ...envelopeHead('apple', notification.notificationUUID, unified, now),
    subject,
    appUserId: typeof appAccountToken === 'string' && appAccountToken !== '' ? appAccountToken : null,
    // The notification as Apple signed it: signedTransactionInfo / signedRenewalInfo stay JWS strings.
    data: notification as unknown as Record<string, unknown>,
    raw: { signedPayload },
  };
}

export function normalizeGoogleNotification(decoded: DecodedPubSubMessage, now: Date): AttestoWebhook {
  const { notification } = decoded;
  const unified = unifiedGoogleEvent(notification);
  let subject: AttestoWebhookSubject | null = null;
  const subscription = notification.subscriptionNotification;
  const oneTime = notification.oneTimeProductNotification;
  if (subscription) {
    subject = {
      key: subscription.purchaseToken,
      productId: subscription.subscriptionId,
      type: 'subscription',
    };
  } else if (oneTime) {
    subject = {
      key: oneTime.purchaseToken,
      productId: oneTime.sku ?? oneTime.productId ?? null,
      type: 'product',
    };
  }
  // voidedPurchaseNotification and testNotification have no subject, as with Attesto.
  return {
    ...envelopeHead('google', decoded.messageId, unified, now),
    subject,
    appUserId: null,
    data: notification as Record<string, unknown>,
    // Only the message fields, as Attesto stores them: not the subscription path.
    raw: {
      message: {
        data: decoded.data,
        messageId: decoded.messageId,
        ...(decoded.publishTime !== null ? { publishTime: decoded.publishTime } : {}),
      },
    },
  };
}

/**
 * The identity of the store event behind an envelope, the same whether Attesto relayed it or the
 * store sent it directly: `apple:<notificationUUID>` / `google:<Pub/Sub messageId>`. Null for
 * envelopes without an upstream id (Attesto rows from before it recorded one).
 */
export function upstreamEventKey(webhook: Pick<AttestoWebhook, 'source' | 'externalId'>): string | null {
  return webhook.externalId ? `${webhook.source}:${webhook.externalId}` : null;
}
