// A verified Google Play real-time developer notification as the envelope Attesto would have sent
// for it (see ../direct-envelope.ts for how the two differ).
import type { AttestoWebhook, AttestoWebhookSubject } from '../../attesto/schemas';
import { directEnvelopeHead } from '../direct-envelope';
import { unifiedGoogleEvent } from '../event-mapping';
import type { DecodedPubSubMessage } from './pubsub-message';

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
    ...directEnvelopeHead('google', decoded.messageId, unified, now),
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
