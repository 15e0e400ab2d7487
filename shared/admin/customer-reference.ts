// Every identifier a customer or a store hands a support person, and where each one leads: a user
// directly (their id, their appUserId), or a purchase (through its key or an alias item), whose
// owner is then the customer.

import { aliasKey, type Purchase, purchaseKey } from '../domain/purchase';
import type { HistoryRecord } from '../store/history';
import type { Holdings } from '../store/purchases';

/** Longer than any store identifier, shorter than DynamoDB's 2048-byte key limit. */
export const MAX_REFERENCE_LENGTH = 1024;

export type ReferenceKind =
  | 'userId'
  | 'appUserId'
  | 'appleOriginalTransactionId'
  | 'appleTransactionId'
  | 'googlePurchaseToken'
  | 'googleOrderId';

/** In the order they are tried; the names appear in the "not found" message. */
export const REFERENCE_KINDS: ReadonlyArray<{ kind: ReferenceKind; label: string }> = [
  { kind: 'userId', label: 'app user id (JWT sub)' },
  { kind: 'appUserId', label: 'appUserId uuid' },
  { kind: 'appleOriginalTransactionId', label: 'Apple original transaction id' },
  { kind: 'appleTransactionId', label: 'Apple transaction id' },
  { kind: 'googlePurchaseToken', label: 'Google purchase token' },
  { kind: 'googleOrderId', label: 'Google order id' },
];

/** The reads a lookup needs; the store's functions in production, anything in a test. */
export interface ReferenceReads {
  getPurchase(pk: string): Promise<Purchase | undefined>;
  resolveAlias(alias: string): Promise<string | undefined>;
  holdingsOfUser(userId: string): Promise<Holdings>;
  uuidOfUser(userId: string): Promise<string | undefined>;
  userIdOfUuid(uuid: string): Promise<string | undefined>;
  historyOfUser(userId: string, options?: { limit?: number }): Promise<HistoryRecord[]>;
  historyOfPurchase(pk: string, options?: { limit?: number }): Promise<{ records: HistoryRecord[] }>;
}

/** What a reference resolved to: a user, or a purchase (which may have no owner yet). */
export type ResolvedReference =
  | { kind: ReferenceKind; userId: string; holdings?: Holdings }
  | { kind: ReferenceKind; purchase: Purchase };

async function purchaseThroughAlias(reads: ReferenceReads, alias: string): Promise<Purchase | undefined> {
  const pk = await reads.resolveAlias(alias);
  return pk ? reads.getPurchase(pk) : undefined;
}

/**
 * Tries every kind of reference at once (a handful of key reads and one index query) and answers
 * the first match in REFERENCE_KINDS order, or undefined when nothing here knows the reference.
 * A user id counts as known when the user has a uuid, a purchase or a grant.
 */
export async function resolveReference(
  reads: ReferenceReads,
  ref: string,
): Promise<ResolvedReference | undefined> {
  const [uuid, holdings, uuidOwner, appleOriginal, appleTx, googleRoot, googleToken, googleOrder] =
    await Promise.all([
      reads.uuidOfUser(ref),
      reads.holdingsOfUser(ref),
      reads.userIdOfUuid(ref),
      reads.getPurchase(purchaseKey('apple', ref)),
      purchaseThroughAlias(reads, aliasKey('apple-tx', ref)),
      reads.getPurchase(purchaseKey('google', ref)),
      purchaseThroughAlias(reads, aliasKey('google-token', ref)),
      purchaseThroughAlias(reads, aliasKey('google-order', ref)),
    ]);
  if (uuid || holdings.purchases.length > 0 || holdings.grants.length > 0) {
    return { kind: 'userId', userId: ref, holdings };
  }
  if (uuidOwner) return { kind: 'appUserId', userId: uuidOwner };
  if (appleOriginal) return { kind: 'appleOriginalTransactionId', purchase: appleOriginal };
  if (appleTx) return { kind: 'appleTransactionId', purchase: appleTx };
  const googlePurchase = googleRoot ?? googleToken;
  if (googlePurchase) return { kind: 'googlePurchaseToken', purchase: googlePurchase };
  if (googleOrder) return { kind: 'googleOrderId', purchase: googleOrder };
  return undefined;
}

/** The "not found" text: names every kind of reference that was searched. */
export function notFoundMessage(ref: string): string {
  return `No customer or purchase found for "${ref}"; searched: ${REFERENCE_KINDS.map((k) => k.label).join(', ')}`;
}
