import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as z from '../validation';

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

const epochMs = z.number().check(z.int(), z.nonnegative());
// Apple's values; Xcode and LocalTesting come from StoreKit testing, never from the App Store.
const appleEnvironment = z.enum(['Production', 'Sandbox', 'Xcode', 'LocalTesting']);

/** Apple's JWSTransactionDecodedPayload. Dates are epoch milliseconds. */
const appleTransactionPayloadSchema = z.looseObject({
  transactionId: z.string().check(z.minLength(1)),
  originalTransactionId: z.string().check(z.minLength(1)),
  webOrderLineItemId: z.optional(z.string()),
  bundleId: z.string().check(z.minLength(1)),
  productId: z.string().check(z.minLength(1)),
  subscriptionGroupIdentifier: z.optional(z.string()),
  purchaseDate: epochMs,
  originalPurchaseDate: epochMs,
  expiresDate: z.optional(epochMs),
  quantity: z.optional(z.number().check(z.int(), z.gte(1))),
  // 'Auto-Renewable Subscription' | 'Non-Renewing Subscription' | 'Consumable' | 'Non-Consumable'
  type: z.string().check(z.minLength(1)),
  appAccountToken: z.optional(z.string()),
  // 'PURCHASED' | 'FAMILY_SHARED'
  inAppOwnershipType: z.string().check(z.minLength(1)),
  signedDate: epochMs,
  revocationReason: z.optional(z.number().check(z.int())),
  revocationDate: z.optional(epochMs),
  isUpgraded: z.optional(z.boolean()),
  offerType: z.optional(z.number().check(z.int())),
  offerIdentifier: z.optional(z.string()),
  environment: appleEnvironment,
  storefront: z.optional(z.string()),
  storefrontId: z.optional(z.string()),
  // 'PURCHASE' | 'RENEWAL'
  transactionReason: z.optional(z.string()),
  currency: z.optional(z.string()),
  // Milli-units of the currency.
  price: z.optional(z.number()),
  offerDiscountType: z.optional(z.string()),
  appTransactionId: z.optional(z.string()),
});
export type AppleTransactionPayload = z.infer<typeof appleTransactionPayloadSchema>;

/** Apple's JWSRenewalInfoDecodedPayload. Dates are epoch milliseconds. */
const appleRenewalInfoSchema = z.looseObject({
  originalTransactionId: z.string().check(z.minLength(1)),
  // The product that renews next (differs from productId after a downgrade or crossgrade).
  autoRenewProductId: z.string().check(z.minLength(1)),
  productId: z.string().check(z.minLength(1)),
  // 0 off, 1 on.
  autoRenewStatus: z.union([z.literal(0), z.literal(1)]),
  expirationIntent: z.optional(z.number().check(z.int())),
  gracePeriodExpiresDate: z.optional(epochMs),
  isInBillingRetryPeriod: z.optional(z.boolean()),
  offerIdentifier: z.optional(z.string()),
  offerType: z.optional(z.number().check(z.int())),
  priceIncreaseStatus: z.optional(z.number().check(z.int())),
  recentSubscriptionStartDate: z.optional(epochMs),
  renewalDate: z.optional(epochMs),
  renewalPrice: z.optional(z.number()),
  currency: z.optional(z.string()),
  appAccountToken: z.optional(z.string()),
  appTransactionId: z.optional(z.string()),
  eligibleWinBackOfferIds: z.optional(z.array(z.string())),
  signedDate: epochMs,
  environment: appleEnvironment,
});
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

function decodeWith<T>(schema: z.ZodMiniType<T>, jws: string, what: string): T {
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
