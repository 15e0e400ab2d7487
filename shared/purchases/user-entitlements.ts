// GET entitlements: the user's purchases through byUser, derived at this instant.
import type { Entitlement } from '../domain/entitlements';
import { entitlementsOf } from '../domain/entitlements';
import { settings } from '../settings';
import { grantsOfUser } from '../store/grants';
import { purchasesOfUser } from '../store/purchases';
import type { PurchaseDeps } from './dependencies';

// Not defaultDeps(): that brings the Attesto client and its credentials into a function that
// only reads DynamoDB.
const readOnlyDeps = (): Pick<PurchaseDeps, 'settings' | 'now'> & {
  store: Pick<PurchaseDeps['store'], 'purchasesOfUser' | 'grantsOfUser'>;
} => ({ settings: () => settings(), now: Date.now, store: { purchasesOfUser, grantsOfUser } });

export async function userEntitlements(
  userId: string,
  deps: Pick<PurchaseDeps, 'settings' | 'now'> & {
    store: Pick<PurchaseDeps['store'], 'purchasesOfUser' | 'grantsOfUser'>;
  } = readOnlyDeps(),
): Promise<Entitlement[]> {
  const [purchases, grants] = await Promise.all([
    deps.store.purchasesOfUser(userId),
    deps.store.grantsOfUser(userId),
  ]);
  return entitlementsOf(purchases, deps.now(), deps.settings().entitlementPolicy, undefined, grants);
}
