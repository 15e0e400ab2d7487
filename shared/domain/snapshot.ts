// A purchase as one verify answer describes it: the event the store applies, the identifiers
// that lead back to the purchase, and a consumable's credit. The store translations
// (shared/attesto/translate/) produce it; the verify flow records it.
import type { PurchaseEvent } from './state-machine';

export interface SnapshotCredit {
  key: string;
  productId: string;
  credits?: Record<string, number>;
}

/** What the SDK gets back as `transaction` (contract §1.6), minus verifiedAt (a clock read). */
export interface VerifiedTransaction {
  id: string;
  productId: string;
  expiresAt: string | null;
}

export interface PurchaseSnapshot {
  /** purchaseKey of the purchase this transaction belongs to. */
  pk: string;
  event: PurchaseEvent;
  aliases: string[];
  /** Set for a consumable that is not revoked: credited once per transaction. */
  credit?: SnapshotCredit;
  transaction: VerifiedTransaction;
  environment: 'production' | 'sandbox';
}
