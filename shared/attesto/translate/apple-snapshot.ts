// An Apple verify result (Attesto §2.2) as a purchase snapshot: the event the store applies, the
// identifiers that lead back to the purchase, and a consumable's credit. Pure.
//
// Ordering (architecture §4): Attesto's answer describes ONE transaction, which may be an old renewal.
// The snapshot is therefore ordered at that transaction's purchaseDate (the start of its period),
// or at its revocationDate when it was refunded or revoked, so an old renewal verified late never
// moves the expiry back, and a refund seen at verify is not older than the purchase it overrides.

import { type Catalog, catalog as defaultCatalog, productById } from '../../domain/catalog';
import { aliasKey, creditKey, purchaseKey } from '../../domain/purchase';
import type { PurchaseSnapshot } from '../../domain/snapshot';
import type { PurchaseEvent } from '../../domain/state-machine';
import type { AppleVerifyOk } from '../schemas';
import { appleProductType } from './apple-product-type';

const ms = (iso: string) => Date.parse(iso);

export function appleSnapshot(ok: AppleVerifyOk, from: Catalog = defaultCatalog): PurchaseSnapshot {
  const tx = ok.transaction;
  const productType = appleProductType(tx.type, tx.productId, from);
  const revoked = tx.revocationDate !== null;
  const ownership = tx.inAppOwnershipType === 'FAMILY_SHARED' ? 'FAMILY_SHARED' : 'PURCHASED';
  const appUserId = ok.appUserId ?? tx.appAccountToken ?? undefined;
  const event: PurchaseEvent = {
    kind: 'snapshot',
    occurredAt: revoked ? ms(tx.revocationDate as string) : ms(tx.purchaseDate),
    fields: {
      productId: tx.productId,
      productType,
      expiresAt: tx.expiresDate === null ? null : ms(tx.expiresDate),
      environment: ok.environment,
      ownership,
      latestTransactionId: tx.transactionId,
      ...(appUserId ? { appUserId } : {}),
      // Apple REVOKE is a family member losing access; anything else revoked is a refund.
      ...(revoked ? { revoked: true, status: ownership === 'FAMILY_SHARED' ? 'revoked' : 'refunded' } : {}),
    },
  };
  const product = productById(tx.productId, from);
  const credit =
    productType === 'consumable' && !revoked
      ? {
          key: creditKey('apple', tx.transactionId),
          productId: tx.productId,
          ...(product?.credits ? { credits: product.credits } : {}),
        }
      : undefined;
  return {
    pk: purchaseKey('apple', tx.originalTransactionId),
    event,
    aliases: [aliasKey('apple-tx', tx.transactionId)],
    ...(credit ? { credit } : {}),
    transaction: {
      id: tx.transactionId,
      productId: tx.productId,
      expiresAt: tx.expiresDate === null ? null : new Date(tx.expiresDate).toISOString(),
    },
    environment: ok.environment,
  };
}
