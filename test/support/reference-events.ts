import { decodeAppleRenewalInfo, decodeAppleTransaction } from '../../shared/attesto/apple-jws';
import type { SandboxWebhook } from '../../shared/attesto/sandbox/world-types';
import { appleNotificationDataSchema } from '../../shared/attesto/schemas';
import { appleEventFields } from '../../shared/attesto/translate/event-fields';
import type { PurchaseEvent } from '../../shared/domain/state-machine';
import { actionForAttestoEvent } from '../../shared/ingest/consumer/event-actions';

/**
 * The PurchaseEvent an Apple webhook stands for, decoded here from the envelope, for a reference
 * state computed with the pure state machine; undefined for a webhook that changes no purchase.
 */
export function appleReferenceEvent(webhook: SandboxWebhook): PurchaseEvent | undefined {
  const action = actionForAttestoEvent(webhook.event, webhook.reason, webhook.platformEvent);
  if (action.action !== 'apply') return undefined;
  const data = appleNotificationDataSchema.parse(webhook.data);
  const tx = decodeAppleTransaction(data.data?.signedTransactionInfo as string);
  const renewal = data.data?.signedRenewalInfo
    ? decodeAppleRenewalInfo(data.data.signedRenewalInfo)
    : undefined;
  return { kind: action.kind, occurredAt: data.signedDate, fields: appleEventFields(tx, renewal) };
}
