// THE product catalog. Edit the `products` list below to match the products you created in
// App Store Connect and Play Console. It is checked when the module loads (and so at build and
// test time): a mistake stops every function from starting with a message naming the product.

import type { Input, Output } from '../validation';
import * as z from '../validation';
import type { ProductType } from './purchase';

const nonEmpty = z.string().check(z.trim(), z.minLength(1));

const productSchema = z.strictObject({
  /** The store product id (App Store productId / Play productId). */
  id: nonEmpty,
  type: z.enum(['subscription', 'product', 'consumable']),
  /** Play base plan id; sent to the SDK in the products manifest. */
  androidPlanId: z.optional(nonEmpty),
  /** Entitlement keys the product grants while it is owned. Consumables grant none. */
  entitlements: z._default(z.array(nonEmpty), []),
  /** What one purchase of a consumable credits, e.g. `{ coins: 100 }`. */
  credits: z.optional(z.record(nonEmpty, z.number().check(z.int(), z.positive()))),
});

const catalogSchema = z
  .strictObject({
    products: z.array(productSchema).check(z.minLength(1, 'the catalog needs at least one product')),
  })
  .check(
    z.superRefine((catalog, ctx) => {
      const seen = new Set<string>();
      catalog.products.forEach((product, index) => {
        const at = (field: string) => ['products', index, field];
        if (seen.has(product.id)) {
          ctx.addIssue({ code: 'custom', path: at('id'), message: `duplicate product id "${product.id}"` });
        }
        seen.add(product.id);
        if (new Set(product.entitlements).size !== product.entitlements.length) {
          ctx.addIssue({
            code: 'custom',
            path: at('entitlements'),
            message: `"${product.id}" lists an entitlement twice`,
          });
        }
        if (product.type === 'consumable' && product.entitlements.length > 0) {
          ctx.addIssue({
            code: 'custom',
            path: at('entitlements'),
            message: `"${product.id}" is a consumable: it is used up, so it cannot grant entitlements`,
          });
        }
        if (product.type !== 'consumable' && product.credits) {
          ctx.addIssue({
            code: 'custom',
            path: at('credits'),
            message: `"${product.id}" is not a consumable: only consumables credit`,
          });
        }
      });
    }),
  );

export type CatalogInput = Input<typeof catalogSchema>;
export type Catalog = Output<typeof catalogSchema>;
export type CatalogProduct = Catalog['products'][number];

export class CatalogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CatalogError';
  }
}

/** Validates a catalog, throwing one error that names every problem. */
export function parseCatalog(input: unknown): Catalog {
  const parsed = catalogSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(catalog)'}: ${i.message}`);
    throw new CatalogError(`Invalid product catalog: ${problems.join('; ')}`);
  }
  return parsed.data;
}

export const catalog: Catalog = parseCatalog({
  products: [
    { id: 'premium_monthly', type: 'subscription', androidPlanId: 'monthly-plan', entitlements: ['premium'] },
    { id: 'premium_yearly', type: 'subscription', androidPlanId: 'yearly-plan', entitlements: ['premium'] },
    { id: 'remove_ads', type: 'product', entitlements: ['no_ads'] },
    { id: 'coins_100', type: 'consumable', credits: { coins: 100 } },
  ],
} satisfies CatalogInput);

export function productById(productId: string, from: Catalog = catalog): CatalogProduct | undefined {
  return from.products.find((p) => p.id === productId);
}

/** Entitlement keys a product grants; none for unknown products and consumables. */
export function entitlementKeysOf(productId: string, from: Catalog = catalog): string[] {
  return productById(productId, from)?.entitlements ?? [];
}

export interface ProductManifest {
  products: { id: string; type: ProductType; androidPlanId?: string }[];
}

/** The SDK's products manifest (contract §1.9): at least one item, unique ids. */
export function productManifest(from: Catalog = catalog): ProductManifest {
  return {
    products: from.products.map((p) => ({
      id: p.id,
      type: p.type,
      ...(p.androidPlanId ? { androidPlanId: p.androidPlanId } : {}),
    })),
  };
}
