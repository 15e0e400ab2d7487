// One reconciliation check: ask Attesto about a stored purchase again and turn the answer into the
// snapshot the write path applies. Apple's verify describes one transaction (the newest this
// backend knows of the purchase), so it reveals a refund or revocation of it; Google's describes
// the token as it is now, so it also reveals renewals, expiries and holds (docs/reconciliation.md).
import type { AttestoClient } from '../attesto/client';
import { appleSnapshot } from '../attesto/translate/apple-snapshot';
import { googleSnapshot } from '../attesto/translate/google-snapshot';
import { attestoGoogleType } from '../attesto/translate/google-verify-type';
import type { Purchase } from '../domain/purchase';
import type { PurchaseSnapshot } from '../domain/snapshot';

export type CheckAnswer =
  /** Attesto described the purchase: apply this. */
  | { kind: 'snapshot'; snapshot: PurchaseSnapshot }
  /** Attesto answered, but with nothing to apply (not found, pending, another product). */
  | { kind: 'nothing'; reason: string };

export async function checkWithAttesto(
  purchase: Purchase,
  attesto: AttestoClient,
  context: { packageName: string | undefined; now: number; deadline?: number },
): Promise<CheckAnswer> {
  const options = context.deadline === undefined ? {} : { deadline: context.deadline };
  if (purchase.platform === 'apple') {
    const result = await attesto.verifyApple(
      { transactionId: purchase.latestTransactionId ?? purchase.subjectKey },
      options,
    );
    if (!result.valid) return { kind: 'nothing', reason: result.error };
    const snapshot = appleSnapshot(result);
    // Only what is said about this very purchase is applied to it.
    if (snapshot.pk !== purchase.pk) return { kind: 'nothing', reason: 'ANOTHER_PURCHASE' };
    return { kind: 'snapshot', snapshot };
  }
  if (!purchase.productId || !purchase.productType || !context.packageName) {
    return { kind: 'nothing', reason: 'NOT_ENOUGH_KNOWN' };
  }
  const result = await attesto.verifyGoogle(
    {
      packageName: context.packageName,
      productId: purchase.productId,
      purchaseToken: purchase.subjectKey,
      type: attestoGoogleType(purchase.productType),
    },
    options,
  );
  if (!result.valid) return { kind: 'nothing', reason: result.error };
  const outcome = googleSnapshot(
    result,
    { productId: purchase.productId, productType: purchase.productType },
    context.now,
  );
  if (outcome.outcome === 'rejected') return { kind: 'nothing', reason: outcome.error };
  const { linkedPurchaseToken: _linked, purchaseToken: _token, ...rest } = outcome.snapshot;
  // A verify is ordered at its token's start, so that any event of the token wins over it. A
  // check is asked about a token long after that start precisely because an event may be
  // missing: Google's answer is the token's state now, so it is ordered now (same generation).
  // Events before the check lose to it; any event after it still wins.
  return {
    kind: 'snapshot',
    snapshot: { ...rest, event: { ...rest.event, occurredAt: context.now }, pk: purchase.pk },
  };
}
