// Entitlements are derived, never stored (architecture §3, §5): a pure function of the user's purchases
// and the time.
import { type Catalog, catalog as defaultCatalog, productById } from './catalog';
import { type Grant, grantIsLive, grantProductId } from './grant';
import type { Environment, Platform, Purchase, PurchaseStatus } from './purchase';

export interface EntitlementPolicy {
  /** Keep access while the store retries a failed renewal (BILLING_RETRY_ENTITLED). */
  billingRetryEntitled: boolean;
  /** …but for at most this many days after the subscription's expiry (BILLING_RETRY_MAX_DAYS). */
  billingRetryMaxDays: number;
  /**
   * Whether a sandbox purchase grants access (ALLOW_SANDBOX_PURCHASES). Applied here, where every
   * answer's entitlements come from, so it holds however the purchase arrived: verify, restore,
   * an Attesto webhook or a store notification sent directly.
   */
  allowSandboxPurchases: boolean;
}

const defaultEntitlementPolicy: EntitlementPolicy = {
  billingRetryEntitled: true,
  billingRetryMaxDays: 16,
  allowSandboxPurchases: true,
};

/** True when the purchase may grant under the policy at all, whatever its status. */
function mayGrant(p: Purchase, policy: EntitlementPolicy): boolean {
  return policy.allowSandboxPurchases || p.environment !== 'sandbox';
}

/** The SDK's entitlement object (contract §1.11); fields beyond key/productId/expiresAt pass through. */
export interface Entitlement {
  key: string;
  productId: string;
  /** When access ends (the grace or billing-retry end while in those states), ISO-8601; null = lifetime. */
  expiresAt: string | null;
  status: PurchaseStatus;
  /**
   * null = unknown, not "will not renew": Attesto's Apple verify reads the transaction only, which
   * carries no renewal status, so an Apple purchase has none until a webhook brings it.
   */
  willRenew: boolean | null;
  /** null for a grant: no store sold it. */
  platform: Platform | null;
  environment: Environment | null;
  /** Where it comes from: a store purchase, or an operator's promotional grant. */
  source: 'purchase' | 'grant';
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * When the purchase's access ends (epoch ms; null = never), or undefined when it grants no
 * access in its current status at all.
 */
function accessEnd(p: Purchase, policy: EntitlementPolicy): number | null | undefined {
  // An unknown expiry (undefined) grants nothing: the purchase is not yet verified.
  switch (p.status) {
    case 'active':
      return p.expiresAt;
    case 'grace':
      return typeof p.gracePeriodExpiresAt === 'number' ? p.gracePeriodExpiresAt : p.expiresAt;
    case 'billing_retry':
      if (!policy.billingRetryEntitled || p.expiresAt === undefined) return undefined;
      return p.expiresAt === null ? null : p.expiresAt + policy.billingRetryMaxDays * DAY_MS;
    default:
      return undefined;
  }
}

/** Later end wins; null (never ends) beats any time. */
function outlasts(a: number | null, b: number | null): boolean {
  if (a === b) return false;
  if (a === null) return true;
  if (b === null) return false;
  return a > b;
}

/**
 * The user's active entitlements at `now` (epoch ms): at most one per key, the longest-lasting,
 * sorted by key. A purchase grants while active, in grace, or in billing retry (by policy), and
 * only while its access end is after `now`. Consumables and unknown products grant nothing, nor
 * do sandbox purchases when the policy refuses them (their state is still recorded). A live
 * grant gives its key too; against a purchase of the same key the longer-lasting one wins, and
 * a tie goes to the purchase (it carries the store's status and renewal).
 */
export function entitlementsOf(
  purchases: readonly Purchase[],
  now: number,
  policy: EntitlementPolicy = defaultEntitlementPolicy,
  catalog: Catalog = defaultCatalog,
  grants: readonly Grant[] = [],
): Entitlement[] {
  const best = new Map<string, { end: number | null; purchase: Purchase }>();
  for (const purchase of purchases) {
    if (!purchase.productId || !purchase.status || purchase.productType === 'consumable') continue;
    const product = productById(purchase.productId, catalog);
    if (!product || product.type === 'consumable' || !mayGrant(purchase, policy)) continue;
    const end = accessEnd(purchase, policy);
    if (end === undefined || (end !== null && end <= now)) continue;
    for (const key of product.entitlements) {
      const held = best.get(key);
      // Ties go to the smaller pk so the answer does not depend on the query's order.
      if (!held || outlasts(end, held.end) || (end === held.end && purchase.pk < held.purchase.pk)) {
        best.set(key, { end, purchase });
      }
    }
  }
  const granted = new Map<string, Grant>();
  for (const grant of grants) {
    if (!grantIsLive(grant, now)) continue;
    const held = best.get(grant.key);
    const other = granted.get(grant.key);
    if (held && !outlasts(grant.expiresAt, held.end)) continue;
    if (other && !outlasts(grant.expiresAt, other.expiresAt)) continue;
    granted.set(grant.key, grant);
  }
  const answers: Entitlement[] = [];
  for (const [key, { end, purchase }] of best) {
    if (granted.has(key)) continue;
    answers.push({
      key,
      productId: purchase.productId as string,
      expiresAt: end === null ? null : new Date(end).toISOString(),
      status: purchase.status as PurchaseStatus,
      willRenew: purchase.willRenew ?? null,
      platform: purchase.platform,
      environment: purchase.environment ?? null,
      source: 'purchase',
    });
  }
  for (const [key, grant] of granted) {
    answers.push({
      key,
      productId: grantProductId(key),
      expiresAt: grant.expiresAt === null ? null : new Date(grant.expiresAt).toISOString(),
      status: 'active',
      willRenew: false,
      platform: null,
      environment: null,
      source: 'grant',
    });
  }
  return answers.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
