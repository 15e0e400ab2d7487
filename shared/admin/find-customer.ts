// GET /admin/customer?ref=…: resolve any reference to its customer and build their view.
import type { EntitlementPolicy } from '../domain/entitlements';
import { NotFoundError } from '../http/errors';
import { grantsOfUser } from '../store/grants';
import { historyOfPurchase, historyOfUser } from '../store/history';
import { getPurchase, purchasesOfUser, resolveAlias, withPurchase } from '../store/purchases';
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
  purchasesOfUser,
  uuidOfUser,
  userIdOfUuid,
  historyOfUser,
  historyOfPurchase,
  grantsOfUser,
};

/** The timeline a support person reads: the newest changes, enough for one screen and a scroll. */
const TIMELINE_LIMIT = 100;

export async function findCustomer(ref: string, deps: FindCustomerDeps): Promise<CustomerView> {
  const found = await resolveReference(deps.reads, ref);
  if (!found) throw new NotFoundError(notFoundMessage(ref));

  let userId: string | undefined;
  let purchases = [] as Awaited<ReturnType<ReferenceReads['purchasesOfUser']>>;
  if ('userId' in found) {
    userId = found.userId;
    purchases = await deps.reads.purchasesOfUser(userId);
  } else if (found.purchase.userId) {
    userId = found.purchase.userId;
    // The byUser index is eventually consistent: the purchase just read is the truth for itself.
    purchases = withPurchase(await deps.reads.purchasesOfUser(userId), found.purchase, userId);
  } else {
    purchases = [found.purchase];
  }
  const [appUserId, grants, history] = await Promise.all([
    userId ? deps.reads.uuidOfUser(userId) : undefined,
    userId ? deps.reads.grantsOfUser(userId) : [],
    userId
      ? deps.reads.historyOfUser(userId, { limit: TIMELINE_LIMIT })
      : 'purchase' in found
        ? deps.reads.historyOfPurchase(found.purchase.pk, { limit: TIMELINE_LIMIT }).then((p) => p.records)
        : [],
  ]);
  const user = userId ? { userId, appUserId: appUserId ?? null } : null;
  return customerView(
    { reference: ref, matchedBy: found.kind, user, purchases, grants, history },
    deps.now(),
    deps.policy(),
  );
}
