// The operator API's answers (docs/support.md) as schemas: docs/openapi.json is generated from
// them, and the handlers' return types are theirs.
import { entitlementSchema, isoTimeSchema } from '../purchases/response-schemas';
import * as z from '../validation';

const nullableText = z.nullable(z.string());

export const grantSchema = z.object({
  userId: z.string(),
  key: z.string(),
  /** Epoch ms when it ends; null = never. */
  expiresAt: z.nullable(z.number()),
  reason: z.string(),
  grantedBy: z.string(),
  grantedAt: isoTimeSchema,
  revokedAt: z.optional(isoTimeSchema),
  revokedBy: z.optional(z.string()),
  revokeReason: z.optional(z.string()),
});

export const grantResponseSchema = z.object({ grant: grantSchema });

export const revokeGrantResponseSchema = z.object({
  grant: grantSchema,
  /** False when the grant was already revoked: a repeated revocation changes nothing. */
  changed: z.boolean(),
});

const grantSummarySchema = z.object({
  key: z.string(),
  expiresAt: z.nullable(isoTimeSchema),
  reason: z.string(),
  grantedBy: z.string(),
  grantedAt: isoTimeSchema,
  revokedAt: z.nullable(isoTimeSchema),
  revokedBy: nullableText,
  live: z.boolean(),
});

export const purchaseSummarySchema = z.object({
  platform: z.enum(['apple', 'google']),
  subjectKey: z.string(),
  productId: nullableText,
  productType: nullableText,
  status: nullableText,
  expiresAt: z.nullable(isoTimeSchema),
  gracePeriodExpiresAt: z.nullable(isoTimeSchema),
  willRenew: z.nullable(z.boolean()),
  environment: nullableText,
  ownership: nullableText,
  owner: nullableText,
  appUserId: nullableText,
  latestTransactionId: nullableText,
  updatedAt: isoTimeSchema,
});

const historyRecordSchema = z.object({
  pk: z.string(),
  sk: z.string(),
  at: isoTimeSchema,
  cause: z.object({
    source: z.enum([
      'verify',
      'restore',
      'attesto-webhook',
      'apple-direct',
      'google-direct',
      'reconciliation',
      'operator',
    ]),
    eventId: z.optional(z.string()),
    markerId: z.optional(z.string()),
    event: z.optional(z.string()),
    caller: z.optional(z.string()),
    operator: z.optional(z.string()),
    reason: z.optional(z.string()),
  }),
  before: z.record(z.string(), z.unknown()),
  after: z.record(z.string(), z.unknown()),
  ownerBefore: nullableText,
  ownerAfter: nullableText,
});

const explainedPurchaseSchema = z.object({
  platform: z.enum(['apple', 'google']),
  subjectKey: z.string(),
  productId: nullableText,
  status: nullableText,
  expiresAt: z.nullable(isoTimeSchema),
  environment: nullableText,
  owner: nullableText,
  lastChange: z.nullable(z.object({ at: isoTimeSchema, source: z.string(), event: nullableText })),
});

const explainedKeySchema = z.object({
  key: z.string(),
  granted: z.boolean(),
  text: z.string(),
  grantedBy: z.nullable(
    z.extend(explainedPurchaseSchema, { status: z.string(), accessUntil: z.nullable(isoTimeSchema) }),
  ),
  reasons: z.array(
    z.object({
      code: z.enum([
        'no_purchase',
        'no_owner',
        'other_owner',
        'pending',
        'consumable',
        'sandbox_not_allowed',
        'expired',
        'refunded',
        'revoked',
        'on_hold',
        'paused',
        'billing_retry_not_entitled',
        'billing_retry_over',
      ]),
      text: z.string(),
      purchase: z.nullable(explainedPurchaseSchema),
    }),
  ),
  grant: z.nullable(grantSummarySchema),
});

export const customerResponseSchema = z.object({
  reference: z.string(),
  matchedBy: z.enum([
    'userId',
    'appUserId',
    'appleOriginalTransactionId',
    'appleTransactionId',
    'googlePurchaseToken',
    'googleOrderId',
  ]),
  user: z.nullable(z.object({ userId: z.string(), appUserId: nullableText })),
  entitlements: z.array(entitlementSchema),
  purchases: z.array(purchaseSummarySchema),
  grants: z.array(grantSummarySchema),
  history: z.array(historyRecordSchema),
  explanation: z.array(explainedKeySchema),
});

/** Stored items as they are (every attribute): the export is a copy of what the tables hold. */
const storedItems = z.array(z.record(z.string(), z.unknown()));

export const exportResponseSchema = z.object({
  version: z.literal(1),
  exportedAt: isoTimeSchema,
  userId: z.string(),
  appUserId: nullableText,
  userIds: storedItems,
  purchases: storedItems,
  grants: storedItems,
  aliases: storedItems,
  credits: storedItems,
  history: storedItems,
  rateLimits: storedItems,
  entitlementEvents: storedItems,
});

const count = z.number().check(z.int(), z.gte(0));

export const erasureResponseSchema = z.object({
  userId: z.string(),
  /** false: nothing named the user (already erased, or never known); nothing was written. */
  erased: z.boolean(),
  erasedAt: isoTimeSchema,
  counts: z.object({
    purchases: count,
    grants: count,
    credits: count,
    historyAnonymised: count,
    historyDeleted: count,
    rateLimitCounters: count,
    userIds: count,
    other: count,
  }),
});

export const transferResponseSchema = z.object({
  /** False when the purchase already belonged to `to`: nothing was written. */
  changed: z.boolean(),
  from: nullableText,
  to: z.string(),
  purchase: purchaseSummarySchema,
});

export const resyncResponseSchema = z.object({
  /** Whether the store's answer changed the purchase (and so wrote a history record). */
  changed: z.boolean(),
  purchase: purchaseSummarySchema,
});

export type TransferResponse = z.Output<typeof transferResponseSchema>;
export type ResyncResponse = z.Output<typeof resyncResponseSchema>;
export type ExportResponse = z.Output<typeof exportResponseSchema>;
export type ErasureResponse = z.Output<typeof erasureResponseSchema>;
export type GrantResponse = z.Output<typeof grantResponseSchema>;
export type RevokeGrantResponse = z.Output<typeof revokeGrantResponseSchema>;
export type CustomerResponse = z.Output<typeof customerResponseSchema>;
