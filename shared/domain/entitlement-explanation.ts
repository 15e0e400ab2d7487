// Why a customer has, or does not have, each entitlement: the support answer to "I paid and I don't
// have premium". It walks the same rules as entitlementsOf (entitlements.ts) purchase by purchase,
// and a property test holds the two to the same verdict for every key.
import { type Catalog, catalog as defaultCatalog, productById } from './catalog';
import type { EntitlementPolicy } from './entitlements';
import type { Purchase } from './purchase';

/** Why one purchase does not give a key. Stable: scripts and support macros match on these. */
export type MissingReasonCode =
  | 'no_purchase'
  | 'no_owner'
  | 'other_owner'
  | 'pending'
  | 'consumable'
  | 'sandbox_not_allowed'
  | 'expired'
  | 'refunded'
  | 'revoked'
  | 'on_hold'
  | 'paused'
  | 'billing_retry_not_entitled'
  | 'billing_retry_over';

/** The newest recorded change of a purchase; a history record fits it as is. */
export interface LastChange {
  at: string;
  cause: { source: string; event?: string; operator?: string; reason?: string };
}

export interface ExplainedPurchase {
  platform: Purchase['platform'];
  /** Apple originalTransactionId; Google root purchase token. */
  subjectKey: string;
  productId: string | null;
  status: string | null;
  /** The store's expiry, ISO-8601; null = never expires or not known yet. */
  expiresAt: string | null;
  environment: string | null;
  owner: string | null;
  lastChange: { at: string; source: string; event: string | null } | null;
}

export interface MissingReason {
  code: MissingReasonCode;
  /** One sentence for a person. */
  text: string;
  /** The purchase it is about; null for `no_purchase`. */
  purchase: ExplainedPurchase | null;
}

export interface EntitlementExplanation {
  key: string;
  granted: boolean;
  /** One line for a person: what grants it until when, or every reason it is missing. */
  text: string;
  /** The purchase that gives it (the longest-lasting, as the app is told); null when not granted. */
  grantedBy: (ExplainedPurchase & { status: string; accessUntil: string | null }) | null;
  /** When not granted: one reason per purchase that could have given it, or `no_purchase`. */
  reasons: MissingReason[];
}

export interface ExplanationFacts {
  purchases: readonly Purchase[];
  /** The customer; null when the purchases are held by nobody (found by a purchase reference). */
  userId: string | null;
  /** The newest history record per purchase key, when known. */
  lastChanges?: ReadonlyMap<string, LastChange>;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const iso = (ms: number | null | undefined): string | null =>
  typeof ms === 'number' ? new Date(ms).toISOString() : null;

function explained(p: Purchase, lastChanges: ReadonlyMap<string, LastChange> | undefined): ExplainedPurchase {
  const last = lastChanges?.get(p.pk);
  return {
    platform: p.platform,
    subjectKey: p.subjectKey,
    productId: p.productId ?? null,
    status: p.status ?? null,
    expiresAt: iso(p.expiresAt),
    environment: p.environment ?? null,
    owner: p.userId ?? null,
    lastChange: last ? { at: last.at, source: last.cause.source, event: last.cause.event ?? null } : null,
  };
}

const name = (p: Purchase) => `${p.platform} ${p.productId ?? '(product not known yet)'}`;

function lastChangeText(p: ExplainedPurchase): string {
  const l = p.lastChange;
  return l ? ` (last change ${l.at}, ${[l.source, l.event].filter(Boolean).join(' ')})` : '';
}

type Verdict = { code: MissingReasonCode; text: string } | { grantsUntil: number | null };

/**
 * Why `p` gives no access at `now`, or until when it does (null = for life). The rules are
 * entitlementsOf's, written out again here one reason at a time: the property test holds the two
 * to the same answer, so neither can drift. The first reason named is the one that decided.
 */
function verdictOf(
  p: Purchase,
  userId: string | null,
  now: number,
  policy: EntitlementPolicy,
  catalog: Catalog,
): Verdict {
  const n = name(p);
  if (!p.userId)
    return { code: 'no_owner', text: `${n} is held by nobody: no user has verified or restored it` };
  if (userId === null || p.userId !== userId)
    return { code: 'other_owner', text: `${n} is owned by another user, ${p.userId}` };
  if (!p.productId || !p.status || !productById(p.productId, catalog))
    return { code: 'pending', text: `${n} is not verified yet: its product or state is not known` };
  if (p.productType === 'consumable')
    return { code: 'consumable', text: `${n} was recorded as a consumable, which grants nothing` };
  if (!policy.allowSandboxPurchases && p.environment === 'sandbox')
    return {
      code: 'sandbox_not_allowed',
      text: `${n} is a sandbox purchase, and this stage refuses sandbox purchases`,
    };
  const expiredText = (end: number | null | undefined, what: string) =>
    typeof end === 'number' ? `${n} ${what} at ${iso(end)}` : `${n} ${what}`;
  switch (p.status) {
    case 'refunded':
      return { code: 'refunded', text: `${n} was refunded` };
    case 'revoked':
      return { code: 'revoked', text: `${n} was revoked by the store` };
    case 'on_hold':
      return {
        code: 'on_hold',
        text: `${n} is on hold: the store could not renew it and access is suspended`,
      };
    case 'paused':
      return { code: 'paused', text: `${n} is paused by the customer` };
    case 'expired':
      // The store may end a subscription before its paid period does; a future expiry is no "when".
      return {
        code: 'expired',
        text: expiredText(
          typeof p.expiresAt === 'number' && p.expiresAt <= now ? p.expiresAt : undefined,
          'expired',
        ),
      };
    case 'active':
    case 'grace': {
      const end =
        p.status === 'grace' && typeof p.gracePeriodExpiresAt === 'number'
          ? p.gracePeriodExpiresAt
          : p.expiresAt;
      if (end === undefined)
        return { code: 'pending', text: `${n} is not verified yet: its expiry is not known` };
      if (end !== null && end <= now)
        return {
          code: 'expired',
          text: expiredText(end, p.status === 'grace' ? 'ended its grace period' : 'expired'),
        };
      return { grantsUntil: end };
    }
    case 'billing_retry': {
      if (!policy.billingRetryEntitled)
        return {
          code: 'billing_retry_not_entitled',
          text: `${n} is in billing retry, and this stage gives no access during billing retry`,
        };
      if (p.expiresAt === undefined)
        return { code: 'pending', text: `${n} is not verified yet: its expiry is not known` };
      const end = p.expiresAt === null ? null : p.expiresAt + policy.billingRetryMaxDays * DAY_MS;
      if (end !== null && end <= now)
        return {
          code: 'billing_retry_over',
          text: `${n} has been in billing retry for more than the allowed ${policy.billingRetryMaxDays} days since it expired at ${iso(p.expiresAt)}`,
        };
      return { grantsUntil: end };
    }
  }
}

/** Every entitlement key the catalog defines, sorted. */
export function catalogKeys(catalog: Catalog = defaultCatalog): string[] {
  return [...new Set(catalog.products.flatMap((p) => p.entitlements))].sort();
}

const STATUS_WORDS: Record<string, string> = {
  active: 'active',
  grace: 'in grace',
  billing_retry: 'in billing retry',
};

/**
 * For every entitlement key of the catalog: the purchase that gives it, or why none does. Only
 * purchases held by `userId` grant, as for the app; the purchase that grants is the one
 * entitlementsOf picks, so the expiry shown is the one the app is told.
 */
export function explainEntitlements(
  facts: ExplanationFacts,
  now: number,
  policy: EntitlementPolicy,
  catalog: Catalog = defaultCatalog,
): EntitlementExplanation[] {
  return catalogKeys(catalog).map((key) => {
    // A purchase whose product is not known yet may be the one the customer means.
    const candidates = facts.purchases
      .filter((p) => !p.productId || (productById(p.productId, catalog)?.entitlements.includes(key) ?? false))
      .map((p) => ({ p, verdict: verdictOf(p, facts.userId, now, policy, catalog) }));
    let winner: { p: Purchase; end: number | null } | undefined;
    for (const { p, verdict } of candidates) {
      if (!('grantsUntil' in verdict)) continue;
      const end = verdict.grantsUntil;
      // As entitlementsOf: the longest-lasting wins (null = for life), ties to the smaller pk.
      if (!winner || outlasts(end, winner.end) || (end === winner.end && p.pk < winner.p.pk))
        winner = { p, end };
    }
    if (winner) {
      const by = explained(winner.p, facts.lastChanges);
      const status = winner.p.status as string;
      const accessUntil = iso(winner.end);
      const until = accessUntil ? `until ${accessUntil}` : 'for life';
      return {
        key,
        granted: true,
        text: `granted by ${name(winner.p)}, ${STATUS_WORDS[status] ?? status} ${until}${lastChangeText(by)}`,
        grantedBy: { ...by, status, accessUntil },
        reasons: [],
      };
    }
    const reasons: MissingReason[] = candidates.map(({ p, verdict }) => {
      const why = verdict as { code: MissingReasonCode; text: string };
      const purchase = explained(p, facts.lastChanges);
      return { code: why.code, text: `${why.text}${lastChangeText(purchase)}`, purchase };
    });
    if (reasons.length === 0) {
      const products = catalog.products.filter((p) => p.entitlements.includes(key)).map((p) => p.id);
      reasons.push({ code: 'no_purchase', text: `no purchase of ${products.join(' or ')}`, purchase: null });
    }
    return {
      key,
      granted: false,
      text: `not granted: ${reasons.map((r) => r.text).join('; ')}`,
      grantedBy: null,
      reasons,
    };
  });
}

/** Later end wins; null (never ends) beats any time. */
function outlasts(a: number | null, b: number | null): boolean {
  if (a === b) return false;
  if (a === null) return true;
  if (b === null) return false;
  return a > b;
}
