// A Google verify result (Attesto §2.3) as a purchase snapshot. Pure: `now` is an argument.
//
// Unlike Apple's, Google's answer is the CURRENT state of a purchase token, not a historical
// transaction. Ordering:
//   - a subscription's generation (state-machine.ts "Generations") is its token's startTime, and
//     it is ordered at that startTime too. Each token of an upgrade chain starts later than the
//     one it replaced, so verifying an old, replaced token never overrides anything the newer
//     token said; within one token, any webhook event (always after its start) wins over a
//     verify, so a Google read that lags an event cannot move the expiry back. With no webhooks at
//     all, repeated verifies share the same key and the newest arrival wins (the store's guard is ≤).
//   - a one-time product is ordered at purchaseTimeMillis; once canceled (refunded or voided,
//     which Google never undoes) at `now`, the time we saw it, since Google gives no cancel time.

import { type Catalog, catalog as defaultCatalog, productById } from '../../domain/catalog';
import { aliasKey, creditKey, type ProductType, type PurchaseStatus } from '../../domain/purchase';
import type { PurchaseSnapshot } from '../../domain/snapshot';
import type { PurchaseEvent, PurchaseEventFields } from '../../domain/state-machine';
import type { GoogleProductOk, GoogleSubscriptionOk } from '../schemas';

export type GoogleVerifyOk = GoogleSubscriptionOk | GoogleProductOk;

/** Everything but the purchase key: the root of an upgrade chain is resolved against the store. */
export type GoogleSnapshot = Omit<PurchaseSnapshot, 'pk'> & {
  /** rawResponse.linkedPurchaseToken: the token this one replaced (upgrade, downgrade, resubscribe). */
  linkedPurchaseToken: string | undefined;
  /** The token itself. */
  purchaseToken: string;
};

export type GoogleSnapshotOutcome =
  | { outcome: 'snapshot'; snapshot: GoogleSnapshot }
  | { outcome: 'rejected'; error: string; message: string };

const SUBSCRIPTION_STATUS: Record<string, { status: PurchaseStatus; willRenew?: boolean } | 'pending'> = {
  SUBSCRIPTION_STATE_ACTIVE: { status: 'active' },
  // Canceled by the user: access continues until expiry, it just will not renew.
  SUBSCRIPTION_STATE_CANCELED: { status: 'active', willRenew: false },
  SUBSCRIPTION_STATE_IN_GRACE_PERIOD: { status: 'grace' },
  SUBSCRIPTION_STATE_ON_HOLD: { status: 'on_hold' },
  SUBSCRIPTION_STATE_PAUSED: { status: 'paused' },
  SUBSCRIPTION_STATE_EXPIRED: { status: 'expired', willRenew: false },
  SUBSCRIPTION_STATE_PENDING_PURCHASE_CANCELED: { status: 'expired', willRenew: false },
  SUBSCRIPTION_STATE_PENDING: 'pending',
};

const PENDING = {
  outcome: 'rejected',
  error: 'PURCHASE_PENDING',
  message: 'The purchase is pending payment; verify it again once it completes',
} as const;

/** Never names the purchase's product: the caller may not own it. */
function productMismatch(requested: string): GoogleSnapshotOutcome {
  return { outcome: 'rejected', error: 'PRODUCT_MISMATCH', message: `The purchase is not for ${requested}` };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function msOf(iso: string | null | undefined): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/** Test purchases (licence testers, App Review) are Google's sandbox. */
function environmentOf(raw: Record<string, unknown>, kind: 'subscription' | 'product') {
  if (kind === 'subscription') return raw.testPurchase !== undefined ? 'sandbox' : 'production';
  return raw.purchaseType === 0 ? 'sandbox' : 'production';
}

/** Access as Google's subscriptionState describes it; undefined for a state we do not know. */
export function googleSubscriptionStatus(
  state: unknown,
): { status: PurchaseStatus; willRenew?: boolean } | 'pending' | undefined {
  return typeof state === 'string' && Object.hasOwn(SUBSCRIPTION_STATUS, state)
    ? SUBSCRIPTION_STATUS[state]
    : undefined;
}

/** When Google granted this subscription token (epoch ms): its generation in an upgrade chain. */
export function googleTokenStart(ok: GoogleSubscriptionOk): number | undefined {
  return msOf(ok.purchase.startTime) ?? msOf(str(ok.purchase.rawResponse.startTime));
}

export function googleSnapshot(
  ok: GoogleVerifyOk,
  request: { productId: string; productType: ProductType },
  now: number,
  from: Catalog = defaultCatalog,
): GoogleSnapshotOutcome {
  const purchase = ok.purchase;
  const raw = purchase.rawResponse;
  const token = purchase.purchaseToken;
  const appUserId = ok.appUserId ?? purchase.obfuscatedExternalAccountId ?? undefined;
  const orderIds = new Set<string>();
  if (purchase.orderId) orderIds.add(purchase.orderId);
  let fields: PurchaseEventFields;
  let occurredAt: number;
  let expiresAt: number | null;
  let environment: 'production' | 'sandbox';
  let creditable = false;
  let generation: number | undefined;

  if (purchase.kind === 'androidpublisher#subscriptionPurchaseV2') {
    // Attesto echoes the requested productId; Google's own answer names the products it sold.
    const lineItems = (Array.isArray(raw.lineItems) ? raw.lineItems : [])
      .map(record)
      .filter((l) => l !== undefined);
    const line = lineItems.find((l) => l.productId === request.productId);
    if (!line) return productMismatch(request.productId);
    for (const l of lineItems) {
      const order = str(l.latestSuccessfulOrderId);
      if (order) orderIds.add(order);
    }
    const state = str(raw.subscriptionState);
    const mapped = state ? SUBSCRIPTION_STATUS[state] : undefined;
    if (mapped === 'pending') return PENDING;
    expiresAt = msOf(str(line.expiryTime)) ?? msOf(purchase.expiryTime) ?? null;
    const plan = record(line.autoRenewingPlan);
    const autoRenew =
      typeof plan?.autoRenewEnabled === 'boolean'
        ? plan.autoRenewEnabled
        : (purchase.autoRenewing ?? undefined);
    const status = mapped?.status ?? 'active';
    const willRenew = mapped?.willRenew ?? autoRenew;
    environment = environmentOf(raw, 'subscription');
    generation = googleTokenStart(ok as GoogleSubscriptionOk);
    occurredAt = generation ?? now;
    fields = {
      status,
      expiresAt,
      // Google moves expiryTime to the end of the grace period while in it.
      ...(status === 'grace' ? { gracePeriodExpiresAt: expiresAt } : {}),
      ...(willRenew !== undefined ? { willRenew } : {}),
    };
  } else {
    const rawProduct = str(raw.productId);
    if (rawProduct && rawProduct !== request.productId) return productMismatch(request.productId);
    if (purchase.purchaseState === 2) return PENDING;
    const canceled = purchase.purchaseState === 1;
    expiresAt = null;
    environment = environmentOf(raw, 'product');
    const purchasedAt =
      purchase.purchaseTimeMillis === null ? undefined : Number(purchase.purchaseTimeMillis);
    occurredAt = canceled ? now : (purchasedAt ?? now);
    creditable = request.productType === 'consumable' && !canceled;
    fields = { status: canceled ? 'revoked' : 'active', expiresAt: null, willRenew: false };
    if (canceled) fields.revoked = true;
  }

  const productType: ProductType =
    purchase.kind === 'androidpublisher#subscriptionPurchaseV2'
      ? 'subscription'
      : request.productType === 'subscription'
        ? 'product'
        : request.productType;
  const event: PurchaseEvent = {
    kind: 'snapshot',
    occurredAt,
    ...(generation !== undefined ? { generation } : {}),
    fields: {
      ...fields,
      productId: request.productId,
      productType,
      environment,
      ownership: 'PURCHASED',
      latestTransactionId: purchase.orderId ?? token,
      ...(appUserId ? { appUserId } : {}),
    },
  };
  const product = productById(request.productId, from);
  return {
    outcome: 'snapshot',
    snapshot: {
      event,
      aliases: [aliasKey('google-token', token), ...[...orderIds].map((o) => aliasKey('google-order', o))],
      ...(creditable
        ? {
            credit: {
              key: creditKey('google', token),
              productId: request.productId,
              ...(product?.credits ? { credits: product.credits } : {}),
            },
          }
        : {}),
      transaction: {
        id: token,
        productId: request.productId,
        expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString(),
      },
      environment,
      linkedPurchaseToken: str(raw.linkedPurchaseToken),
      purchaseToken: token,
    },
  };
}
