// What an Attesto webhook tells us about a purchase, as PurchaseEventFields (pure). Apple's
// notification carries the state in its inner transaction and renewal info; a Google
// notification carries none, so its fields come from a re-read through Attesto's Google verify.

import { type Catalog, catalog, productById } from '../../domain/catalog';
import type { Environment, Ownership } from '../../domain/purchase';
import type { PurchaseEventFields } from '../../domain/state-machine';
import type { AppleRenewalInfo, AppleTransactionPayload } from '../apple-jws';
import type { GoogleProductOk, GoogleSubscriptionOk } from '../schemas';
import { appleProductType } from './apple-product-type';

function appleEnvironment(value: string): Environment {
  return value === 'Production' ? 'production' : 'sandbox';
}

function ownershipOf(value: string): Ownership | undefined {
  return value === 'PURCHASED' || value === 'FAMILY_SHARED' ? value : undefined;
}

/**
 * The fields of an Apple notification: its transaction (expiry, revocation, product, ids) and,
 * for subscriptions, its renewal info (auto-renew, grace end). Fields Apple leaves out are
 * omitted, except that renewal info without a grace end means "no grace period".
 */
export function appleEventFields(
  transaction: AppleTransactionPayload,
  renewal: AppleRenewalInfo | undefined,
  from: Catalog = catalog,
): PurchaseEventFields {
  const productType = appleProductType(transaction.type, transaction.productId, from);
  const ownership = ownershipOf(transaction.inAppOwnershipType);
  return {
    productId: transaction.productId,
    productType,
    // A subscription without an expiry says nothing about it; a one-time product never expires.
    ...(productType !== 'subscription'
      ? { expiresAt: null }
      : transaction.expiresDate !== undefined
        ? { expiresAt: transaction.expiresDate }
        : {}),
    environment: appleEnvironment(transaction.environment),
    ...(ownership ? { ownership } : {}),
    latestTransactionId: transaction.transactionId,
    ...(transaction.appAccountToken ? { appUserId: transaction.appAccountToken.toLowerCase() } : {}),
    ...(transaction.revocationDate !== undefined ? { revoked: true } : {}),
    ...(renewal
      ? {
          willRenew: renewal.autoRenewStatus === 1,
          gracePeriodExpiresAt: renewal.gracePeriodExpiresDate ?? null,
        }
      : {}),
  };
}

function isoMs(value: string | null): number | null {
  if (value === null) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

function lineItemProductId(raw: Record<string, unknown>): string | undefined {
  const items = raw.lineItems;
  if (!Array.isArray(items)) return undefined;
  const first = items[0] as { productId?: unknown } | undefined;
  return typeof first?.productId === 'string' && first.productId ? first.productId : undefined;
}

/** A subscription as Google's subscriptionsv2 reports it now (through Attesto's verify). */
export function googleSubscriptionFields(ok: GoogleSubscriptionOk): PurchaseEventFields {
  const p = ok.purchase;
  const appUserId = ok.appUserId ?? p.obfuscatedExternalAccountId;
  const expiresAt = isoMs(p.expiryTime);
  return {
    // Attesto's productId echoes our request; the line item names what Google actually sold.
    productId: lineItemProductId(p.rawResponse) ?? p.productId,
    productType: 'subscription',
    ...(expiresAt !== null ? { expiresAt } : {}),
    ...(p.autoRenewing !== null ? { willRenew: p.autoRenewing } : {}),
    environment: p.rawResponse.testPurchase !== undefined ? 'sandbox' : 'production',
    ...(p.orderId ? { latestTransactionId: p.orderId } : {}),
    ...(appUserId ? { appUserId: appUserId.toLowerCase() } : {}),
  };
}

/** A one-time product as Google's products.get reports it now (through Attesto's verify). */
export function googleProductFields(ok: GoogleProductOk, from: Catalog = catalog): PurchaseEventFields {
  const p = ok.purchase;
  const appUserId = ok.appUserId ?? p.obfuscatedExternalAccountId;
  const type = productById(p.productId, from)?.type;
  return {
    productId: p.productId,
    productType: type === 'consumable' ? 'consumable' : 'product',
    expiresAt: null,
    // purchaseType 0 is a licensed tester's test purchase; production purchases leave it out.
    environment: p.rawResponse.purchaseType === 0 ? 'sandbox' : 'production',
    ...(p.orderId ? { latestTransactionId: p.orderId } : {}),
    ...(appUserId ? { appUserId: appUserId.toLowerCase() } : {}),
  };
}
