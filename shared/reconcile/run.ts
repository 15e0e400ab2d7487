// A reconciliation pass with the product's own store, Attesto and settings: what the scheduled
// function and the local runtime run.
import { attestoClientFromEnvWith } from '../attesto/client';
import { numberSetting, readConfig, unlessBlank } from '../config';
import { countReconcilePass } from '../observability/metrics';
import { RECONCILE_DEFAULTS, reconcileConcurrency, reconcileMaxCalls } from '../setting-definitions';
import { settings } from '../settings';
import { countDue, dueItems, recordUnchangedCheck } from '../store/due-checks';
import { recordSnapshot } from '../store/purchases';
import { userIdOfUuid } from '../store/user-ids';
import * as z from '../validation';
import { type ReconcileDeps, type ReconcileSummary, reconcilePass } from './pass';

const passSchema = z.object({
  RECONCILE_MAX_CALLS: unlessBlank(z._default(numberSetting(reconcileMaxCalls), RECONCILE_DEFAULTS.maxCalls)),
  RECONCILE_CONCURRENCY: unlessBlank(
    z._default(numberSetting(reconcileConcurrency), RECONCILE_DEFAULTS.concurrency),
  ),
});

export function reconcileLimits(env: NodeJS.ProcessEnv = process.env) {
  const config = readConfig(passSchema, env);
  return { maxCalls: config.RECONCILE_MAX_CALLS, concurrency: config.RECONCILE_CONCURRENCY };
}

export function defaultReconcileDeps(overrides: Partial<ReconcileDeps> = {}): ReconcileDeps {
  return {
    attesto: (fetch) => attestoClientFromEnvWith({ fetch }),
    now: Date.now,
    packageName: settings().googlePackageName,
    store: { dueItems, countDue, recordSnapshot, recordUnchangedCheck, userIdOfUuid },
    ...overrides,
  };
}

/** One pass that must end by `deadline` (epoch ms), its figures counted as metrics. */
export async function runReconcilePass(
  deadline: number,
  deps: ReconcileDeps = defaultReconcileDeps(),
): Promise<ReconcileSummary> {
  const summary = await reconcilePass({ ...reconcileLimits(), deadline }, deps);
  countReconcilePass(summary);
  return summary;
}
