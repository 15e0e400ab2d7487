import { type Catalog, catalog as defaultCatalog } from '../../shared/domain/catalog';
import type { SandboxProduct } from './sandbox-products';

/** The app's own product catalog as sandbox products, so the sandbox sells what the backend knows. */
export function sandboxProductsFromCatalog(from: Catalog = defaultCatalog): SandboxProduct[] {
  return from.products.map((p) => ({
    productId: p.id,
    type: p.type,
    ...(p.androidPlanId ? { basePlanId: p.androidPlanId } : {}),
  }));
}
