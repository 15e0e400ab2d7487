import { z } from 'zod';

// Wire shapes of the Attesto verification service (contract §2, §3). Every object is loose:
// Attesto adds fields between releases and we must not break on them. Fields the backend acts on
// are typed strictly; fields it only stores are nullable with a null default, so a body from an
// older Attesto that leaves them out still parses and consumers always see `T | null`.

const isoDateTime = z.iso.datetime({ offset: true });
const nullableDefault = <T extends z.ZodType>(schema: T) => schema.nullable().default(null);
const jsonRecord = z.record(z.string(), z.unknown());
const msString = z.string().regex(/^\d+$/, 'expected a string of epoch milliseconds');

// ─── Verify requests (what we send) ─────────────────────────────────────────

export const appleVerifyRequestSchema = z.object({
  transactionId: z.string().min(1).max(128),
  environment: z.enum(['production', 'sandbox']).optional(),
});
export type AppleVerifyRequest = z.infer<typeof appleVerifyRequestSchema>;

export const googleVerifyRequestSchema = z.object({
  packageName: z.string().trim().min(1).max(200),
  productId: z.string().trim().min(1).max(200),
  purchaseToken: z.string().trim().min(1).max(4096),
  // Attesto knows only these two; the SDK's `consumable` must be mapped to `product` first.
  type: z.enum(['subscription', 'product']),
});
export type GoogleVerifyRequest = z.infer<typeof googleVerifyRequestSchema>;

// ─── Verify answers ──────────────────────────────────────────────────────────

/** A domain "no" (HTTP 200): `TRANSACTION_NOT_FOUND`, `BUNDLE_ID_MISMATCH`, `PURCHASE_NOT_FOUND`, … */
export const verifyRejectedSchema = z
  .object({
    valid: z.literal(false),
    error: z.string().min(1),
    message: z.string().optional(),
  })
  .loose();
export type VerifyRejected = z.infer<typeof verifyRejectedSchema>;

/** Every non-2xx Attesto answer (contract §2.4). */
export const attestoErrorSchema = z
  .object({
    valid: z.literal(false),
    error: z.string().min(1),
    message: z.string(),
    details: jsonRecord.optional(),
  })
  .loose();
export type AttestoError = z.infer<typeof attestoErrorSchema>;

export const appleTransactionSchema = z
  .object({
    transactionId: z.string().min(1),
    // The stable key across renewals (= webhook subject.key).
    originalTransactionId: z.string().min(1),
    bundleId: z.string().min(1),
    productId: z.string().min(1),
    purchaseDate: isoDateTime,
    originalPurchaseDate: isoDateTime,
    expiresDate: nullableDefault(isoDateTime),
    type: z.string().min(1),
    inAppOwnershipType: z.string().min(1).default('PURCHASED'),
    quantity: z.number().int().min(1).default(1),
    webOrderLineItemId: nullableDefault(z.string()),
    revocationDate: nullableDefault(isoDateTime),
    revocationReason: nullableDefault(z.number().int()),
    offerType: nullableDefault(z.number().int()),
    offerIdentifier: nullableDefault(z.string()),
    appAccountToken: nullableDefault(z.string()),
    storefront: nullableDefault(z.string()),
    storefrontId: nullableDefault(z.string()),
    transactionReason: nullableDefault(z.string()),
    currency: nullableDefault(z.string()),
    // Milli-units of the currency (9.99 → 9990), despite Attesto's docs saying cents.
    price: nullableDefault(z.number()),
    signedTransactionInfo: z.string().min(1),
    rawDecodedPayload: jsonRecord,
  })
  .loose();
export type AppleTransaction = z.infer<typeof appleTransactionSchema>;

export const appleVerifyOkSchema = z
  .object({
    valid: z.literal(true),
    environment: z.enum(['production', 'sandbox']),
    // = transaction.appAccountToken: the UUID the app attached at purchase time.
    appUserId: nullableDefault(z.string()),
    // Build tag, informational only.
    version: z.string().optional(),
    transaction: appleTransactionSchema,
  })
  .loose();
export type AppleVerifyOk = z.infer<typeof appleVerifyOkSchema>;

export const appleVerifyResponseSchema = z.union([appleVerifyOkSchema, verifyRejectedSchema]);
export type AppleVerifyResponse = z.infer<typeof appleVerifyResponseSchema>;

export const googleSubscriptionPurchaseSchema = z
  .object({
    kind: z.literal('androidpublisher#subscriptionPurchaseV2'),
    packageName: z.string().min(1),
    // An echo of our request, not checked against Google: compare rawResponse.lineItems[].productId.
    productId: z.string().min(1),
    purchaseToken: z.string().min(1),
    startTime: nullableDefault(isoDateTime),
    // lineItems[0].expiryTime only; multi-line subscriptions must read rawResponse.
    expiryTime: nullableDefault(isoDateTime),
    autoRenewing: nullableDefault(z.boolean()),
    priceCurrencyCode: nullableDefault(z.string()),
    priceAmountMicros: nullableDefault(z.string()),
    countryCode: nullableDefault(z.string()),
    paymentState: nullableDefault(z.number()),
    // Usually null: v2 returns a string enum that Attesto's number check drops (see rawResponse).
    acknowledgementState: nullableDefault(z.number()),
    orderId: nullableDefault(z.string()),
    obfuscatedExternalAccountId: nullableDefault(z.string()),
    rawResponse: jsonRecord,
  })
  .loose();

export const googleSubscriptionOkSchema = z
  .object({
    valid: z.literal(true),
    appUserId: nullableDefault(z.string()),
    version: z.string().optional(),
    purchase: googleSubscriptionPurchaseSchema,
  })
  .loose();
export type GoogleSubscriptionOk = z.infer<typeof googleSubscriptionOkSchema>;

export const googleProductPurchaseSchema = z
  .object({
    kind: z.literal('androidpublisher#productPurchase'),
    packageName: z.string().min(1),
    productId: z.string().min(1),
    purchaseToken: z.string().min(1),
    purchaseTimeMillis: nullableDefault(msString),
    // Google: 0 purchased, 1 canceled, 2 pending.
    purchaseState: nullableDefault(z.number().int()),
    // 0 not yet consumed, 1 consumed.
    consumptionState: nullableDefault(z.number().int()),
    acknowledgementState: nullableDefault(z.number().int()),
    orderId: nullableDefault(z.string()),
    obfuscatedExternalAccountId: nullableDefault(z.string()),
    rawResponse: jsonRecord,
  })
  .loose();

export const googleProductOkSchema = z
  .object({
    valid: z.literal(true),
    appUserId: nullableDefault(z.string()),
    version: z.string().optional(),
    purchase: googleProductPurchaseSchema,
  })
  .loose();
export type GoogleProductOk = z.infer<typeof googleProductOkSchema>;

export const googleVerifyResponseSchema = z.union([
  googleSubscriptionOkSchema,
  googleProductOkSchema,
  verifyRejectedSchema,
]);
export type GoogleVerifyResponse = z.infer<typeof googleVerifyResponseSchema>;

// ─── Webhooks ────────────────────────────────────────────────────────────────

/** Attesto's unified event names (contract §3.6), tiers 1 to 4 in order. */
export const ATTESTO_EVENTS = [
  // Tier 1: must handle
  'subscription.purchased',
  'subscription.renewed',
  'subscription.recovered',
  'subscription.cancellation_scheduled',
  'subscription.cancellation_revoked',
  'subscription.expired',
  'subscription.revoked',
  'subscription.refunded',
  'subscription.in_grace_period',
  'subscription.in_billing_retry',
  'subscription.grace_period_expired',
  'subscription.on_hold',
  // Tier 2: recommended
  'subscription.upgraded',
  'subscription.downgraded',
  'subscription.renewal_pref_changed',
  'subscription.paused',
  'subscription.pause_schedule_changed',
  'subscription.deferred',
  'subscription.refund_declined',
  'subscription.refund_reversed',
  // Tier 3: feature-specific
  'subscription.price_change_pending',
  'subscription.price_change_accepted',
  'subscription.price_change_updated',
  'subscription.price_change_rejected',
  'subscription.offer_redeemed',
  'subscription.renewal_extended',
  'subscription.renewal_extension_complete',
  'subscription.renewal_extension_failed',
  'subscription.consumption_request',
  'subscription.external_purchase_token',
  'subscription.pending_purchase_canceled',
  'product.purchased',
  'product.canceled',
  'product.charged',
  // Tier 4: passthrough
  'test',
  'unknown',
] as const;
export type AttestoEvent = (typeof ATTESTO_EVENTS)[number];

const knownEvents: ReadonlySet<string> = new Set(ATTESTO_EVENTS);
export function isAttestoEvent(value: string): value is AttestoEvent {
  return knownEvents.has(value);
}

export const attestoWebhookSubjectSchema = z
  .object({
    // Apple originalTransactionId, or Google's ROOT purchaseToken of an upgrade chain.
    key: z.string().min(1),
    productId: nullableDefault(z.string()),
    type: z.enum(['subscription', 'product']),
  })
  .loose();
export type AttestoWebhookSubject = z.infer<typeof attestoWebhookSubjectSchema>;

/**
 * The signed envelope Attesto POSTs (contract §3.4). `event` stays a plain string so a name added
 * by a newer Attesto still parses; map it with `isAttestoEvent` and treat the rest as `unknown`.
 */
export const attestoWebhookSchema = z
  .object({
    event: z.string().min(1),
    reason: nullableDefault(z.string()),
    // "" on rows stored before Attesto unified its event names.
    platformEvent: z.string().default(''),
    eventId: z.string().min(1),
    externalId: z.string(),
    // When Attesto RECEIVED the upstream event, not when it happened: order by data's own time.
    timestamp: isoDateTime,
    tenantId: z.string().min(1),
    source: z.enum(['apple', 'google']),
    subject: attestoWebhookSubjectSchema.nullable(),
    appUserId: nullableDefault(z.string()),
    data: jsonRecord,
    raw: jsonRecord.default({}),
  })
  .loose();
export type AttestoWebhook = z.infer<typeof attestoWebhookSchema>;

/**
 * Apple's decoded App Store Server Notification V2, as Attesto puts it in `data`. The inner
 * `signedTransactionInfo` / `signedRenewalInfo` are still JWS strings (see apple-jws.ts).
 * `data` is optional because Apple sends `summary` instead for RENEWAL_EXTENSION/SUMMARY and
 * `externalPurchaseToken` for EXTERNAL_PURCHASE_TOKEN.
 */
export const appleNotificationDataSchema = z
  .object({
    notificationType: z.string().min(1),
    subtype: z.string().optional(),
    notificationUUID: z.string().min(1),
    version: z.string(),
    signedDate: z.number().int(),
    data: z
      .object({
        appAppleId: z.number().int().optional(),
        bundleId: z.string().min(1),
        bundleVersion: z.string().optional(),
        environment: z.enum(['Production', 'Sandbox']),
        signedTransactionInfo: z.string().min(1).optional(),
        signedRenewalInfo: z.string().min(1).optional(),
        // 1 active, 2 expired, 3 billing retry, 4 grace period, 5 revoked.
        status: z.number().int().min(1).max(5).optional(),
      })
      .loose()
      .optional(),
    summary: jsonRecord.optional(),
  })
  .loose();
export type AppleNotificationData = z.infer<typeof appleNotificationDataSchema>;

/** Google Play's decoded RTDN `DeveloperNotification`, as Attesto puts it in `data`. */
export const googleDeveloperNotificationSchema = z
  .object({
    version: z.string(),
    packageName: z.string().min(1),
    eventTimeMillis: msString,
    subscriptionNotification: z
      .object({
        version: z.string().optional(),
        notificationType: z.number().int(),
        // The CURRENT token, which may differ from the webhook's root subject.key.
        purchaseToken: z.string().min(1),
        subscriptionId: z.string().min(1),
      })
      .loose()
      .optional(),
    oneTimeProductNotification: z
      .object({
        version: z.string().optional(),
        notificationType: z.number().int(),
        purchaseToken: z.string().min(1),
        sku: z.string().min(1).optional(),
        // Older payloads name the product `productId` instead of `sku`.
        productId: z.string().min(1).optional(),
      })
      .loose()
      .refine((n) => n.sku !== undefined || n.productId !== undefined, {
        message: 'oneTimeProductNotification needs sku or productId',
      })
      .optional(),
    voidedPurchaseNotification: z
      .object({
        purchaseToken: z.string().min(1),
        orderId: z.string().min(1).optional(),
        // 1 subscription, 2 one-time.
        productType: z.number().int(),
        // 1 full, 2 partial by quantity.
        refundType: z.number().int().optional(),
      })
      .loose()
      .optional(),
    testNotification: z.object({ version: z.string().optional() }).loose().optional(),
  })
  .loose();
export type GoogleDeveloperNotification = z.infer<typeof googleDeveloperNotificationSchema>;
