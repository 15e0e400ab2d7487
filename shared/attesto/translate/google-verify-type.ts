import type { ProductType } from '../../domain/purchase';

/** Attesto's Google verify knows only subscriptions and one-time products (contract §2.3). */
export function attestoGoogleType(productType: ProductType): 'subscription' | 'product' {
  return productType === 'subscription' ? 'subscription' : 'product';
}
