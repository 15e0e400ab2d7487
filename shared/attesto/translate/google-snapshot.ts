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
import type { PurchaseSnapshot, SnapshotCredit } from '../../domain/snapshot';
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

type Rejected = Extract<GoogleSnapshotOutcome, { outcome: 'rejected' }>;

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
function productMismatch(requested: string): Rejected {
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

/** What one kind of Google purchase says about access, before the fields every snapshot has. */
interface GoogleReading {
  /** Status, expiry and renewal as this kind of purchase reports them. */
  fields: PurchaseEventFields;
  occurredAt: number;
  /** A subscription token's start time (state-machine.ts "Generations"). */
  generation?: number;
  expiresAt: number | null;
  environment: 'production' | 'sandbox';
  /** A consumable that is not canceled: credited once per token. */
  creditable: boolean;
  /** Order ids Google names besides purchase.orderId (a subscription's line items). */
  orderIds: string[];
}

function isSubscription(ok: GoogleVerifyOk): ok is GoogleSubscriptionOk {
  return ok.purchase.kind === 'androidpublisher#subscriptionPurchaseV2';
}

function lineItemsOf(raw: Record<string, unknown>): Record<string, unknown>[] {
  return (Array.isArray(raw.lineItems) ? raw.lineItems : []).map(record).filter((l) => l !== undefined);
}

/** The line item's autoRenewingPlan says it; else Attesto's autoRenewing (the first line's). */
function autoRenewOf(line: Record<string, unknown>, ok: GoogleSubscriptionOk): boolean | undefined {
  const plan = record(line.autoRenewingPlan);
  return typeof plan?.autoRenewEnabled === 'boolean'
    ? plan.autoRenewEnabled
    : (ok.purchase.autoRenewing ?? undefined);
}

function readSubscription(
  ok: GoogleSubscriptionOk,
  productId: string,
  now: number,
): GoogleReading | Rejected {
  const { purchase } = ok;
  const raw = purchase.rawResponse;
  // Attesto echoes the requested productId; Google's own answer names the products it sold.
  const lineItems = lineItemsOf(raw);
  const line = lineItems.find((l) => l.productId === productId);
  if (!line) return productMismatch(productId);
  const state = str(raw.subscriptionState);
  const mapped = state ? SUBSCRIPTION_STATUS[state] : undefined;
  if (mapped === 'pending') return PENDING;
  const expiresAt = msOf(str(line.expiryTime)) ?? msOf(purchase.expiryTime) ?? null;
  const status = mapped?.status ?? 'active';
  const willRenew = mapped?.willRenew ?? autoRenewOf(line, ok);
  const generation = googleTokenStart(ok);
  return {
    fields: {
      status,
      expiresAt,
      // Google moves expiryTime to the end of the grace period while in it.
      ...(status === 'grace' ? { gracePeriodExpiresAt: expiresAt } : {}),
      ...(willRenew !== undefined ? { willRenew } : {}),
    },
    occurredAt: generation ?? now,
    ...(generation !== undefined ? { generation } : {}),
    expiresAt,
    environment: environmentOf(raw, 'subscription'),
    creditable: false,
    orderIds: lineItems.map((l) => str(l.latestSuccessfulOrderId)).filter((o) => o !== undefined),
  };
}

function readOneTimeProduct(
  ok: GoogleProductOk,
  request: { productId: string; productType: ProductType },
  now: number,
): GoogleReading | Rejected {
  const { purchase } = ok;
  const rawProduct = str(purchase.rawResponse.productId);
  if (rawProduct && rawProduct !== request.productId) return productMismatch(request.productId);
  if (purchase.purchaseState === 2) return PENDING;
  const canceled = purchase.purchaseState === 1;
  const purchasedAt = purchase.purchaseTimeMillis === null ? undefined : Number(purchase.purchaseTimeMillis);
  const fields: PurchaseEventFields = {
    status: canceled ? 'revoked' : 'active',
    expiresAt: null,
    willRenew: false,
  };
  if (canceled) fields.revoked = true;
  return {
    fields,
    occurredAt: canceled ? now : (purchasedAt ?? now),
    expiresAt: null,
    environment: environmentOf(purchase.rawResponse, 'product'),
    creditable: request.productType === 'consumable' && !canceled,
    orderIds: [],
  };
}

/** Google has subscriptions and one-time products; the request tells consumables apart. */
function productTypeOf(ok: GoogleVerifyOk, requested: ProductType): ProductType {
  if (isSubscription(ok)) return 'subscription';
  return requested === 'subscription' ? 'product' : requested;
}

function snapshotEvent(
  ok: GoogleVerifyOk,
  reading: GoogleReading,
  request: { productId: string; productType: ProductType },
): PurchaseEvent {
  const { purchase } = ok;
  const appUserId = ok.appUserId ?? purchase.obfuscatedExternalAccountId ?? undefined;
  return {
    kind: 'snapshot',
    occurredAt: reading.occurredAt,
    ...(reading.generation !== undefined ? { generation: reading.generation } : {}),
    fields: {
      ...reading.fields,
      productId: request.productId,
      productType: productTypeOf(ok, request.productType),
      environment: reading.environment,
      ownership: 'PURCHASED',
      latestTransactionId: purchase.orderId ?? purchase.purchaseToken,
      ...(appUserId ? { appUserId } : {}),
    },
  };
}

/** The token and every order id Google named: each leads back to the purchase. */
function aliasesOf(ok: GoogleVerifyOk, reading: GoogleReading): string[] {
  const orderIds = new Set<string>();
  if (ok.purchase.orderId) orderIds.add(ok.purchase.orderId);
  for (const order of reading.orderIds) orderIds.add(order);
  return [
    aliasKey('google-token', ok.purchase.purchaseToken),
    ...[...orderIds].map((o) => aliasKey('google-order', o)),
  ];
}

function creditOf(token: string, productId: string, from: Catalog): SnapshotCredit {
  const product = productById(productId, from);
  return {
    key: creditKey('google', token),
    productId,
    ...(product?.credits ? { credits: product.credits } : {}),
  };
}

export function googleSnapshot(
  ok: GoogleVerifyOk,
  request: { productId: string; productType: ProductType },
  now: number,
  from: Catalog = defaultCatalog,
): GoogleSnapshotOutcome {
  const reading = isSubscription(ok)
    ? readSubscription(ok, request.productId, now)
    : readOneTimeProduct(ok, request, now);
  if ('outcome' in reading) return reading;
  const token = ok.purchase.purchaseToken;
  return {
    outcome: 'snapshot',
    snapshot: {
      event: snapshotEvent(ok, reading, request),
      aliases: aliasesOf(ok, reading),
      ...(reading.creditable ? { credit: creditOf(token, request.productId, from) } : {}),
      transaction: {
        id: token,
        productId: request.productId,
        expiresAt: reading.expiresAt === null ? null : new Date(reading.expiresAt).toISOString(),
      },
      environment: reading.environment,
      linkedPurchaseToken: str(ok.purchase.rawResponse.linkedPurchaseToken),
      purchaseToken: token,
    },
  };
}
