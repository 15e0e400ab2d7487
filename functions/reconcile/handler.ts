// EventBridge Scheduler → one reconciliation pass (shared/reconcile/pass.ts), ending well before
// the function's own timeout so whatever is left waits for the next pass instead of being cut off.
import type { Context } from 'aws-lambda';
import { logger } from '../../shared/observability/logger';
import { metrics } from '../../shared/observability/metrics';
import type { ReconcileSummary } from '../../shared/reconcile/pass';
import { runReconcilePass } from '../../shared/reconcile/run';

/** Kept back from the timeout for counting what is still due and writing the metrics. */
const RESERVE_MS = 15_000;

export const handler = async (_event: unknown, context: Context): Promise<ReconcileSummary> => {
  try {
    const deadline = Date.now() + Math.max(0, context.getRemainingTimeInMillis() - RESERVE_MS);
    const summary = await runReconcilePass(deadline);
    logger.info('Reconciliation pass done', { ...summary });
    return summary;
  } finally {
    metrics.publishStoredMetrics();
  }
};
