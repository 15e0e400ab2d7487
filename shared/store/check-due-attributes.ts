// The attributes that place a purchase item in the sparse "due for a check" index, computed in one
// place for every write of a purchase (purchase-writes.ts) and for a check that changed nothing
// (due-checks.ts). Present only while the purchase needs checking; removed otherwise.
import { numberSetting, readConfig, unlessBlank } from '../config';
import {
  type CheckScheduleSettings,
  checkDueShard,
  DEFAULT_CHECK_SCHEDULE,
  nextCheckAt,
} from '../domain/check-schedule';
import type { Purchase } from '../domain/purchase';
import { RECONCILE_DEFAULTS, reconcileDelaySeconds, reconcileLookBackDays } from '../setting-definitions';
import * as z from '../validation';

/** The index's attributes: partition (shard), sort key (ISO time) and checks in a row that changed nothing. */
export const CHECK_ATTRIBUTES = ['checkDue', 'checkAt', 'checkAttempts'] as const;

const scheduleSchema = z.object({
  RECONCILE_DELAY_SECONDS: unlessBlank(
    z._default(numberSetting(reconcileDelaySeconds), RECONCILE_DEFAULTS.delaySeconds),
  ),
  RECONCILE_LOOKBACK_DAYS: unlessBlank(
    z._default(numberSetting(reconcileLookBackDays), RECONCILE_DEFAULTS.lookBackDays),
  ),
});

export function checkSchedule(env: NodeJS.ProcessEnv = process.env): CheckScheduleSettings {
  const config = readConfig(scheduleSchema, env);
  return {
    ...DEFAULT_CHECK_SCHEDULE,
    delayAfterExpiryMs: config.RECONCILE_DELAY_SECONDS * 1000,
    lookBackMs: config.RECONCILE_LOOKBACK_DAYS * 24 * 60 * 60 * 1000,
  };
}

export type CheckAttributes =
  | { due: true; checkDue: string; checkAt: string; checkAttempts: number }
  | { due: false };

/** Where `purchase` belongs in the due index at `now`, after `attempts` checks that changed nothing. */
export function checkAttributesFor(purchase: Purchase, now: number, attempts = 0): CheckAttributes {
  const at = nextCheckAt(purchase, now, checkSchedule(), attempts);
  if (at === undefined) return { due: false };
  return {
    due: true,
    checkDue: checkDueShard(purchase.pk),
    checkAt: new Date(at).toISOString(),
    checkAttempts: attempts,
  };
}
