// One Attesto webhook → the purchase it is about and the PurchaseEvent it makes (architecture §5).
// Apple: the inner signed transaction and renewal info carry the state. Google: the notification
// is only a prompt, so the purchase is re-read through Attesto's Google verify with the
// notification's CURRENT token, and that token and the order id become aliases of the root purchase.
// The re-read token's start time is the event's generation (state-machine.ts "Generations"), so
// a notification about a token an upgrade replaced never overrides the live token's state.
//
// Google voided purchases (refunds and chargebacks), with or without a subject:
//   - subscription: one refunded order need not end the subscription (Google refunds single
//     renewals of a live one), so the token is re-read and the purchase takes the state Google
//     reports after the refund: still active, or expired when Google revoked it;
//   - one-time product, full refund (refundType 1, or none given): revoked (status refunded);
//   - one-time product, quantity-based partial refund (refundType 2): the purchase keeps its
//     access; the event is recorded and logged, not applied.
import { decodeAppleRenewalInfo, decodeAppleTransaction } from '../../attesto/apple-jws';
import type { AttestoCallOptions, AttestoClient } from '../../attesto/client';
import {
  type AttestoWebhook,
  appleNotificationDataSchema,
  type GoogleDeveloperNotification,
  type GoogleProductOk,
  type GoogleSubscriptionOk,
  googleNotificationDataSchema,
} from '../../attesto/schemas';
import {
  appleEventFields,
  googleProductFields,
  googleSubscriptionFields,
} from '../../attesto/translate/event-fields';
import { googleSubscriptionStatus, googleTokenStart } from '../../attesto/translate/google-snapshot';
import { aliasKey, keyReference, type Purchase, purchaseKey } from '../../domain/purchase';
import type { PurchaseEvent, PurchaseEventFields, PurchaseEventKind } from '../../domain/state-machine';
import { logger } from '../../observability/logger';
import { googleChainRoot } from '../../purchases/google-chain';
import { DIRECT_TENANT_ID } from '../direct-envelope';

export interface ResolvedEvent {
  pk: string;
  event: PurchaseEvent;
  aliases: string[];
  /** The user's app UUID the store carried (Apple appAccountToken, Google obfuscated id). */
  appUserId: string | undefined;
}

/** An event that names a purchase but must not change it: recorded and logged only. */
export interface RecordedEvent {
  record: string;
  pk: string;
}

export interface EventLookups {
  attesto: () => AttestoClient;
  resolveAlias: (alias: string) => Promise<string | undefined>;
  /** The stored purchase (a voided subscription is re-read under its product id). */
  purchase: (pk: string) => Promise<Purchase | undefined>;
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
): Promise<ResolvedEvent | RecordedEvent | undefined> {
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
): Promise<ResolvedEvent | RecordedEvent | undefined> {
  const data = googleNotificationDataSchema.parse(webhook.data);
  if (data.voidedPurchaseNotification) return voidedEvent(webhook, data, lookups);

  if (!webhook.subject) return undefined;
  const reread = await rereadGoogle(data, lookups);
  if (!reread) return undefined;
  const aliases = [aliasKey('google-token', reread.token)];
  if (reread.fields.latestTransactionId)
    aliases.push(aliasKey('google-order', reread.fields.latestTransactionId));
  let pk = purchaseKey('google', webhook.subject.key);
  if (webhook.tenantId === DIRECT_TENANT_ID) {
    // The store's own notification names the current token, not the root Attesto resolves:
    // find the root through the aliases a verify or an earlier event wrote, walking the chain
    // back where a replaced token was never seen here.
    const own = await lookups.resolveAlias(aliasKey('google-token', reread.token));
    if (own) pk = own;
    else if (reread.linkedToken) {
      const root = await googleChainRoot(reread.linkedToken, {
        resolveAlias: lookups.resolveAlias,
        attesto: lookups.attesto(),
        packageName: data.packageName,
        subscriptionId: data.subscriptionNotification?.subscriptionId ?? webhook.subject.productId ?? '',
        ...(lookups.callOptions ? { callOptions: lookups.callOptions } : {}),
      });
      pk = root.pk;
      aliases.push(...root.aliases);
    }
  }
  return {
    pk,
    event: {
      kind,
      occurredAt: Number(data.eventTimeMillis),
      ...(reread.generation !== undefined ? { generation: reread.generation } : {}),
      fields: reread.fields,
    },
    aliases,
    appUserId: webhook.appUserId?.toLowerCase() ?? reread.fields.appUserId,
  };
}

/** The purchase a voided token or order belongs to: Attesto's root subject, else our aliases. */
async function voidedPurchaseKey(
  webhook: AttestoWebhook,
  voided: { purchaseToken: string; orderId?: string | undefined },
  lookups: EventLookups,
): Promise<string> {
  if (webhook.subject && webhook.tenantId !== DIRECT_TENANT_ID) {
    return purchaseKey('google', webhook.subject.key);
  }
  const pk =
    (await lookups.resolveAlias(aliasKey('google-token', voided.purchaseToken))) ??
    (voided.orderId ? await lookups.resolveAlias(aliasKey('google-order', voided.orderId)) : undefined) ??
    (webhook.subject ? purchaseKey('google', webhook.subject.key) : undefined);
  if (!pk) throw new UnmatchedEventError('No purchase has the voided token or order id');
  return pk;
}

async function voidedEvent(
  webhook: AttestoWebhook,
  data: GoogleDeveloperNotification,
  lookups: EventLookups,
): Promise<ResolvedEvent | RecordedEvent> {
  const voided = data.voidedPurchaseNotification as NonNullable<
    GoogleDeveloperNotification['voidedPurchaseNotification']
  >;
  const occurredAt = Number(data.eventTimeMillis);
  const pk = await voidedPurchaseKey(webhook, voided, lookups);
  const about = {
    purchase: keyReference(pk),
    refundType: voided.refundType,
    productType: voided.productType,
  };

  if (voided.productType !== 1) {
    if (voided.refundType === 2) {
      logger.info(
        'Partial (quantity) refund of a one-time product recorded; the purchase keeps its access',
        about,
      );
      return { record: 'partial-refund', pk };
    }
    return { pk, event: { kind: 'refunded', occurredAt, fields: {} }, aliases: [], appUserId: undefined };
  }

  const productId = webhook.subject?.productId ?? (await lookups.purchase(pk))?.productId;
  if (!productId) {
    logger.warn('Voided subscription recorded without a re-read: its product is unknown', about);
    return { record: 'void-unread', pk };
  }
  const result = await lookups
    .attesto()
    .verifyGoogle(
      { packageName: data.packageName, productId, purchaseToken: voided.purchaseToken, type: 'subscription' },
      lookups.callOptions,
    );
  if (!result.valid) {
    // Without Google's state we cannot tell a refunded renewal from a revoked subscription; a
    // revocation also arrives as its own SUBSCRIPTION_REVOKED notification.
    logger.warn('Voided subscription recorded: Google verify rejected its token', {
      ...about,
      error: result.error,
    });
    return { record: 'void-unread', pk };
  }
  const ok = result as GoogleSubscriptionOk;
  const state = googleSubscriptionStatus(ok.purchase.rawResponse.subscriptionState);
  const generation = googleTokenStart(ok);
  const fields: PurchaseEventFields = {
    ...googleSubscriptionFields(ok),
    ...(state && state !== 'pending'
      ? { status: state.status, ...(state.willRenew !== undefined ? { willRenew: state.willRenew } : {}) }
      : {}),
  };
  logger.info('Voided subscription order applied as the state Google reports', {
    ...about,
    status: fields.status,
  });
  return {
    pk,
    event: { kind: 'voided', occurredAt, ...(generation !== undefined ? { generation } : {}), fields },
    aliases: [aliasKey('google-token', voided.purchaseToken)],
    appUserId: undefined,
  };
}

interface GoogleReread {
  token: string;
  linkedToken: string | undefined;
  /** The token's start time; undefined when Google no longer knows the token or is a product. */
  generation?: number;
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
    const generation = googleTokenStart(ok);
    return {
      token: subscription.purchaseToken,
      linkedToken: typeof linked === 'string' && linked ? linked : undefined,
      ...(generation !== undefined ? { generation } : {}),
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
