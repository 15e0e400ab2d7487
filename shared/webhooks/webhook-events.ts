// One Attesto webhook → the purchase it is about and the PurchaseEvent it makes (DESIGN §5).
// Apple: the inner signed transaction and renewal info carry the state. Google: the notification
// is only a prompt, so the purchase is re-read through Attesto's Google verify with the
// notification's CURRENT token, and that token and the order id become aliases of the root purchase.
import { decodeAppleRenewalInfo, decodeAppleTransaction } from '../attesto/apple-jws';
import type { AttestoCallOptions, AttestoClient } from '../attesto/client';
import {
  type AttestoWebhook,
  appleNotificationDataSchema,
  type GoogleDeveloperNotification,
  type GoogleProductOk,
  type GoogleSubscriptionOk,
  googleNotificationDataSchema,
} from '../attesto/schemas';
import { appleEventFields, googleProductFields, googleSubscriptionFields } from '../domain/attesto-event';
import { aliasKey, purchaseKey } from '../domain/purchase';
import type { PurchaseEvent, PurchaseEventFields, PurchaseEventKind } from '../domain/state-machine';
import { DIRECT_TENANT_ID } from '../notifications/direct-envelope';
import { logger } from '../observability/logger';

export interface ResolvedEvent {
  pk: string;
  event: PurchaseEvent;
  aliases: string[];
  /** The user's app UUID the store carried (Apple appAccountToken, Google obfuscated id). */
  appUserId: string | undefined;
}

export interface EventLookups {
  attesto: () => AttestoClient;
  resolveAlias: (alias: string) => Promise<string | undefined>;
  callOptions?: AttestoCallOptions;
}

/** The event cannot be tied to a purchase we know (a voided purchase never verified here). */
export class UnmatchedEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnmatchedEventError';
  }
}

/** Undefined when the event names no purchase at all (no subject, nothing to decode). */
export async function resolveWebhookEvent(
  webhook: AttestoWebhook,
  kind: PurchaseEventKind,
  lookups: EventLookups,
): Promise<ResolvedEvent | undefined> {
  return webhook.source === 'apple' ? appleEvent(webhook, kind) : googleEvent(webhook, kind, lookups);
}

function appleEvent(webhook: AttestoWebhook, kind: PurchaseEventKind): ResolvedEvent | undefined {
  const data = appleNotificationDataSchema.parse(webhook.data);
  const signedTransaction = data.data?.signedTransactionInfo;
  if (!signedTransaction) return undefined;
  const transaction = decodeAppleTransaction(signedTransaction);
  const renewal = data.data?.signedRenewalInfo
    ? decodeAppleRenewalInfo(data.data.signedRenewalInfo)
    : undefined;
  const fields = appleEventFields(transaction, renewal);
  // Attesto keys Apple purchases by originalTransactionId; a REFUND may still come without subject.
  const subjectKey = webhook.subject?.key ?? transaction.originalTransactionId;
  return {
    pk: purchaseKey('apple', subjectKey),
    event: { kind, occurredAt: data.signedDate, fields },
    aliases: [aliasKey('apple-tx', transaction.transactionId)],
    appUserId: webhook.appUserId?.toLowerCase() ?? fields.appUserId,
  };
}

async function googleEvent(
  webhook: AttestoWebhook,
  kind: PurchaseEventKind,
  lookups: EventLookups,
): Promise<ResolvedEvent | undefined> {
  const data = googleNotificationDataSchema.parse(webhook.data);
  const occurredAt = Number(data.eventTimeMillis);
  const voided = data.voidedPurchaseNotification;
  if (voided && !webhook.subject) {
    const pk =
      (await lookups.resolveAlias(aliasKey('google-token', voided.purchaseToken))) ??
      (voided.orderId ? await lookups.resolveAlias(aliasKey('google-order', voided.orderId)) : undefined);
    if (!pk) throw new UnmatchedEventError('No purchase has the voided token or order id');
    return { pk, event: { kind, occurredAt, fields: {} }, aliases: [], appUserId: undefined };
  }

  if (!webhook.subject) return undefined;
  const reread = await rereadGoogle(data, lookups);
  if (!reread) return undefined;
  const aliases = [aliasKey('google-token', reread.token)];
  if (reread.fields.latestTransactionId)
    aliases.push(aliasKey('google-order', reread.fields.latestTransactionId));
  let pk = purchaseKey('google', webhook.subject.key);
  if (webhook.tenantId === DIRECT_TENANT_ID) {
    // The store's own notification names the current token, not the root Attesto resolves:
    // find the root through the aliases a verify or an earlier event wrote.
    pk =
      (await lookups.resolveAlias(aliasKey('google-token', reread.token))) ??
      (reread.linkedToken
        ? await lookups.resolveAlias(aliasKey('google-token', reread.linkedToken))
        : undefined) ??
      pk;
  }
  return {
    pk,
    event: { kind, occurredAt, fields: reread.fields },
    aliases,
    appUserId: webhook.appUserId?.toLowerCase() ?? reread.fields.appUserId,
  };
}

interface GoogleReread {
  token: string;
  linkedToken: string | undefined;
  fields: PurchaseEventFields;
}

async function rereadGoogle(
  data: GoogleDeveloperNotification,
  lookups: EventLookups,
): Promise<GoogleReread | undefined> {
  const subscription = data.subscriptionNotification;
  const oneTime = data.oneTimeProductNotification;
  if (subscription) {
    const result = await lookups.attesto().verifyGoogle(
      {
        packageName: data.packageName,
        productId: subscription.subscriptionId,
        purchaseToken: subscription.purchaseToken,
        type: 'subscription',
      },
      lookups.callOptions,
    );
    if (!result.valid) {
      // Google no longer knows the token: apply what the notification itself implies.
      logger.warn('Google verify rejected a notified subscription', { error: result.error });
      return {
        token: subscription.purchaseToken,
        linkedToken: undefined,
        fields: { productId: subscription.subscriptionId, productType: 'subscription' },
      };
    }
    const ok = result as GoogleSubscriptionOk;
    const linked = ok.purchase.rawResponse.linkedPurchaseToken;
    return {
      token: subscription.purchaseToken,
      linkedToken: typeof linked === 'string' && linked ? linked : undefined,
      fields: googleSubscriptionFields(ok),
    };
  }
  if (oneTime) {
    const sku = (oneTime.sku ?? oneTime.productId) as string;
    const result = await lookups.attesto().verifyGoogle(
      {
        packageName: data.packageName,
        productId: sku,
        purchaseToken: oneTime.purchaseToken,
        type: 'product',
      },
      lookups.callOptions,
    );
    if (!result.valid) {
      logger.warn('Google verify rejected a notified product', { error: result.error });
      return { token: oneTime.purchaseToken, linkedToken: undefined, fields: { productId: sku } };
    }
    return {
      token: oneTime.purchaseToken,
      linkedToken: undefined,
      fields: googleProductFields(result as GoogleProductOk),
    };
  }
  return undefined;
}
