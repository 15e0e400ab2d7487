import { decodeJwt, decodeProtectedHeader } from 'jose';
import { z } from 'zod';

// Apple's notification carries the transaction and renewal info as JWS strings that Attesto
// forwards undecoded. We read their payloads WITHOUT checking Apple's signature, on purpose: the
// webhook's HMAC proves Attesto sent this exact body, and Attesto accepted the notification only
// after verifying the whole JWS chain to Apple's root certificates. Checking it again here would
// need Apple's roots and OCSP in every consumer for no gain in trust.

export class AppleJwsDecodeError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'AppleJwsDecodeError';
  }
}

const epochMs = z.number().int().nonnegative();
// Apple's values; Xcode and LocalTesting come from StoreKit testing, never from the App Store.
const appleEnvironment = z.enum(['Production', 'Sandbox', 'Xcode', 'LocalTesting']);

/** Apple's JWSTransactionDecodedPayload. Dates are epoch milliseconds. */
export const appleTransactionPayloadSchema = z
  .object({
    transactionId: z.string().min(1),
    originalTransactionId: z.string().min(1),
    webOrderLineItemId: z.string().optional(),
    bundleId: z.string().min(1),
    productId: z.string().min(1),
    subscriptionGroupIdentifier: z.string().optional(),
    purchaseDate: epochMs,
    originalPurchaseDate: epochMs,
    expiresDate: epochMs.optional(),
    quantity: z.number().int().min(1).optional(),
    // 'Auto-Renewable Subscription' | 'Non-Renewing Subscription' | 'Consumable' | 'Non-Consumable'
    type: z.string().min(1),
    appAccountToken: z.string().optional(),
    // 'PURCHASED' | 'FAMILY_SHARED'
    inAppOwnershipType: z.string().min(1),
    signedDate: epochMs,
    revocationReason: z.number().int().optional(),
    revocationDate: epochMs.optional(),
    isUpgraded: z.boolean().optional(),
    offerType: z.number().int().optional(),
    offerIdentifier: z.string().optional(),
    environment: appleEnvironment,
    storefront: z.string().optional(),
    storefrontId: z.string().optional(),
    // 'PURCHASE' | 'RENEWAL'
    transactionReason: z.string().optional(),
    currency: z.string().optional(),
    // Milli-units of the currency.
    price: z.number().optional(),
    offerDiscountType: z.string().optional(),
    appTransactionId: z.string().optional(),
  })
  .loose();
export type AppleTransactionPayload = z.infer<typeof appleTransactionPayloadSchema>;

/** Apple's JWSRenewalInfoDecodedPayload. Dates are epoch milliseconds. */
export const appleRenewalInfoSchema = z
  .object({
    originalTransactionId: z.string().min(1),
    // The product that renews next (differs from productId after a downgrade or crossgrade).
    autoRenewProductId: z.string().min(1),
    productId: z.string().min(1),
    // 0 off, 1 on.
    autoRenewStatus: z.union([z.literal(0), z.literal(1)]),
    expirationIntent: z.number().int().optional(),
    gracePeriodExpiresDate: epochMs.optional(),
    isInBillingRetryPeriod: z.boolean().optional(),
    offerIdentifier: z.string().optional(),
    offerType: z.number().int().optional(),
    priceIncreaseStatus: z.number().int().optional(),
    recentSubscriptionStartDate: epochMs.optional(),
    renewalDate: epochMs.optional(),
    renewalPrice: z.number().optional(),
    currency: z.string().optional(),
    appAccountToken: z.string().optional(),
    appTransactionId: z.string().optional(),
    eligibleWinBackOfferIds: z.array(z.string()).optional(),
    signedDate: epochMs,
    environment: appleEnvironment,
  })
  .loose();
export type AppleRenewalInfo = z.infer<typeof appleRenewalInfoSchema>;

/** The JSON payload of a compact JWS (base64url middle segment), signature NOT checked. */
export function decodeJwsPayload(jws: string, what = 'JWS'): Record<string, unknown> {
  if (typeof jws !== 'string' || jws.length === 0) throw new AppleJwsDecodeError(`${what} is empty`);
  try {
    // Also rejects a header that is not base64url JSON, so garbage fails here and not later.
    decodeProtectedHeader(jws);
    return decodeJwt(jws) as Record<string, unknown>;
  } catch (error) {
    // jose's messages describe the structure ("Invalid JWT", "Invalid Token or Protected Header
    // formatting"), never the token, so they are safe to pass on.
    const reason = error instanceof Error ? error.message : 'unreadable';
    throw new AppleJwsDecodeError(`${what} is not a compact JWS with a JSON payload: ${reason}`, error);
  }
}

function decodeWith<T>(schema: z.ZodType<T>, jws: string, what: string): T {
  const payload = decodeJwsPayload(jws, what);
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`)
      .join('; ');
    throw new AppleJwsDecodeError(`${what} payload is not what Apple sends: ${problems}`, parsed.error);
  }
  return parsed.data;
}

export function decodeAppleTransaction(jws: string): AppleTransactionPayload {
  return decodeWith(appleTransactionPayloadSchema, jws, 'signedTransactionInfo');
}

export function decodeAppleRenewalInfo(jws: string): AppleRenewalInfo {
  return decodeWith(appleRenewalInfoSchema, jws, 'signedRenewalInfo');
}
