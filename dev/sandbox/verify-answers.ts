import type { AppleVerifyRequest, GoogleVerifyRequest } from '../../shared/attesto/schemas';
import { googleProductPurchase, googleSubscriptionPurchaseV2 } from './google-payloads';
import type { SandboxWorld } from './world';

// The 200 answers of Attesto's two verify endpoints (contract §2.2, §2.3), computed from the world
// the way Attesto computes them from Apple's and Google's replies — including its quirks: Google's
// productId is an echo of the request, and the summary fields Attesto cannot read are null.

export interface VerifyContext {
  bundleId: string;
  packageName: string;
  version: string;
  now: number;
}

function isoOrNull(ms: unknown): string | null {
  return typeof ms === 'number' ? new Date(ms).toISOString() : null;
}

function stringOrNull(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}

function numberOrNull(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}

export function appleVerifyAnswer(world: SandboxWorld, request: AppleVerifyRequest, ctx: VerifyContext) {
  const found =
    request.environment === 'production' ? undefined : world.findAppleTransaction(request.transactionId);
  if (!found) {
    return {
      valid: false as const,
      error: 'TRANSACTION_NOT_FOUND',
      message:
        request.environment === undefined
          ? 'Transaction not found in any environment (production or sandbox)'
          : 'Transaction not found',
    };
  }
  const { purchase, transaction } = found;
  if (purchase.bundleId !== ctx.bundleId) {
    return {
      valid: false as const,
      error: 'BUNDLE_ID_MISMATCH',
      message: `Transaction belongs to bundleId "${purchase.bundleId}" but tenant is configured for "${ctx.bundleId}"`,
    };
  }
  const { payload: decoded, jws } = world.signAppleTransaction(purchase, transaction, ctx.now);
  return {
    valid: true as const,
    environment: 'sandbox' as const,
    appUserId: stringOrNull(decoded.appAccountToken),
    version: ctx.version,
    transaction: {
      transactionId: String(decoded.transactionId),
      originalTransactionId: String(decoded.originalTransactionId),
      bundleId: String(decoded.bundleId),
      productId: String(decoded.productId),
      purchaseDate: new Date(Number(decoded.purchaseDate)).toISOString(),
      originalPurchaseDate: new Date(Number(decoded.originalPurchaseDate)).toISOString(),
      expiresDate: isoOrNull(decoded.expiresDate),
      type: String(decoded.type),
      inAppOwnershipType: stringOrNull(decoded.inAppOwnershipType) ?? 'PURCHASED',
      quantity: numberOrNull(decoded.quantity) ?? 1,
      webOrderLineItemId: stringOrNull(decoded.webOrderLineItemId),
      revocationDate: isoOrNull(decoded.revocationDate),
      revocationReason: numberOrNull(decoded.revocationReason),
      offerType: numberOrNull(decoded.offerType),
      offerIdentifier: stringOrNull(decoded.offerIdentifier),
      appAccountToken: stringOrNull(decoded.appAccountToken),
      storefront: stringOrNull(decoded.storefront),
      storefrontId: stringOrNull(decoded.storefrontId),
      transactionReason: stringOrNull(decoded.transactionReason),
      currency: stringOrNull(decoded.currency),
      price: numberOrNull(decoded.price),
      signedTransactionInfo: jws,
      rawDecodedPayload: decoded,
    },
  };
}

export function googleVerifyAnswer(world: SandboxWorld, request: GoogleVerifyRequest, ctx: VerifyContext) {
  if (request.packageName !== ctx.packageName) {
    return {
      valid: false as const,
      error: 'PACKAGE_NAME_MISMATCH',
      message: `Tenant is configured for "${ctx.packageName}" but request was for "${request.packageName}"`,
    };
  }
  const purchase = world.findGoogleToken(request.purchaseToken);
  const kindMatches =
    purchase !== undefined && (purchase.productType === 'subscription') === (request.type === 'subscription');
  // Google answers 404 for a token of another app, or asked for on the wrong endpoint.
  // products.get is keyed by product id too; subscriptionsv2.get by the token alone.
  const productMatches = request.type === 'subscription' || purchase?.productId === request.productId;
  if (!purchase || !kindMatches || !productMatches || purchase.packageName !== request.packageName) {
    return { valid: false as const, error: 'PURCHASE_NOT_FOUND', message: 'Purchase token not found' };
  }

  if (request.type === 'subscription') {
    const raw = googleSubscriptionPurchaseV2(purchase);
    const line = (raw.lineItems as Array<Record<string, unknown>>)[0] ?? {};
    const plan = line.autoRenewingPlan as Record<string, unknown> | undefined;
    const ids = raw.externalAccountIdentifiers as Record<string, unknown> | undefined;
    const obfuscated = stringOrNull(ids?.obfuscatedExternalAccountId);
    return {
      valid: true as const,
      appUserId: obfuscated,
      version: ctx.version,
      purchase: {
        kind: 'androidpublisher#subscriptionPurchaseV2' as const,
        packageName: request.packageName,
        productId: request.productId,
        purchaseToken: request.purchaseToken,
        startTime: stringOrNull(raw.startTime),
        expiryTime: stringOrNull(line.expiryTime),
        autoRenewing: typeof plan?.autoRenewEnabled === 'boolean' ? plan.autoRenewEnabled : null,
        // Attesto reads price from lineItems[0].prices, which subscriptionsv2 does not return.
        priceCurrencyCode: null,
        priceAmountMicros: null,
        countryCode: stringOrNull(raw.regionCode),
        paymentState: null,
        // subscriptionsv2 sends a string enum; Attesto keeps numbers only.
        acknowledgementState: numberOrNull(raw.acknowledgementState),
        orderId: stringOrNull(raw.latestOrderId),
        obfuscatedExternalAccountId: obfuscated,
        rawResponse: raw,
      },
    };
  }

  const raw = googleProductPurchase(purchase);
  const obfuscated = stringOrNull(raw.obfuscatedExternalAccountId);
  return {
    valid: true as const,
    appUserId: obfuscated,
    version: ctx.version,
    purchase: {
      kind: 'androidpublisher#productPurchase' as const,
      packageName: request.packageName,
      productId: request.productId,
      purchaseToken: request.purchaseToken,
      purchaseTimeMillis: stringOrNull(raw.purchaseTimeMillis),
      purchaseState: numberOrNull(raw.purchaseState),
      consumptionState: numberOrNull(raw.consumptionState),
      acknowledgementState: numberOrNull(raw.acknowledgementState),
      orderId: stringOrNull(raw.orderId),
      obfuscatedExternalAccountId: obfuscated,
      rawResponse: raw,
    },
  };
}
