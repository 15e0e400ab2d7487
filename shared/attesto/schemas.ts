import * as z from '../validation';

// Wire shapes of the Attesto verification service (contract §2, §3). Every object is loose:
// Attesto adds fields between releases and we must not break on them. Fields the backend acts on
// are typed strictly; fields it only stores are nullable with a null default, so a body from an
// older Attesto that leaves them out still parses and consumers always see `T | null`.

// zod/mini (shared/validation.ts): the same parsing as classic zod, a fraction of the bundle.
const isoDateTime = z.iso.datetime({ offset: true });
const nullableDefault = <T extends z.ZodMiniType>(schema: T) => z._default(z.nullable(schema), null as never);
const jsonRecord = z.record(z.string(), z.unknown());
const msString = z.string().check(z.regex(/^\d+$/, 'expected a string of epoch milliseconds'));
const nonBlank = () => z.string().check(z.minLength(1));
const integer = () => z.number().check(z.int());

// ─── Verify requests (what we send) ─────────────────────────────────────────

export const appleVerifyRequestSchema = z.object({
  transactionId: z.string().check(z.minLength(1), z.maxLength(128)),
  environment: z.optional(z.enum(['production', 'sandbox'])),
});
export type AppleVerifyRequest = z.infer<typeof appleVerifyRequestSchema>;

export const googleVerifyRequestSchema = z.object({
  packageName: z.string().check(z.trim(), z.minLength(1), z.maxLength(200)),
  productId: z.string().check(z.trim(), z.minLength(1), z.maxLength(200)),
  purchaseToken: z.string().check(z.trim(), z.minLength(1), z.maxLength(4096)),
  // Attesto knows only these two; the SDK's `consumable` must be mapped to `product` first.
  type: z.enum(['subscription', 'product']),
});
export type GoogleVerifyRequest = z.infer<typeof googleVerifyRequestSchema>;

// ─── Verify answers ──────────────────────────────────────────────────────────

/** A domain "no" (HTTP 200): `TRANSACTION_NOT_FOUND`, `BUNDLE_ID_MISMATCH`, `PURCHASE_NOT_FOUND`, … */
export const verifyRejectedSchema = z.looseObject({
  valid: z.literal(false),
  error: nonBlank(),
  message: z.optional(z.string()),
});
export type VerifyRejected = z.infer<typeof verifyRejectedSchema>;

/** Every non-2xx Attesto answer (contract §2.4). */
export const attestoErrorSchema = z.looseObject({
  valid: z.literal(false),
  error: nonBlank(),
  message: z.string(),
  details: z.optional(jsonRecord),
});

const appleTransactionSchema = z.looseObject({
  transactionId: nonBlank(),
  // The stable key across renewals (= webhook subject.key).
  originalTransactionId: nonBlank(),
  bundleId: nonBlank(),
  productId: nonBlank(),
  purchaseDate: isoDateTime,
  originalPurchaseDate: isoDateTime,
  expiresDate: nullableDefault(isoDateTime),
  type: nonBlank(),
  inAppOwnershipType: z._default(nonBlank(), 'PURCHASED'),
  quantity: z._default(z.number().check(z.int(), z.gte(1)), 1),
  webOrderLineItemId: nullableDefault(z.string()),
  revocationDate: nullableDefault(isoDateTime),
  revocationReason: nullableDefault(integer()),
  offerType: nullableDefault(integer()),
  offerIdentifier: nullableDefault(z.string()),
  appAccountToken: nullableDefault(z.string()),
  storefront: nullableDefault(z.string()),
  storefrontId: nullableDefault(z.string()),
  transactionReason: nullableDefault(z.string()),
  currency: nullableDefault(z.string()),
  // Milli-units of the currency (9.99 → 9990), despite Attesto's docs saying cents.
  price: nullableDefault(z.number()),
  signedTransactionInfo: nonBlank(),
  rawDecodedPayload: jsonRecord,
});

export const appleVerifyOkSchema = z.looseObject({
  valid: z.literal(true),
  environment: z.enum(['production', 'sandbox']),
  // = transaction.appAccountToken: the UUID the app attached at purchase time.
  appUserId: nullableDefault(z.string()),
  // Build tag, informational only.
  version: z.optional(z.string()),
  transaction: appleTransactionSchema,
});
export type AppleVerifyOk = z.infer<typeof appleVerifyOkSchema>;

export const appleVerifyResponseSchema = z.union([appleVerifyOkSchema, verifyRejectedSchema]);

const googleSubscriptionPurchaseSchema = z.looseObject({
  kind: z.literal('androidpublisher#subscriptionPurchaseV2'),
  packageName: nonBlank(),
  // An echo of our request, not checked against Google: compare rawResponse.lineItems[].productId.
  productId: nonBlank(),
  purchaseToken: nonBlank(),
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
});

export const googleSubscriptionOkSchema = z.looseObject({
  valid: z.literal(true),
  appUserId: nullableDefault(z.string()),
  version: z.optional(z.string()),
  purchase: googleSubscriptionPurchaseSchema,
});
export type GoogleSubscriptionOk = z.infer<typeof googleSubscriptionOkSchema>;

const googleProductPurchaseSchema = z.looseObject({
  kind: z.literal('androidpublisher#productPurchase'),
  packageName: nonBlank(),
  productId: nonBlank(),
  purchaseToken: nonBlank(),
  purchaseTimeMillis: nullableDefault(msString),
  // Google: 0 purchased, 1 canceled, 2 pending.
  purchaseState: nullableDefault(integer()),
  // 0 not yet consumed, 1 consumed.
  consumptionState: nullableDefault(integer()),
  acknowledgementState: nullableDefault(integer()),
  orderId: nullableDefault(z.string()),
  obfuscatedExternalAccountId: nullableDefault(z.string()),
  rawResponse: jsonRecord,
});

export const googleProductOkSchema = z.looseObject({
  valid: z.literal(true),
  appUserId: nullableDefault(z.string()),
  version: z.optional(z.string()),
  purchase: googleProductPurchaseSchema,
});
export type GoogleProductOk = z.infer<typeof googleProductOkSchema>;

export const googleVerifyResponseSchema = z.union([
  googleSubscriptionOkSchema,
  googleProductOkSchema,
  verifyRejectedSchema,
]);

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

const attestoWebhookSubjectSchema = z.looseObject({
  // Apple originalTransactionId, or Google's ROOT purchaseToken of an upgrade chain.
  key: nonBlank(),
  productId: nullableDefault(z.string()),
  type: z.enum(['subscription', 'product']),
});
export type AttestoWebhookSubject = z.infer<typeof attestoWebhookSubjectSchema>;

/**
 * The signed envelope Attesto POSTs (contract §3.4). `event` stays a plain string so a name added
 * by a newer Attesto still parses; map it with `isAttestoEvent` and treat the rest as `unknown`.
 */
export const attestoWebhookSchema = z.looseObject({
  event: nonBlank(),
  reason: nullableDefault(z.string()),
  // "" on rows stored before Attesto unified its event names.
  platformEvent: z._default(z.string(), ''),
  eventId: nonBlank(),
  externalId: z.string(),
  // When Attesto RECEIVED the upstream event, not when it happened: order by data's own time.
  timestamp: isoDateTime,
  tenantId: nonBlank(),
  source: z.enum(['apple', 'google']),
  subject: z.nullable(attestoWebhookSubjectSchema),
  appUserId: nullableDefault(z.string()),
  data: jsonRecord,
  raw: z._default(jsonRecord, {}),
});
export type AttestoWebhook = z.infer<typeof attestoWebhookSchema>;

/**
 * Apple's decoded App Store Server Notification V2, as Attesto puts it in `data`. The inner
 * `signedTransactionInfo` / `signedRenewalInfo` are still JWS strings (see apple-jws.ts).
 * `data` is optional because Apple sends `summary` instead for RENEWAL_EXTENSION/SUMMARY and
 * `externalPurchaseToken` for EXTERNAL_PURCHASE_TOKEN.
 */
export const appleNotificationDataSchema = z.looseObject({
  notificationType: nonBlank(),
  subtype: z.optional(z.string()),
  notificationUUID: nonBlank(),
  version: z.string(),
  signedDate: integer(),
  data: z.optional(
    z.looseObject({
      appAppleId: z.optional(integer()),
      bundleId: nonBlank(),
      bundleVersion: z.optional(z.string()),
      environment: z.enum(['Production', 'Sandbox']),
      signedTransactionInfo: z.optional(nonBlank()),
      signedRenewalInfo: z.optional(nonBlank()),
      // 1 active, 2 expired, 3 billing retry, 4 grace period, 5 revoked.
      status: z.optional(z.number().check(z.int(), z.gte(1), z.lte(5))),
    }),
  ),
  summary: z.optional(jsonRecord),
});

/** Google Play's decoded RTDN `DeveloperNotification`, as Attesto puts it in `data`. */
export const googleNotificationDataSchema = z.looseObject({
  version: z.string(),
  packageName: nonBlank(),
  eventTimeMillis: msString,
  subscriptionNotification: z.optional(
    z.looseObject({
      version: z.optional(z.string()),
      notificationType: integer(),
      // The CURRENT token, which may differ from the webhook's root subject.key.
      purchaseToken: nonBlank(),
      subscriptionId: nonBlank(),
    }),
  ),
  oneTimeProductNotification: z.optional(
    z
      .looseObject({
        version: z.optional(z.string()),
        notificationType: integer(),
        purchaseToken: nonBlank(),
        sku: z.optional(nonBlank()),
        // Older payloads name the product `productId` instead of `sku`.
        productId: z.optional(nonBlank()),
      })
      .check(
        z.refine((n) => n.sku !== undefined || n.productId !== undefined, {
          message: 'oneTimeProductNotification needs sku or productId',
        }),
      ),
  ),
  voidedPurchaseNotification: z.optional(
    z.looseObject({
      purchaseToken: nonBlank(),
      orderId: z.optional(nonBlank()),
      // 1 subscription, 2 one-time.
      productType: integer(),
      // 1 full, 2 partial by quantity.
      refundType: z.optional(integer()),
    }),
  ),
  testNotification: z.optional(z.looseObject({ version: z.optional(z.string()) })),
});
export type GoogleDeveloperNotification = z.infer<typeof googleNotificationDataSchema>;

/** The DeveloperNotification schema under the name the tests use. */
export const googleDeveloperNotificationSchema = googleNotificationDataSchema;
