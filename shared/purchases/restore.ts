// POST restore: verify a device's purchase history and answer the user's full entitlement set.
//
// An iOS batch holds every transaction the device ever saw — each renewal of each subscription
// (contract §1.8). The newest transaction of a product (highest numeric transactionId) carries
// that subscription's current state; older renewals carry nothing newer (DESIGN §4), so only the
// newest per product is verified. Consumables are separate purchases, so each of those counts.
// A transaction whose alias already leads to one of this user's purchases needs no call at all.
// The rest is verified concurrently (bounded, to respect Attesto's per-tenant rate limit) within
// a deadline well inside the SDK's 10 s per-attempt timeout: the SDK re-sends the whole batch on a
// timeout, so a late answer is worse than a partial one. Entries still unverified at the deadline
// are skipped, like invalid ones: restore is best effort and answers the consolidated state.
import { AttestoAuthError } from '../attesto/errors';
import { productById } from '../domain/catalog';
import { type Entitlement, entitlementsOf } from '../domain/entitlements';
import { aliasKey, type Purchase } from '../domain/purchase';
import { HttpError, ServiceUnavailableError } from '../http/errors';
import { logger } from '../observability/logger';
import { withPurchase } from '../store/purchases';
import { defaultDeps, type PurchaseDeps } from './dependencies';
import { type RestoreEntry, restoreEntryOf } from './request-schemas';
import {
  attestoGoogleRequest,
  type Prepared,
  prepareApple,
  prepareGoogle,
  recordForUser,
} from './verification';
import { packageNameFor } from './verify-google';

export const RESTORE_CONCURRENCY = 8;
/** From the request's start; leaves the SDK's 10 s attempt room for a cold start and the network. */
export const RESTORE_BUDGET_MS = 6_000;
/** Past the deadline, calls already under way get this long to land before the answer goes out. */
const LANDING_MS = 750;

export interface RestoreOptions {
  /** Epoch ms the request started (the deadline counts from it). */
  startedAt?: number;
  budgetMs?: number;
  concurrency?: number;
}

export interface RestoreCounts {
  entries: number;
  invalid: number;
  duplicates: number;
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
  attestoCalls: number;
}

export interface RestoreAnswer {
  valid: true;
  entitlements: Entitlement[];
}

/** Numeric comparison of Apple transaction ids (decimal strings longer than 2^53). */
function newerAppleId(a: string, b: string): boolean {
  const digits = /^\d+$/;
  if (digits.test(a) && digits.test(b)) return BigInt(a) > BigInt(b);
  return a.length === b.length ? a > b : a.length > b.length;
}

/** Deduplicates and drops older Apple renewals; counts what it drops. */
export function entriesToVerify(entries: RestoreEntry[], counts: RestoreCounts): RestoreEntry[] {
  const seen = new Set<string>();
  const unique: RestoreEntry[] = [];
  for (const entry of entries) {
    const id = entry.platform === 'apple' ? `apple:${entry.transactionId}` : `google:${entry.purchaseToken}`;
    if (seen.has(id)) {
      counts.duplicates++;
      continue;
    }
    seen.add(id);
    unique.push(entry);
  }
  const newestApple = new Map<string, Extract<RestoreEntry, { platform: 'apple' }>>();
  const chosen: RestoreEntry[] = [];
  for (const entry of unique) {
    if (entry.platform === 'google' || productById(entry.productId)?.type === 'consumable') {
      chosen.push(entry);
      continue;
    }
    const held = newestApple.get(entry.productId);
    if (!held || newerAppleId(entry.transactionId, held.transactionId))
      newestApple.set(entry.productId, entry);
    counts.superseded++;
  }
  counts.superseded -= newestApple.size;
  return [...chosen, ...newestApple.values()];
}

type Outcome =
  | { kind: 'recorded'; purchase: Purchase }
  | { kind: 'known' | 'rejected' | 'invalid' | 'late' }
  | { kind: 'failed'; error: unknown; attesto: boolean };

async function restoreOne(
  entry: RestoreEntry,
  userId: string,
  deadline: number,
  owned: Promise<Purchase[]>,
  counts: RestoreCounts,
  deps: PurchaseDeps,
): Promise<Outcome> {
  const alias =
    entry.platform === 'apple'
      ? aliasKey('apple-tx', entry.transactionId)
      : aliasKey('google-token', entry.purchaseToken);
  let prepared: Prepared;
  let attesto = false;
  try {
    const ownAlias = deps.store.resolveAlias(alias);
    const target = await ownAlias;
    if (target && (await owned).some((p) => p.pk === target)) return { kind: 'known' };
    if (deps.now() >= deadline) return { kind: 'late' };
    if (entry.platform === 'apple') {
      attesto = true;
      counts.attestoCalls++;
      const result = await deps.attesto().verifyApple({ transactionId: entry.transactionId }, { deadline });
      prepared = prepareApple(result, entry, deps);
    } else {
      const pkg = packageNameFor(entry.packageName, deps);
      if ('rejection' in pkg) return { kind: 'rejected' };
      const type = entry.type ?? productById(entry.productId)?.type;
      if (!type) return { kind: 'invalid' };
      attesto = true;
      counts.attestoCalls++;
      const result = await deps
        .attesto()
        .verifyGoogle(attestoGoogleRequest({ ...entry, packageName: pkg.packageName, type }), { deadline });
      prepared = await prepareGoogle(result, { productId: entry.productId, type }, ownAlias, deps);
    }
    if ('rejection' in prepared) {
      logger.info('restore entry rejected', { platform: entry.platform, error: prepared.rejection.error });
      return { kind: 'rejected' };
    }
    const recorded = await recordForUser(prepared.snapshot, userId, deps);
    if ('rejection' in recorded) {
      logger.info('restore entry rejected', { platform: entry.platform, error: recorded.rejection.error });
      return { kind: 'rejected' };
    }
    return { kind: 'recorded', purchase: recorded.purchase };
  } catch (error) {
    // A 4xx here is about this entry alone (Attesto refused its id); anything else is transient
    // or misconfiguration, judged for the whole batch below.
    if (error instanceof HttpError && error.statusCode < 500) return { kind: 'invalid' };
    return { kind: 'failed', error, attesto };
  }
}

/** The newer of two copies of one purchase (entries of one subscription may land in any order). */
function newer(a: Purchase, b: Purchase): Purchase {
  if (a.appliedOrder !== b.appliedOrder) return a.appliedOrder > b.appliedOrder ? a : b;
  return a.updatedAt >= b.updatedAt ? a : b;
}

export async function restorePurchases(
  userId: string,
  rawEntries: readonly unknown[],
  options: RestoreOptions = {},
  deps: PurchaseDeps = defaultDeps(),
): Promise<RestoreAnswer & { counts: RestoreCounts }> {
  const deadline = (options.startedAt ?? deps.now()) + (options.budgetMs ?? RESTORE_BUDGET_MS);
  const counts: RestoreCounts = {
    entries: rawEntries.length,
    invalid: 0,
    duplicates: 0,
    superseded: 0,
    known: 0,
    verified: 0,
    rejected: 0,
    failed: 0,
    late: 0,
    attestoCalls: 0,
  };
  // Read while the batch is verified; what the batch writes is merged in afterwards.
  const owned = deps.store.purchasesOfUser(userId);
  owned.catch(() => undefined);

  const entries: RestoreEntry[] = [];
  rawEntries.forEach((value, index) => {
    const parsed = restoreEntryOf(value);
    if ('entry' in parsed) entries.push(parsed.entry);
    else {
      counts.invalid++;
      logger.info('restore entry skipped', { index, problem: parsed.problem });
    }
  });
  const queue = entriesToVerify(entries, counts);

  const outcomes: Outcome[] = [];
  let next = 0;
  const worker = async () => {
    while (next < queue.length) {
      const entry = queue[next++] as RestoreEntry;
      if (deps.now() >= deadline) {
        outcomes.push({ kind: 'late' });
        continue;
      }
      outcomes.push(await restoreOne(entry, userId, deadline, owned, counts, deps));
    }
  };
  const workers = Array.from(
    { length: Math.min(options.concurrency ?? RESTORE_CONCURRENCY, queue.length) },
    worker,
  );
  let timer: NodeJS.Timeout | undefined;
  const landing = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), Math.max(0, deadline + LANDING_MS - deps.now()));
  });
  await Promise.race([Promise.all(workers), landing]);
  clearTimeout(timer);
  // Snapshot now: whatever lands after this is not part of the answer.
  const done = [...outcomes];
  counts.late += queue.length - done.length;

  let purchases = await owned;
  let firstFailure: unknown;
  let attestoAnswered = 0;
  let attestoFailed = 0;
  const written = new Map<string, Purchase>();
  for (const outcome of done) {
    if (outcome.kind === 'recorded') {
      counts.verified++;
      attestoAnswered++;
      const held = written.get(outcome.purchase.pk);
      written.set(outcome.purchase.pk, held ? newer(held, outcome.purchase) : outcome.purchase);
    } else if (outcome.kind === 'failed') {
      counts.failed++;
      if (outcome.attesto) attestoFailed++;
      firstFailure ??= outcome.error;
    } else if (outcome.kind === 'rejected') {
      counts.rejected++;
      attestoAnswered++;
    } else if (outcome.kind === 'known') counts.known++;
    else if (outcome.kind === 'invalid') counts.invalid++;
    else counts.late++;
  }
  logger.info('restore done', { ...counts });

  // Every call Attesto was asked failed (or none could be made in time): the set we hold may lack
  // what this batch would have granted, and the SDK would replace its cache with it. Answer 5xx
  // so the SDK retries instead.
  const needed = counts.attestoCalls > 0 || counts.late > 0;
  if (needed && attestoAnswered === 0 && (attestoFailed > 0 || counts.late > 0)) {
    if (firstFailure instanceof AttestoAuthError || firstFailure instanceof ServiceUnavailableError)
      throw firstFailure;
    throw new ServiceUnavailableError('Purchases could not be verified right now', 1, firstFailure);
  }
  for (const purchase of written.values()) purchases = withPurchase(purchases, purchase, userId);
  return {
    valid: true,
    entitlements: entitlementsOf(purchases, deps.now(), deps.settings().entitlementPolicy),
    counts,
  };
}
