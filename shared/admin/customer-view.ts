// The support view of one customer: who they are, what they are entitled to now, and every
// purchase with its state. Pure: the purchases and the time come in as arguments.
import {
  type EntitlementExplanation,
  explainEntitlements,
  type LastChange,
} from '../domain/entitlement-explanation';
import { type Entitlement, type EntitlementPolicy, entitlementsOf } from '../domain/entitlements';
import { type Grant, grantIsLive } from '../domain/grant';
import type { Purchase } from '../domain/purchase';
import type { HistoryRecord } from '../store/history';
import type { ReferenceKind } from './customer-reference';

export interface PurchaseSummary {
  platform: Purchase['platform'];
  /** Apple originalTransactionId; Google root purchase token. */
  subjectKey: string;
  productId: string | null;
  productType: string | null;
  status: string | null;
  /** ISO-8601; null = never expires or not known yet (see `status`). */
  expiresAt: string | null;
  gracePeriodExpiresAt: string | null;
  willRenew: boolean | null;
  environment: string | null;
  ownership: string | null;
  /** The user who holds it; null = nobody has verified or claimed it yet. */
  owner: string | null;
  /** The appUserId the store bound it to at purchase time, if any. */
  appUserId: string | null;
  latestTransactionId: string | null;
  updatedAt: string;
}

export interface CustomerView {
  /** What the operator asked for, and what kind of identifier it turned out to be. */
  reference: string;
  matchedBy: ReferenceKind;
  /** null when the reference named a purchase nobody holds yet. */
  user: { userId: string; appUserId: string | null } | null;
  /** Exactly what the app gets from GET /api/iap/entitlements now. */
  entitlements: Entitlement[];
  /** Newest change first. */
  purchases: PurchaseSummary[];
  /** The operator's promotional grants, live, expired and revoked, newest first. */
  grants: GrantSummary[];
  /** Every recorded change of the customer's purchases (or of the one purchase found), newest first. */
  history: HistoryRecord[];
  /**
   * Every entitlement key of the catalog: the purchase or live promotional grant that gives it, or
   * why a missing one is missing.
   */
  explanation: ExplainedKey[];
}

/** A key's explanation, with the live promotional grant that gives it, if any. */
export type ExplainedKey = EntitlementExplanation & { grant: GrantSummary | null };

/**
 * A live grant gives its key whatever the purchases say (entitlementsOf): the explanation says
 * so first, and keeps what the purchases say after it.
 */
function withGrants(explanation: EntitlementExplanation[], grants: readonly GrantSummary[]): ExplainedKey[] {
  return explanation.map((e) => {
    const grant = grants.find((g) => g.key === e.key && g.live) ?? null;
    if (!grant || e.granted) return { ...e, grant };
    const until = grant.expiresAt ? `until ${grant.expiresAt}` : 'for good';
    return {
      ...e,
      granted: true,
      text: `granted by a promotional grant ${until} (${grant.reason}); ${e.text}`,
      grant,
    };
  });
}

const iso = (ms: number | null | undefined): string | null =>
  typeof ms === 'number' ? new Date(ms).toISOString() : null;

export function purchaseSummary(p: Purchase): PurchaseSummary {
  return {
    platform: p.platform,
    subjectKey: p.subjectKey,
    productId: p.productId ?? null,
    productType: p.productType ?? null,
    status: p.status ?? null,
    expiresAt: iso(p.expiresAt),
    gracePeriodExpiresAt: iso(p.gracePeriodExpiresAt),
    willRenew: p.willRenew ?? null,
    environment: p.environment ?? null,
    ownership: p.ownership ?? null,
    owner: p.userId ?? null,
    appUserId: p.appUserId ?? null,
    latestTransactionId: p.latestTransactionId ?? null,
    updatedAt: p.updatedAt,
  };
}

export interface GrantSummary {
  key: string;
  /** ISO-8601; null = never ends. */
  expiresAt: string | null;
  reason: string;
  grantedBy: string;
  grantedAt: string;
  revokedAt: string | null;
  revokedBy: string | null;
  /** Whether it gives its key now. */
  live: boolean;
}

function grantSummary(g: Grant, now: number): GrantSummary {
  return {
    key: g.key,
    expiresAt: iso(g.expiresAt),
    reason: g.reason,
    grantedBy: g.grantedBy,
    grantedAt: g.grantedAt,
    revokedAt: g.revokedAt ?? null,
    revokedBy: g.revokedBy ?? null,
    live: grantIsLive(g, now),
  };
}

export interface CustomerFacts {
  reference: string;
  matchedBy: ReferenceKind;
  user: { userId: string; appUserId: string | null } | null;
  purchases: readonly Purchase[];
  grants: readonly Grant[];
  history: readonly HistoryRecord[];
}

export function customerView(facts: CustomerFacts, now: number, policy: EntitlementPolicy): CustomerView {
  // A purchase nobody holds gives nobody anything.
  const entitlements = facts.user
    ? entitlementsOf(facts.purchases, now, policy, undefined, facts.grants)
    : [];
  const purchases = [...facts.purchases]
    .sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0))
    .map(purchaseSummary);
  const grants = [...facts.grants]
    .sort((a, b) => (a.grantedAt < b.grantedAt ? 1 : a.grantedAt > b.grantedAt ? -1 : 0))
    .map((g) => grantSummary(g, now));
  return {
    reference: facts.reference,
    matchedBy: facts.matchedBy,
    user: facts.user,
    entitlements,
    purchases,
    grants,
    history: [...facts.history],
    explanation: withGrants(
      explainEntitlements(
        {
          purchases: facts.purchases,
          userId: facts.user?.userId ?? null,
          lastChanges: lastChangeOf(facts.history),
        },
        now,
        policy,
      ),
      // A grant, like a purchase, gives nothing when nobody is the customer.
      facts.user ? grants : [],
    ),
  };
}

/** The newest record of each purchase in a newest-first timeline. */
function lastChangeOf(history: readonly HistoryRecord[]): Map<string, LastChange> {
  const last = new Map<string, LastChange>();
  for (const record of history) if (!last.has(record.pk)) last.set(record.pk, record);
  return last;
}
