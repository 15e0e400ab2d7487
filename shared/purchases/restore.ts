// POST restore: verify a device's purchase history and answer the user's full entitlement set.
//
// Which entries are worth a call and in which order: restore-entries.ts. A transaction whose alias
// already leads to one of this user's purchases needs no call at all (restore-entry.ts).
// The rest is verified concurrently (restore-pool.ts: bounded, to respect Attesto's per-tenant
// rate limit) within a deadline well inside the SDK's 10 s per-attempt timeout: the SDK re-sends
// the whole batch on a timeout, so a late answer is worse than a partial one. Entries still unverified at the deadline
// are skipped, like invalid ones: restore is best effort and answers the consolidated state.
//
// What the body can make us spend is bounded too, since every Attesto call counts against the
// app's own Attesto rate limit: an entry for a product the catalog does not list grants nothing
// and is skipped without a call, and one restore makes at most MAX_ATTESTO_CALLS_PER_RESTORE calls,
// entries that grant entitlements first. Entries past the cap are skipped like late ones; the
// ones verified now are known next time (no call), so a later restore gets further.
import { AttestoAuthError } from '../attesto/errors';
import { type Entitlement, entitlementsOf } from '../domain/entitlements';
import { ServiceUnavailableError } from '../http/errors';
import { withPurchase } from '../store/purchases';
import { defaultDeps, type PurchaseDeps } from './dependencies';
import {
  emptyRestoreCounts,
  type RestoreCounts,
  type RestoreTally,
  reportRestore,
  tallyOutcomes,
} from './restore-counts';
import { entriesToVerify, parseRestoreEntries } from './restore-entries';
import { callBudget, type EntryOutcome, restoreEntry } from './restore-entry';
import { runUntilDeadline } from './restore-pool';
import { bindingResolver } from './verification';

const RESTORE_CONCURRENCY = 8;
/** From the request's start; leaves the SDK's 10 s attempt room for a cold start and the network. */
const RESTORE_BUDGET_MS = 6_000;
/** Past the deadline, calls already under way get this long to land before the answer goes out. */
const LANDING_MS = 750;
/**
 * The most Attesto calls one restore makes. Each call spends the app's Attesto rate limit, so a
 * body of 500 made-up entries must not spend 500. A real device needs few: one call per
 * subscription or product (older renewals need none), one per consumable not yet known here,
 * none for what is already this user's.
 */
export const MAX_ATTESTO_CALLS_PER_RESTORE = 20;

export interface RestoreOptions {
  /** Epoch ms the request started (the deadline counts from it). */
  startedAt?: number;
  budgetMs?: number;
  concurrency?: number;
  maxAttestoCalls?: number;
}

export interface RestoreAnswer {
  valid: true;
  entitlements: Entitlement[];
}

/**
 * The error to answer instead of the entitlement set, when the batch could not be verified.
 * The user's call limit refused every call that was needed: its 429, rather than a set that lacks
 * what the batch would have granted (refused after some answered: best effort). Every call
 * Attesto was asked failed, or none could be made in time: the set we hold may lack what this
 * batch would have granted, and the SDK would replace its cache with it, so a 5xx makes it retry.
 */
function batchFailure(tally: RestoreTally, counts: RestoreCounts): Error | undefined {
  if (tally.limitedBy && tally.attestoAnswered === 0) return tally.limitedBy;
  const needed = counts.attestoCalls > 0 || counts.late > 0;
  if (!needed || tally.attestoAnswered > 0 || (tally.attestoFailed === 0 && counts.late === 0))
    return undefined;
  const first = tally.firstFailure;
  if (first instanceof AttestoAuthError || first instanceof ServiceUnavailableError) return first;
  return new ServiceUnavailableError('Purchases could not be verified right now', 1, first);
}

export async function restorePurchases(
  userId: string,
  rawEntries: readonly unknown[],
  options: RestoreOptions = {},
  deps: PurchaseDeps = defaultDeps(),
): Promise<RestoreAnswer & { counts: RestoreCounts }> {
  const deadline = (options.startedAt ?? deps.now()) + (options.budgetMs ?? RESTORE_BUDGET_MS);
  const counts = emptyRestoreCounts(rawEntries.length);
  // Read while the batch is verified; what the batch writes is merged in afterwards.
  const holdings = deps.store.holdingsOfUser(userId);
  holdings.catch(() => undefined);
  const owned = holdings.then((h) => h.purchases);
  owned.catch(() => undefined);
  const queue = entriesToVerify(parseRestoreEntries(rawEntries, counts), counts);

  const context = {
    userId,
    deadline,
    takeCall: callBudget(counts, options.maxAttestoCalls ?? MAX_ATTESTO_CALLS_PER_RESTORE),
    owned,
    holdings,
    binding: bindingResolver(userId, deps),
    deps,
  };
  const late: EntryOutcome = { kind: 'late' };
  const done = await runUntilDeadline(
    queue,
    {
      concurrency: options.concurrency ?? RESTORE_CONCURRENCY,
      deadline,
      landingMs: LANDING_MS,
      now: () => deps.now(),
      late,
    },
    (entry) => restoreEntry(entry, context),
  );
  counts.late += queue.length - done.length;

  let purchases = await owned;
  const tally = tallyOutcomes(done, counts);
  reportRestore(counts);
  const failure = batchFailure(tally, counts);
  if (failure) throw failure;
  for (const purchase of tally.written.values()) purchases = withPurchase(purchases, purchase, userId);
  return {
    valid: true,
    entitlements: entitlementsOf(
      purchases,
      deps.now(),
      deps.settings().entitlementPolicy,
      undefined,
      (await holdings).grants,
    ),
    counts,
  };
}
