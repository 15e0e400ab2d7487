// What the purchase services talk to, bundled so tests can swap one part (a lagging index, a
// counting Attesto) while the rest stays real.
import { type AttestoClient, attestoClientFromEnv } from '../attesto/client';
import { type Settings, settings } from '../settings';
import { getPurchase, holdingsOfUser, recordSnapshot, resolveAlias } from '../store/purchases';
import { userIdOfUuid, uuidOfUser } from '../store/user-ids';

export interface PurchaseStore {
  recordSnapshot: typeof recordSnapshot;
  holdingsOfUser: typeof holdingsOfUser;
  resolveAlias: typeof resolveAlias;
  uuidOfUser: typeof uuidOfUser;
  userIdOfUuid: typeof userIdOfUuid;
  /** Read only when the store binds a purchase to another user, to honour an operator's transfer. */
  getPurchase: typeof getPurchase;
}

export interface PurchaseDeps {
  attesto: () => AttestoClient;
  settings: () => Settings;
  now: () => number;
  store: PurchaseStore;
}

export function defaultDeps(overrides: Partial<PurchaseDeps> = {}): PurchaseDeps {
  return {
    attesto: attestoClientFromEnv,
    settings: () => settings(),
    now: Date.now,
    store: { recordSnapshot, holdingsOfUser, resolveAlias, uuidOfUser, userIdOfUuid, getPurchase },
    ...overrides,
  };
}
