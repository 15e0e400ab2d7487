// What one restore did with each entry of its batch: the counts it logs and reports as metrics,
// and the tally of the verified entries that decides the answer.
import type { Purchase } from '../domain/purchase';
import { compareApplied } from '../domain/state-machine';
import { logger } from '../observability/logger';
import { countRestore } from '../observability/metrics';
import type { AttestoCallLimitError } from './attesto-call-limit';
import type { EntryOutcome } from './restore-entry';

export interface RestoreCounts {
  entries: number;
  invalid: number;
  duplicates: number;
  /** For a product the catalog does not list: it grants nothing, so it is not verified. */
  unknownProduct: number;
  /** Older Apple transactions of a product whose newest transaction is verified instead. */
  superseded: number;
  /** Already this user's purchase: no Attesto call. */
  known: number;
  verified: number;
  rejected: number;
  /** Attesto (or the store) failed for the entry; it is skipped. */
  failed: number;
  /** Not done by the deadline; skipped. */
  late: number;
  /** Not verified because the restore had made its MAX_ATTESTO_CALLS_PER_RESTORE calls; skipped. */
  capped: number;
  /** Not verified because the user's Attesto call limit refused the call; skipped. */
  limited: number;
  attestoCalls: number;
}

export function emptyRestoreCounts(entries: number): RestoreCounts {
  return {
    entries,
    invalid: 0,
    duplicates: 0,
    unknownProduct: 0,
    superseded: 0,
    known: 0,
    verified: 0,
    rejected: 0,
    failed: 0,
    late: 0,
    capped: 0,
    limited: 0,
    attestoCalls: 0,
  };
}

/** What the verified entries add up to. */
export interface RestoreTally {
  /** The purchases the batch wrote, the newest copy of each. */
  written: Map<string, Purchase>;
  /** Entries Attesto answered, recorded or rejected. */
  attestoAnswered: number;
  /** Entries whose Attesto call failed. */
  attestoFailed: number;
  firstFailure: unknown;
  /** The user's Attesto call limit, when it refused a call. */
  limitedBy: AttestoCallLimitError | undefined;
}

/** The newer of two copies of one purchase (entries of one subscription may land in any order). */
function newer(a: Purchase, b: Purchase): Purchase {
  const order = compareApplied(a, b);
  if (order !== 0) return order > 0 ? a : b;
  return a.updatedAt >= b.updatedAt ? a : b;
}

/** Counts each outcome and gathers what the answer needs from them. */
export function tallyOutcomes(outcomes: readonly EntryOutcome[], counts: RestoreCounts): RestoreTally {
  const tally: RestoreTally = {
    written: new Map(),
    attestoAnswered: 0,
    attestoFailed: 0,
    firstFailure: undefined,
    limitedBy: undefined,
  };
  for (const outcome of outcomes) {
    if (outcome.kind === 'recorded') {
      counts.verified++;
      tally.attestoAnswered++;
      const held = tally.written.get(outcome.purchase.pk);
      tally.written.set(outcome.purchase.pk, held ? newer(held, outcome.purchase) : outcome.purchase);
    } else if (outcome.kind === 'failed') {
      counts.failed++;
      if (outcome.attesto) tally.attestoFailed++;
      tally.firstFailure ??= outcome.error;
    } else if (outcome.kind === 'rejected') {
      counts.rejected++;
      tally.attestoAnswered++;
    } else if (outcome.kind === 'known') counts.known++;
    else if (outcome.kind === 'invalid') counts.invalid++;
    else if (outcome.kind === 'capped') counts.capped++;
    else if (outcome.kind === 'limited') {
      counts.limited++;
      tally.limitedBy ??= outcome.error;
    } else counts.late++;
  }
  return tally;
}

/** The restore's log lines and metrics. */
export function reportRestore(counts: RestoreCounts): void {
  if (counts.capped > 0) {
    logger.warn('restore reached its Attesto call cap; the rest of the batch is skipped', {
      capped: counts.capped,
      attestoCalls: counts.attestoCalls,
    });
  }
  logger.info('restore done', { ...counts });
  countRestore({
    verified: counts.verified,
    rejected: counts.rejected,
    known: counts.known,
    skipped: counts.invalid + counts.duplicates + counts.unknownProduct + counts.superseded,
    late: counts.late,
    capped: counts.capped,
    failed: counts.failed,
    attestoCalls: counts.attestoCalls,
  });
}
