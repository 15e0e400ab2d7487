// What an erased customer's identifiers become in the records that outlive them (architecture
// §3.9). Pure.

/**
 * The stand-in for an erased identifier: one constant, so it says "somebody who was erased" and
 * nothing about who (a hash of the id could be recomputed from a guessed id).
 */
export const ERASED = 'erased';

/**
 * `value` with every string that contains one of `identifiers` (compared case-insensitively, as
 * uuids arrive in either case) replaced by ERASED, at any depth; map keys are kept. Whole strings
 * go rather than the matching part: a sentence that names the customer may name them otherwise
 * too.
 */
export function scrubIdentifiers<T>(value: T, identifiers: readonly string[]): T {
  const needles = identifiers.filter((id) => id.length > 0).map((id) => id.toLowerCase());
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const lower = v.toLowerCase();
      return needles.some((n) => lower.includes(n)) ? ERASED : v;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object' && !(v instanceof Set) && !(v instanceof Uint8Array)) {
      return Object.fromEntries(Object.entries(v).map(([k, inner]) => [k, walk(inner)]));
    }
    return v;
  };
  return walk(value) as T;
}

/** What one erasure removed or anonymised, for its audit record and the operator's answer. */
export interface ErasureCounts {
  /** Purchases that lost their owner (and their appUserId). */
  purchases: number;
  grants: number;
  /** Consumable credit items that named the customer. */
  credits: number;
  historyAnonymised: number;
  historyDeleted: number;
  rateLimitCounters: number;
  /** user-ids items (both directions). */
  userIds: number;
  /** Items of other tables keyed by the user (the outbound event outbox). */
  other: number;
}

export function emptyCounts(): ErasureCounts {
  return {
    purchases: 0,
    grants: 0,
    credits: 0,
    historyAnonymised: 0,
    historyDeleted: 0,
    rateLimitCounters: 0,
    userIds: 0,
    other: 0,
  };
}

export function totalOf(counts: ErasureCounts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
