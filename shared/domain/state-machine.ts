// The purchase state machine (architecture §4, §5). Pure: an event in, the field assignments out.
//
// Ordering. Attesto delivers in any order and more than once, so the result must not depend on
// arrival. Every update carries a register key (generation, order), compared lexicographically:
//   - order: the upstream time t (ms) and, for updates with the same t, a per-kind precedence
//     (KIND_PRECEDENCE below; later stages of a lifecycle win);
//   - generation: which token of a Google upgrade chain the update's data came from (see
//     "Generations" below); 0 for everything else.
// Each purchase field is a last-writer-wins register: an update sets a field when the field is
// absent or was last set by an update with a key ≤ its own. Keys are totally ordered, so that
// merge is commutative, associative and idempotent, and any permutation of an event history with
// duplicates ends in the state in-order application gives. Two consequences for the code below:
//   - an update sets exactly the fields its event knows, never values derived from the current
//     state, and omits (never nulls) the fields it does not know, so an older event that arrives
//     later can still fill them;
//   - the store realises the merge without a read on the common path: a guarded write (the
//     purchase is new, or its applied key ≤ the update's) sets every field at once, and only
//     when that guard fails (a stale update) does it fill the fields `staleFill` picks.
// Updates with equal keys (the same event twice, or two snapshots of one transaction) are
// applied in arrival order; for the same event that is idempotent.
//
// Generations. Time alone cannot order the tokens of a Google upgrade chain: the replaced token's
// SUBSCRIPTION_EXPIRED or CANCELED may be timed after the new token's PURCHASED, and Attesto
// delivers it under the same root purchase. So an update whose data came from a Google
// subscription token (a verify of it, or a notification re-read through it) carries that
// token's start time as its generation; each token of a chain starts later than the one it
// replaced, so whatever is said about a superseded token can never overwrite what the live
// token said, whichever arrives first. Apple, one-time products and notifications whose token
// Google no longer knows have generation 0 (absent): they order by time alone and
// never override a field a known token set. Stored purchases without generations are all 0.
import type {
  Environment,
  Ownership,
  ProductType,
  Purchase,
  PurchaseFields,
  PurchaseStatus,
  PurchaseUpdate,
} from './purchase';
import { PURCHASE_FIELDS } from './purchase';

export type PurchaseEventKind =
  /** A verify result: the purchase as the store reports it now, ordered at the transaction's time. */
  | 'snapshot'
  | 'purchased'
  | 'renewed'
  | 'recovered'
  | 'upgraded'
  | 'downgraded'
  | 'cancellation_scheduled'
  | 'cancellation_revoked'
  | 'renewal_extended'
  | 'deferred'
  | 'in_grace_period'
  | 'in_billing_retry'
  | 'grace_period_expired'
  | 'on_hold'
  | 'paused'
  | 'expired'
  | 'revoked'
  | 'refunded'
  | 'refund_reversed'
  | 'product_purchased'
  | 'product_charged'
  | 'product_canceled'
  /**
   * A store refund that may or may not end access (a Google voided subscription order): the
   * purchase as the store reports it after the refund, with the status it reports.
   */
  | 'voided';

/**
 * Precedence among updates with the same upstream time, lowest first. A snapshot is ordered at
 * its transaction's purchase date, the earliest moment it describes, so any event of that same
 * instant wins over it; among events, the later a kind comes in a lifecycle, the higher.
 */
export const KIND_PRECEDENCE: readonly PurchaseEventKind[] = [
  'snapshot',
  'purchased',
  'product_purchased',
  'product_charged',
  'upgraded',
  'downgraded',
  'renewed',
  'recovered',
  'renewal_extended',
  'deferred',
  'cancellation_revoked',
  'cancellation_scheduled',
  'in_grace_period',
  'in_billing_retry',
  'grace_period_expired',
  'on_hold',
  'paused',
  'expired',
  'revoked',
  'product_canceled',
  'refund_reversed',
  'refunded',
  // Appended, never inserted: an index is part of every stored order key.
  'voided',
];

const PRECEDENCE_SLOTS = 32;

/**
 * The order key compared by the store: t scaled so the kind's precedence breaks ties. Exact in
 * a double for any t before the year 10000 (t·32 < 2^53).
 */
export function orderKeyOf(t: number, kind: PurchaseEventKind): number {
  return t * PRECEDENCE_SLOTS + KIND_PRECEDENCE.indexOf(kind);
}

/** What a normalised event knows about the purchase; every field optional. */
export interface PurchaseEventFields {
  productId?: string;
  productType?: ProductType;
  /** A snapshot's status when the store reports one (Google subscriptionState); see `snapshot`. */
  status?: PurchaseStatus;
  expiresAt?: number | null;
  gracePeriodExpiresAt?: number | null;
  willRenew?: boolean;
  environment?: Environment;
  ownership?: Ownership;
  latestTransactionId?: string;
  appUserId?: string;
  /** The transaction carries a revocation (Apple revocationDate): refunded or revoked by the store. */
  revoked?: boolean;
}

export interface PurchaseEvent {
  kind: PurchaseEventKind;
  /**
   * The start time (epoch ms) of the Google subscription token the fields came from; omitted
   * (0) for Apple, one-time products and an unknown token. See "Generations" above.
   */
  generation?: number;
  /**
   * Upstream time, epoch ms: Apple notification signedDate, Google eventTimeMillis; for a
   * snapshot the transaction's purchaseDate (its revocationDate when it is revoked, so a refund
   * seen at verify is not older than the purchase events it overrides).
   */
  occurredAt: number;
  fields: PurchaseEventFields;
}

/** Status and flags each kind implies, on top of what its fields say. */
function impliedBy(kind: PurchaseEventKind, fields: PurchaseEventFields): Partial<PurchaseFields> {
  switch (kind) {
    case 'snapshot':
      return { status: fields.status ?? (fields.revoked ? 'refunded' : 'active') };
    case 'purchased':
    case 'upgraded':
    case 'refund_reversed':
      return { status: 'active' };
    case 'renewed':
    case 'recovered':
      return { status: 'active', gracePeriodExpiresAt: null };
    case 'product_purchased':
    case 'product_charged':
      return { status: 'active', expiresAt: fields.expiresAt ?? null };
    case 'cancellation_scheduled':
      // Access continues until expiry; only the renewal is off.
      return { willRenew: false };
    case 'cancellation_revoked':
      return { willRenew: true };
    case 'in_grace_period':
      return { status: 'grace' };
    case 'in_billing_retry':
      return { status: 'billing_retry' };
    case 'grace_period_expired':
      // Apple keeps retrying after the grace period; access then follows the billing-retry policy.
      return { status: 'billing_retry' };
    case 'on_hold':
      return { status: 'on_hold' };
    case 'paused':
      return { status: 'paused' };
    case 'expired':
      return { status: 'expired', willRenew: false };
    case 'revoked':
    case 'product_canceled':
      return { status: 'revoked' };
    case 'refunded':
      return { status: 'refunded' };
    case 'voided':
      // The store's own state after the refund decides; without one, nothing about access.
      return fields.status ? { status: fields.status } : {};
    case 'downgraded':
    case 'renewal_extended':
    case 'deferred':
      // A downgrade takes effect at the next renewal; an extension or deferral moves the expiry,
      // which the event's fields carry.
      return {};
  }
}

/** The update an event makes: the fields it knows plus what its kind implies. */
export function updateFor(event: PurchaseEvent): PurchaseUpdate {
  // Only a snapshot may state a status directly (impliedBy); for events the kind decides.
  const { revoked: _revoked, status: _status, ...known } = event.fields;
  const set: Partial<PurchaseFields> = {};
  for (const [field, value] of Object.entries(known)) {
    if (value !== undefined) (set as Record<string, unknown>)[field] = value;
  }
  Object.assign(set, impliedBy(event.kind, event.fields));
  const order = orderKeyOf(event.occurredAt, event.kind);
  const gen = event.generation ?? 0;
  return { t: event.occurredAt, order, ...(gen > 0 ? { gen } : {}), set };
}

/** Compares two register keys (generation first, then order): negative, 0 or positive. */
export function compareKeys(aGen: number, aOrder: number, bGen: number, bOrder: number): number {
  return aGen !== bGen ? aGen - bGen : aOrder - bOrder;
}

/** Compares the newest updates two copies of a purchase applied. */
export function compareApplied(a: Purchase, b: Purchase): number {
  return compareKeys(a.appliedGen ?? 0, a.appliedOrder, b.appliedGen ?? 0, b.appliedOrder);
}

/**
 * The fields an update sets on `current` under the merge rule: those absent, or last set by an
 * update keyed no later than this one. The store calls this for stale updates.
 */
export function staleFill(current: Purchase | undefined, update: PurchaseUpdate): Partial<PurchaseFields> {
  const fill: Partial<PurchaseFields> = {};
  for (const field of PURCHASE_FIELDS) {
    const value = update.set[field];
    if (value === undefined) continue;
    const setBy = current?.fieldOrder[field];
    const setByGen = current?.fieldGen?.[field] ?? 0;
    if (setBy === undefined || compareKeys(setByGen, setBy, update.gen ?? 0, update.order) <= 0) {
      (fill as Record<string, unknown>)[field] = value;
    }
  }
  return fill;
}

/** True when the purchase already reflects a newer update, so the guarded write would fail. */
function isStale(current: Purchase | undefined, update: PurchaseUpdate): boolean {
  return (
    current !== undefined &&
    compareKeys(current.appliedGen ?? 0, current.appliedOrder, update.gen ?? 0, update.order) > 0
  );
}

/**
 * Reference semantics of the store's write (pure): the purchase after `update`. Not stale: every
 * field of the update is set (each was last set no later than appliedOrder ≤ update.order).
 * Stale: only `staleFill`'s fields. Either way the per-field rule is the same one.
 */
export function mergeUpdate(
  current: Purchase | undefined,
  update: PurchaseUpdate,
  identity: { pk: string; platform: Purchase['platform']; subjectKey: string },
  now = '1970-01-01T00:00:00.000Z',
): Purchase {
  const base: Purchase = current ?? {
    ...identity,
    appliedAt: update.t,
    appliedOrder: update.order,
    fieldOrder: {},
    createdAt: now,
    updatedAt: now,
  };
  const stale = isStale(current, update);
  const fields = stale ? staleFill(current, update) : update.set;
  const gen = update.gen ?? 0;
  const fieldGen = { ...base.fieldGen };
  const next: Purchase = { ...base, fieldOrder: { ...base.fieldOrder }, updatedAt: now };
  for (const [field, value] of Object.entries(fields)) {
    (next as unknown as Record<string, unknown>)[field] = value;
    next.fieldOrder[field as keyof PurchaseFields] = update.order;
    // Generation 0 is stored as absence, as the store does.
    if (gen > 0) fieldGen[field as keyof PurchaseFields] = gen;
    else delete fieldGen[field as keyof PurchaseFields];
  }
  next.fieldGen = fieldGen;
  if (!stale) {
    next.appliedAt = update.t;
    next.appliedOrder = update.order;
    if (gen > 0) next.appliedGen = gen;
    else delete next.appliedGen;
  }
  return next;
}

/** Reference: the purchase after applying `events` one after another, as they arrive. */
export function applyInOrder(
  events: readonly PurchaseEvent[],
  identity: { pk: string; platform: Purchase['platform']; subjectKey: string },
): Purchase | undefined {
  let current: Purchase | undefined;
  for (const event of events) current = mergeUpdate(current, updateFor(event), identity);
  return current;
}
