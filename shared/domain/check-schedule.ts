// When a stored purchase should next be re-verified through Attesto because its stored state may
// be stale (a store notification may have gone missing). Pure: `now` and the settings are
// arguments. The write path stores the answer as the sparse "due for a check" index
// (shared/store/tables.ts CHECK_DUE_INDEX), so a reconciliation pass reads only what is due.
import type { Purchase, PurchaseStatus } from './purchase';

export interface CheckScheduleSettings {
  /**
   * Wait after a subscription's stored expiry before checking it: the store renews just before
   * expiry and its notification normally arrives within moments, so the check is for the one
   * that did not.
   */
  delayAfterExpiryMs: number;
  /** How long after its expiry (or, for an unowned purchase, its creation) a purchase is still checked. */
  lookBackMs: number;
  /** Wait before the first re-check of a check that changed nothing; doubled after each further one. */
  firstRetryMs: number;
  /** The longest wait between checks. */
  maxIntervalMs: number;
  /** How often a subscription in grace period, billing retry or on hold is checked. */
  troubledPeriodMs: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

export const DEFAULT_CHECK_SCHEDULE: CheckScheduleSettings = {
  delayAfterExpiryMs: 10 * MINUTE_MS,
  // Billing retry lasts up to 60 days at Google; Apple retries for up to 60 days as well.
  lookBackMs: 60 * DAY_MS,
  firstRetryMs: 30 * MINUTE_MS,
  maxIntervalMs: DAY_MS,
  troubledPeriodMs: 6 * HOUR_MS,
};

/** Statuses the store can still move on its own without the app doing anything. */
const TROUBLED: ReadonlySet<PurchaseStatus> = new Set(['grace', 'billing_retry', 'on_hold']);
/** Statuses nothing comes back from without a notification the store always sends again. */
const FINAL: ReadonlySet<PurchaseStatus> = new Set(['expired', 'revoked', 'refunded']);

/** The wait after the `attempts`-th check in a row that changed nothing (attempts ≥ 1). */
export function backoffMs(attempts: number, settings: CheckScheduleSettings): number {
  const doublings = Math.min(Math.max(attempts - 1, 0), 30);
  return Math.min(settings.firstRetryMs * 2 ** doublings, settings.maxIntervalMs);
}

/**
 * When `purchase` should next be checked (epoch ms; may be in the past, meaning "due now"), or
 * undefined when there is nothing a check could learn. `attempts` is how many checks in a row
 * changed nothing since the purchase last changed (0 right after a change).
 *
 * - A subscription with no later state than its expiry: shortly after that expiry (a renewal or
 *   expiry notification should have arrived by then), then with backoff, for `lookBackMs`.
 * - Grace period, billing retry or on hold: every `troubledPeriodMs` (or the backoff, if longer)
 *   while within `lookBackMs` of its expiry.
 * - A purchase nobody owns yet (a webhook created it before any verify): after the same delay,
 *   then with backoff, for
 *   `lookBackMs` after it was created; a check may reveal the app's user through appUserId.
 * - Anything final (expired, refunded, revoked), owned one-time purchases and consumables: never.
 */
export function nextCheckAt(
  purchase: Purchase,
  now: number,
  settings: CheckScheduleSettings,
  attempts = 0,
): number | undefined {
  const backoff = attempts > 0 ? now + backoffMs(attempts, settings) : undefined;
  if (purchase.status && FINAL.has(purchase.status)) return undefined;

  if (purchase.userId === undefined) {
    const created = Date.parse(purchase.createdAt);
    if (!Number.isNaN(created) && now > created + settings.lookBackMs) return undefined;
    // The app's own verify usually follows within seconds; check only if it has not.
    return backoff ?? now + settings.delayAfterExpiryMs;
  }

  const expiresAt = purchase.expiresAt;
  if (purchase.productType !== 'subscription' || typeof expiresAt !== 'number') return undefined;
  const end = Math.max(expiresAt, purchase.gracePeriodExpiresAt ?? 0);
  if (now > end + settings.lookBackMs) return undefined;

  if (purchase.status && TROUBLED.has(purchase.status)) {
    return Math.max(now + settings.troubledPeriodMs, backoff ?? 0);
  }
  return backoff ?? end + settings.delayAfterExpiryMs;
}

/** How many shards the due index's partition is spread over, so no one partition is hot. */
export const CHECK_DUE_SHARDS = 4;

const shardKey = (shard: number) => `due#${shard}`;

/** Every shard of the due index. */
export const CHECK_DUE_SHARD_KEYS: readonly string[] = Array.from({ length: CHECK_DUE_SHARDS }, (_, i) =>
  shardKey(i),
);

/** The due index's partition value of a purchase: a stable shard of its key. */
export function checkDueShard(pk: string): string {
  let hash = 0;
  for (let i = 0; i < pk.length; i++) hash = (hash * 31 + pk.charCodeAt(i)) >>> 0;
  return shardKey(hash % CHECK_DUE_SHARDS);
}
