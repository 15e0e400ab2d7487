import { type Catalog, catalog, productById } from '../../domain/catalog';
import type { ProductType } from '../../domain/purchase';
import { APPLE_SUBSCRIPTION_TYPES } from './apple-subscription-types';

/**
 * The product type of an Apple transaction, the same for verify and webhooks. The app's catalog
 * decides (it alone tells the SDK's types apart, e.g. which products are consumables); Apple's
 * `type` only names products the catalog does not list.
 */
export function appleProductType(appleType: string, productId: string, from: Catalog = catalog): ProductType {
  const known = productById(productId, from);
  if (known) return known.type;
  if (APPLE_SUBSCRIPTION_TYPES.has(appleType)) return 'subscription';
  return appleType === 'Consumable' ? 'consumable' : 'product';
}
