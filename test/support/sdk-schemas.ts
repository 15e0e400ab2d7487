// Mirrors of the SDK's response schemas (contract §1.6–§1.11; iap:src/adapters/backend/types.ts,
// iap:src/types/entitlement.ts, iap:src/types/config.ts). Every object passes unknown keys
// through, as the SDK's do; a body that fails these is BACKEND_BAD_RESPONSE on the device.
import { z } from 'zod';

export const sdkEntitlementSchema = z
  .object({
    key: z.string().min(1),
    productId: z.string().min(1),
    // Required, null allowed.
    expiresAt: z.string().nullable(),
  })
  .loose();

export const sdkVerifyOkSchema = z
  .object({
    valid: z.literal(true),
    transaction: z
      .object({
        id: z.string().min(1),
        productId: z.string().min(1),
        expiresAt: z.string().nullable().optional(),
      })
      .loose(),
    entitlements: z.array(sdkEntitlementSchema),
  })
  .loose();

export const sdkVerifyRejectedSchema = z
  .object({ valid: z.literal(false), error: z.string(), message: z.string().optional() })
  .loose();

export const sdkVerifyResponseSchema = z.discriminatedUnion('valid', [
  sdkVerifyOkSchema,
  sdkVerifyRejectedSchema,
]);

export const sdkEntitlementsResponseSchema = z
  .object({ entitlements: z.array(sdkEntitlementSchema) })
  .loose();

export const sdkRestoreResponseSchema = z.discriminatedUnion('valid', [
  z.object({ valid: z.literal(true), entitlements: z.array(sdkEntitlementSchema) }).loose(),
  sdkVerifyRejectedSchema,
]);

export const sdkProductsResponseSchema = z
  .object({
    products: z
      .array(
        z
          .object({
            id: z.string().min(1),
            type: z.enum(['subscription', 'product', 'consumable']),
            androidPlanId: z.string().min(1).optional(),
          })
          .loose(),
      )
      .min(1)
      .refine(
        (products) => new Set(products.map((p) => p.id)).size === products.length,
        'duplicate product ids',
      ),
  })
  .loose();

/** The SDK's appUserId check: a strict UUID v4. */
export const sdkUuidResponseSchema = z.object({
  uuid: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i),
});

/**
 * The backend's own guarantees on top of the SDK's schema (contract §1.11): at most one
 * entitlement per key, nothing already expired, and the extra fields this backend sends.
 */
export function assertEntitlementSet(
  entitlements: z.infer<typeof sdkEntitlementSchema>[],
  now = Date.now(),
): void {
  const keys = entitlements.map((e) => e.key);
  if (new Set(keys).size !== keys.length) throw new Error(`duplicate entitlement keys: ${keys.join(', ')}`);
  for (const e of entitlements) {
    if (e.expiresAt !== null && Date.parse(e.expiresAt) <= now)
      throw new Error(`expired entitlement ${e.key}`);
    for (const field of ['status', 'willRenew', 'platform', 'environment']) {
      if (!(field in e)) throw new Error(`entitlement ${e.key} lacks ${field}`);
    }
  }
}
