// GET entitlements: the user's purchases through byUser, derived at this instant.
import type { Entitlement } from '../domain/entitlements';
import { entitlementsOf } from '../domain/entitlements';
import { settings } from '../settings';
import { holdingsOfUser } from '../store/purchases';
import type { PurchaseDeps } from './dependencies';

// Not defaultDeps(): that brings the Attesto client and its credentials into a function that
// only reads DynamoDB.
const readOnlyDeps = (): Pick<PurchaseDeps, 'settings' | 'now'> & {
  store: Pick<PurchaseDeps['store'], 'holdingsOfUser'>;
} => ({ settings: () => settings(), now: Date.now, store: { holdingsOfUser } });

export async function userEntitlements(
  userId: string,
  deps: Pick<PurchaseDeps, 'settings' | 'now'> & {
    store: Pick<PurchaseDeps['store'], 'holdingsOfUser'>;
  } = readOnlyDeps(),
): Promise<Entitlement[]> {
  const { purchases, grants } = await deps.store.holdingsOfUser(userId);
  return entitlementsOf(purchases, deps.now(), deps.settings().entitlementPolicy, undefined, grants);
}
