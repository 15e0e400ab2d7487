// GET entitlements: the user's purchases through byUser, derived at this instant.
import type { Entitlement } from '../domain/entitlements';
import { entitlementsOf } from '../domain/entitlements';
import { defaultDeps, type PurchaseDeps } from './dependencies';

export async function userEntitlements(
  userId: string,
  deps: PurchaseDeps = defaultDeps(),
): Promise<Entitlement[]> {
  const purchases = await deps.store.purchasesOfUser(userId);
  return entitlementsOf(purchases, deps.now(), deps.settings().entitlementPolicy);
}
