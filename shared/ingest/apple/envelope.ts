// A verified App Store Server Notification as the envelope Attesto would have sent for it
// (see ../direct-envelope.ts for how the two differ).
import type { AttestoWebhook, AttestoWebhookSubject } from '../../attesto/schemas';
import { APPLE_SUBSCRIPTION_TYPES } from '../../attesto/translate/apple-subscription-types';
import { directEnvelopeHead } from '../direct-envelope';
import { unifiedAppleEvent } from '../event-mapping';
import type { VerifiedAppleNotification } from './notification-verifier';

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
    ...directEnvelopeHead('apple', notification.notificationUUID, unified, now),
    subject,
    appUserId: typeof appAccountToken === 'string' && appAccountToken !== '' ? appAccountToken : null,
    // The notification as Apple signed it: signedTransactionInfo / signedRenewalInfo stay JWS strings.
    data: notification as unknown as Record<string, unknown>,
    raw: { signedPayload },
  };
}
