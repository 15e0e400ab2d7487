// The client API's answers (contract §1.6–§1.11) as schemas: docs/openapi.json is generated from
// them, and each handler's return type is theirs, so the code cannot drift from the document.
// Every field the SDK reads is required; the rest is what this backend adds (contract §1.11).
import * as z from '../validation';

const productTypeSchema = z.enum(['subscription', 'product', 'consumable']);
/** ISO-8601 time, as every answer writes times. */
export const isoTimeSchema = z.string().check(z.iso.datetime({ offset: true }));

export const entitlementSchema = z.object({
  key: z.string().check(z.minLength(1)),
  productId: z.string().check(z.minLength(1)),
  /** When access ends (grace or billing-retry end while in those states); null = lifetime. */
  expiresAt: z.nullable(isoTimeSchema),
  status: z.enum(['active', 'grace', 'billing_retry', 'on_hold', 'paused', 'expired', 'revoked', 'refunded']),
  /** null = unknown (an Apple purchase before its first webhook), not "will not renew". */
  willRenew: z.nullable(z.boolean()),
  /** null for a promotional grant: no store sold it. */
  platform: z.nullable(z.enum(['apple', 'google'])),
  environment: z.nullable(z.enum(['production', 'sandbox'])),
  source: z.enum(['purchase', 'grant']),
});

/** A store's "no": HTTP 200, so the SDK can acknowledge (or not) by `error` (contract §1.12). */
export const rejectionSchema = z.object({
  valid: z.literal(false),
  error: z.string(),
  message: z.string(),
});

export const verifyOkSchema = z.object({
  valid: z.literal(true),
  transaction: z.object({
    id: z.string().check(z.minLength(1)),
    productId: z.string().check(z.minLength(1)),
    expiresAt: z.nullable(isoTimeSchema),
    verifiedAt: isoTimeSchema,
  }),
  entitlements: z.array(entitlementSchema),
});

export const verifyResponseSchema = z.union([verifyOkSchema, rejectionSchema]);

export const entitlementsResponseSchema = z.object({ entitlements: z.array(entitlementSchema) });

export const restoreResponseSchema = z.object({
  valid: z.literal(true),
  entitlements: z.array(entitlementSchema),
});

export const productsResponseSchema = z.object({
  products: z
    .array(
      z.object({
        id: z.string().check(z.minLength(1)),
        type: productTypeSchema,
        androidPlanId: z.optional(z.string().check(z.minLength(1))),
      }),
    )
    .check(z.minLength(1)),
});

export const uuidResponseSchema = z.object({
  /** The appUserId to hand the store at purchase time; the SDK requires a UUID v4. */
  uuid: z.string().check(z.uuid({ version: 'v4' })),
});

export type VerifyResponse = z.Output<typeof verifyResponseSchema>;
export type EntitlementsResponse = z.Output<typeof entitlementsResponseSchema>;
export type RestoreResponse = z.Output<typeof restoreResponseSchema>;
export type ProductsResponse = z.Output<typeof productsResponseSchema>;
export type UuidResponse = z.Output<typeof uuidResponseSchema>;
