// A reconciliation pass: re-verifies, through Attesto, the purchases the due index says may be
// stale, and applies each answer through the same ordered, idempotent write path as every other
// source (history source "reconciliation"), so it can never move a purchase backwards. Bounded: at
// most `maxCalls` requests to Attesto (retries included), `concurrency` at a time, and no check
// starts once the deadline is near; whatever is left stays due for the next pass.
import type { AttestoClient } from '../attesto/client';
import { keyReference } from '../domain/purchase';
import { updateFor } from '../domain/state-machine';
import { logger } from '../observability/logger';
import type { UserIdAssignment } from '../store/purchase-writes';
import { purchaseFromItem } from '../store/purchase-writes';
import type { recordSnapshot } from '../store/purchases';
import { checkWithAttesto } from './check-purchase';

export interface ReconcileSummary {
  /** Purchases Attesto answered about. */
  checked: number;
  /** Of those, how many the answer changed. */
  changed: number;
  /** Checks that failed (Attesto unavailable, a store error): nothing changed, they stay due. */
  failed: number;
  /** Purchases still due when the pass ended (budget or time ran out, or failed). */
  stillDue: number;
  /** Requests made to Attesto (never more than the budget). */
  attestoCalls: number;
  /** Read capacity spent finding and counting the due purchases. */
  readUnits: number;
}

export interface ReconcileOptions {
  /** At most this many requests to Attesto in the pass, retries included. */
  maxCalls: number;
  /** Checks running at once. */
  concurrency: number;
  /** Epoch ms by which the pass must have finished. */
  deadline: number;
  /** Time one check may take at most; none starts with less than this left before the deadline. */
  checkBudgetMs?: number;
}

export interface ReconcileDeps {
  /** An Attesto client sending through `fetch` (the pass counts and caps its requests there). */
  attesto: (fetch: typeof globalThis.fetch) => AttestoClient;
  now: () => number;
  packageName: string | undefined;
  store: {
    dueItems(now: number, limit: number): Promise<{ items: Record<string, unknown>[]; readUnits: number }>;
    countDue(now: number): Promise<{ count: number; readUnits: number }>;
    recordSnapshot: typeof recordSnapshot;
    recordUnchangedCheck(item: Record<string, unknown>, now: number): Promise<'recorded' | 'superseded'>;
    userIdOfUuid(uuid: string): Promise<string | undefined>;
  };
}

const DEFAULT_CHECK_BUDGET_MS = 8_000;

/** Thrown instead of sending a request once the pass's Attesto budget is spent. */
class CallBudgetSpent extends Error {
  constructor() {
    super('The reconciliation pass has made all the Attesto calls it may; the rest wait for the next pass');
    this.name = 'CallBudgetSpent';
  }
}

export async function reconcilePass(
  options: ReconcileOptions,
  deps: ReconcileDeps,
): Promise<ReconcileSummary> {
  const startedAt = deps.now();
  const checkBudgetMs = options.checkBudgetMs ?? DEFAULT_CHECK_BUDGET_MS;
  let attestoCalls = 0;
  const countingFetch: typeof fetch = (input, init) => {
    if (attestoCalls >= options.maxCalls) return Promise.reject(new CallBudgetSpent());
    attestoCalls += 1;
    return globalThis.fetch(input, init);
  };
  const attesto = deps.attesto(countingFetch);
  const due = await deps.store.dueItems(startedAt, options.maxCalls);
  const summary = { checked: 0, changed: 0, failed: 0 };

  const checkOne = async (item: Record<string, unknown>) => {
    const purchase = purchaseFromItem(item);
    const now = deps.now();
    try {
      const answer = await checkWithAttesto(purchase, attesto, {
        packageName: deps.packageName,
        now,
        deadline: Math.min(now + checkBudgetMs, options.deadline),
      });
      summary.checked += 1;
      if (answer.kind === 'snapshot') {
        const { snapshot } = answer;
        const appUserId = snapshot.event.fields.appUserId?.toLowerCase();
        // An unowned purchase goes to the app's user its UUID names, as a webhook would give it.
        const bound =
          purchase.userId === undefined && appUserId ? await deps.store.userIdOfUuid(appUserId) : undefined;
        const owner: UserIdAssignment | undefined = bound ? { userId: bound, mode: 'if-absent' } : undefined;
        const recorded = await deps.store.recordSnapshot({
          pk: purchase.pk,
          update: updateFor(snapshot.event),
          ...(owner ? { owner } : {}),
          aliases: snapshot.aliases,
          cause: { source: 'reconciliation', operator: 'reconcile', event: 'snapshot' },
        });
        if (recorded.changed) {
          summary.changed += 1;
          return;
        }
      } else {
        logger.info('Reconciliation check: nothing to apply', {
          purchase: keyReference(purchase.pk),
          reason: answer.reason,
        });
      }
      await deps.store.recordUnchangedCheck(item, deps.now());
    } catch (error) {
      summary.failed += 1;
      logger.warn('Reconciliation check failed; the purchase stays due', {
        purchase: keyReference(purchase.pk),
        error: error as Error,
      });
    }
  };

  const queue = [...due.items];
  const worker = async () => {
    while (queue.length > 0) {
      if (attestoCalls >= options.maxCalls) return;
      if (deps.now() + checkBudgetMs > options.deadline) return;
      const item = queue.shift();
      if (item) await checkOne(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));

  const remaining = await deps.store.countDue(deps.now());
  return {
    ...summary,
    stillDue: remaining.count,
    attestoCalls,
    readUnits: due.readUnits + remaining.readUnits,
  };
}
