// GET /admin/customer?ref=…: resolve any reference to its customer and build their view.
import type { EntitlementPolicy } from '../domain/entitlements';
import { NotFoundError } from '../http/errors';
import { historyOfPurchase, historyOfUser } from '../store/history';
import { getPurchase, type Holdings, holdingsOfUser, resolveAlias, withPurchase } from '../store/purchases';
import { userIdOfUuid, uuidOfUser } from '../store/user-ids';
import { notFoundMessage, type ReferenceReads, resolveReference } from './customer-reference';
import { type CustomerView, customerView } from './customer-view';

export interface FindCustomerDeps {
  reads: ReferenceReads;
  now: () => number;
  policy: () => EntitlementPolicy;
}

export const storeReads: ReferenceReads = {
  getPurchase,
  resolveAlias,
  holdingsOfUser,
  uuidOfUser,
  userIdOfUuid,
  historyOfUser,
  historyOfPurchase,
};

/** The timeline a support person reads: the newest changes, enough for one screen and a scroll. */
const TIMELINE_LIMIT = 100;

export async function findCustomer(ref: string, deps: FindCustomerDeps): Promise<CustomerView> {
  const found = await resolveReference(deps.reads, ref);
  if (!found) throw new NotFoundError(notFoundMessage(ref));

  // The lookup already read the holdings of a user found by id; otherwise read the owner's once.
  let userId: string | undefined;
  let holdings: Holdings = { purchases: [], grants: [] };
  if ('userId' in found) {
    userId = found.userId;
    holdings = found.holdings ?? (await deps.reads.holdingsOfUser(userId));
  } else if (found.purchase.userId) {
    userId = found.purchase.userId;
    const held = await deps.reads.holdingsOfUser(userId);
    // The byUser index is eventually consistent: the purchase just read is the truth for itself.
    holdings = { ...held, purchases: withPurchase(held.purchases, found.purchase, userId) };
  } else {
    holdings = { purchases: [found.purchase], grants: [] };
  }
  const [appUserId, history] = await Promise.all([
    userId ? deps.reads.uuidOfUser(userId) : undefined,
    userId
      ? deps.reads.historyOfUser(userId, { limit: TIMELINE_LIMIT })
      : 'purchase' in found
        ? deps.reads.historyOfPurchase(found.purchase.pk, { limit: TIMELINE_LIMIT }).then((p) => p.records)
        : [],
  ]);
  const user = userId ? { userId, appUserId: appUserId ?? null } : null;
  return customerView(
    { reference: ref, matchedBy: found.kind, user, ...holdings, history },
    deps.now(),
    deps.policy(),
  );
}
