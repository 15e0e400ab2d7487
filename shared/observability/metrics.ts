// Business metrics as CloudWatch EMF (Powertools Metrics): counted where the work happens and
// written once, at the end of each invocation — by the middy stack's logMetrics for the API
// functions, by an explicit publishStoredMetrics() in the others. Every dimension value comes from
// a small fixed set, so the number of CloudWatch metrics (each one billed) stays bounded.
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logger } from './logger';

type Dimensions = Record<string, string>;

/**
 * Powertools Metrics that keeps counts per set of dimension values and writes one EMF line per
 * set when flushed: an EMF line carries one value per dimension, and one invocation can count
 * under several (a consumer batch with Apple and Google events, a verify rejected with a code).
 * Nothing counted, nothing written: no empty-metrics warning and no cold-start metric.
 */
export class BusinessMetrics extends Metrics {
  readonly #pending = new Map<string, { dimensions: Dimensions; counts: Map<string, number> }>();

  count(name: string, dimensions: Dimensions = {}, value = 1): this {
    const key = JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => (a < b ? -1 : 1)));
    let group = this.#pending.get(key);
    if (!group) {
      group = { dimensions, counts: new Map() };
      this.#pending.set(key, group);
    }
    group.counts.set(name, (group.counts.get(name) ?? 0) + value);
    return this;
  }

  override hasStoredMetrics(): boolean {
    return this.#pending.size > 0 || super.hasStoredMetrics();
  }

  override publishStoredMetrics(): this {
    const groups = [...this.#pending.values()];
    this.#pending.clear();
    for (const { dimensions, counts } of groups) {
      // Metrics must never fail the request or the batch they describe.
      try {
        for (const [name, value] of Object.entries(dimensions)) this.addDimension(name, value);
        for (const [name, value] of counts) this.addMetric(name, MetricUnit.Count, value);
        super.publishStoredMetrics();
      } catch (error) {
        logger.warn('Metrics not written', { error: error as Error });
        this.clearMetrics();
        this.clearDimensions();
      }
    }
    return this;
  }
}

/** The one instance per function. POWERTOOLS_METRICS_DISABLED=true (set locally and in tests) writes nothing. */
export const metrics = new BusinessMetrics({
  // The deployed functions get it from the function factory (METRICS_NAMESPACE), as the dashboard reads it.
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || 'IapBackend',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME || 'iap-backend',
  logger,
});

export type Platform = 'apple' | 'google';

/** The `valid:false` codes verify answers; any other code Attesto may add is counted as OTHER. */
export const VERIFY_REJECTION_CODES = [
  'TRANSACTION_NOT_FOUND',
  'PURCHASE_NOT_FOUND',
  'PRODUCT_MISMATCH',
  'BUNDLE_ID_MISMATCH',
  'PACKAGE_NAME_MISMATCH',
  'SANDBOX_NOT_ALLOWED',
  'ALREADY_OWNED',
  'PURCHASE_PENDING',
] as const;
const knownCodes: ReadonlySet<string> = new Set(VERIFY_REJECTION_CODES);

/** `Verifications` {platform, outcome}; a rejection also counts `VerifyRejected` {platform, code}. */
export function countVerification(
  platform: Platform,
  answer: { valid: true } | { valid: false; error: string },
) {
  metrics.count('Verifications', { platform, outcome: answer.valid ? 'valid' : 'rejected' });
  if (!answer.valid) {
    metrics.count('VerifyRejected', {
      platform,
      code: knownCodes.has(answer.error) ? answer.error : 'OTHER',
    });
  }
}

/** What became of one restore's entries; every figure is written, zeros included, on one EMF line. */
export interface RestoreTally {
  verified: number;
  rejected: number;
  /** Already the user's purchase: no Attesto call. */
  known: number;
  /** Invalid, duplicate, older renewal or a product the catalog does not list. */
  skipped: number;
  late: number;
  capped: number;
  failed: number;
  attestoCalls: number;
}

export function countRestore(tally: RestoreTally) {
  metrics.count('Restores');
  metrics.count('RestoreEntriesVerified', {}, tally.verified);
  metrics.count('RestoreEntriesRejected', {}, tally.rejected);
  metrics.count('RestoreEntriesKnown', {}, tally.known);
  metrics.count('RestoreEntriesSkipped', {}, tally.skipped);
  metrics.count('RestoreEntriesLate', {}, tally.late);
  metrics.count('RestoreEntriesCapped', {}, tally.capped);
  metrics.count('RestoreEntriesFailed', {}, tally.failed);
  metrics.count('RestoreAttestoCalls', {}, tally.attestoCalls);
}

export type WebhookEventResult =
  | 'applied'
  | 'duplicate'
  | 'stale'
  | 'recorded'
  | 'acknowledged'
  | 'unmatched'
  | 'no-subject'
  | 'failed';

/** `WebhookEvents` {source, result}; source is the store, 'unknown' for a record that is not an event. */
export function countWebhookEvent(source: Platform | 'unknown', result: WebhookEventResult) {
  metrics.count('WebhookEvents', { source, result });
}

export type WebhookEndpoint = 'attesto' | 'apple' | 'google';

/** `WebhooksQueued` / `WebhooksRejected` (failed its signature or authentication check) {endpoint}. */
export function countWebhookReceipt(endpoint: WebhookEndpoint, receipt: 'queued' | 'rejected') {
  metrics.count(receipt === 'queued' ? 'WebhooksQueued' : 'WebhooksRejected', { endpoint });
}

/** What one reconciliation pass did; every figure is written, zeros included, on one EMF line. */
export function countReconcilePass(summary: {
  checked: number;
  changed: number;
  failed: number;
  stillDue: number;
  attestoCalls: number;
}) {
  metrics.count('ReconcilePasses');
  metrics.count('ReconcileChecked', {}, summary.checked);
  metrics.count('ReconcileChanged', {}, summary.changed);
  metrics.count('ReconcileFailed', {}, summary.failed);
  metrics.count('ReconcileStillDue', {}, summary.stillDue);
  metrics.count('ReconcileAttestoCalls', {}, summary.attestoCalls);
}
