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
//
// What the body can make us spend is bounded too, since every Attesto call counts against the
// app's own Attesto rate limit: an entry for a product the catalog does not list grants nothing
// and is skipped without a call, and one restore makes at most MAX_ATTESTO_CALLS_PER_RESTORE calls,
// entries that grant entitlements first. Entries past the cap are skipped like late ones; the
// ones verified now are known next time (no call), so a later restore gets further.
import type { AttestoClient } from '../attesto/client';
import { AttestoAuthError } from '../attesto/errors';
import { productById } from '../domain/catalog';
import { type Entitlement, entitlementsOf } from '../domain/entitlements';
import { aliasKey, type Purchase } from '../domain/purchase';
import { compareApplied } from '../domain/state-machine';
import { HttpError, ServiceUnavailableError } from '../http/errors';
import { logger } from '../observability/logger';
import { countRestore } from '../observability/metrics';
import { withPurchase } from '../store/purchases';
import { AttestoCallLimitError, attestoFor } from './attesto-call-limit';
import { defaultDeps, type PurchaseDeps } from './dependencies';
import { type RestoreEntry, restoreEntryOf } from './request-schemas';
import {
  attestoGoogleRequest,
  type BindingResolver,
  bindingResolver,
  type Prepared,
  prepareApple,
  prepareGoogle,
  recordForUser,
} from './verification';
import { packageNameFor } from './verify-google';

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

/**
 * Drops entries for products the catalog does not list, duplicates and older Apple renewals, and
 * counts what it drops. What grants entitlements comes first, consumables last, so a restore cut
 * short by its call cap or deadline has spent its calls on what the answer is about.
 */
export function entriesToVerify(entries: RestoreEntry[], counts: RestoreCounts): RestoreEntry[] {
  const seen = new Set<string>();
  const unique: RestoreEntry[] = [];
  for (const entry of entries) {
    if (!productById(entry.productId)) {
      counts.unknownProduct++;
      continue;
    }
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
  const isConsumable = (e: RestoreEntry) => productById(e.productId)?.type === 'consumable';
  const ordered = [...chosen, ...newestApple.values()];
  return [...ordered.filter((e) => !isConsumable(e)), ...ordered.filter(isConsumable)];
}

/** The restore made its MAX_ATTESTO_CALLS_PER_RESTORE calls in the middle of an entry. */
class RestoreCapReached extends Error {}

type Outcome =
  | { kind: 'recorded'; purchase: Purchase }
  | { kind: 'known' | 'rejected' | 'invalid' | 'late' | 'capped' }
  | { kind: 'failed'; error: unknown; attesto: boolean }
  /** The user's Attesto call limit refused the call; skipped like a capped entry. */
  | { kind: 'limited'; error: AttestoCallLimitError };

async function restoreOne(
  entry: RestoreEntry,
  userId: string,
  limits: { deadline: number; maxAttestoCalls: number },
  owned: Promise<Purchase[]>,
  binding: BindingResolver,
  counts: RestoreCounts,
  deps: PurchaseDeps,
): Promise<Outcome> {
  const { deadline } = limits;
  // Checked and counted with no await in between, so concurrent entries never pass the cap.
  const takeCall = (): boolean => {
    if (counts.attestoCalls >= limits.maxAttestoCalls) return false;
    counts.attestoCalls++;
    return true;
  };
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
      if (!takeCall()) return { kind: 'capped' };
      attesto = true;
      const result = await attestoFor(userId, deps).verifyApple(
        { transactionId: entry.transactionId },
        { deadline },
      );
      prepared = prepareApple(result, entry, deps);
    } else {
      const pkg = packageNameFor(entry.packageName, deps);
      if ('rejection' in pkg) return { kind: 'rejected' };
      // The catalog's type wins, as at verify; entries for unlisted products never get here.
      const type = productById(entry.productId)?.type ?? entry.type;
      if (!type) return { kind: 'invalid' };
      if (!takeCall()) return { kind: 'capped' };
      attesto = true;
      const client = attestoFor(userId, deps);
      const result = await client.verifyGoogle(
        attestoGoogleRequest({ ...entry, packageName: pkg.packageName, type }),
        { deadline },
      );
      // Walking an upgrade chain back asks Google about replaced tokens: those calls count too.
      const chainClient: AttestoClient = {
        verifyApple: (request, options) => client.verifyApple(request, options),
        verifyGoogle: (request, options) => {
          if (!takeCall()) throw new RestoreCapReached();
          return client.verifyGoogle(request, options);
        },
      };
      prepared = await prepareGoogle(
        result,
        { productId: entry.productId, type, packageName: pkg.packageName },
        ownAlias,
        { attesto: chainClient, callOptions: { deadline } },
        deps,
      );
    }
    if ('rejection' in prepared) {
      logger.info('restore entry rejected', { platform: entry.platform, error: prepared.rejection.error });
      return { kind: 'rejected' };
    }
    const recorded = await recordForUser(prepared.snapshot, userId, await binding(prepared.snapshot), deps);
    if ('rejection' in recorded) {
      logger.info('restore entry rejected', { platform: entry.platform, error: recorded.rejection.error });
      return { kind: 'rejected' };
    }
    return { kind: 'recorded', purchase: recorded.purchase };
  } catch (error) {
    // A 4xx here is about this entry alone (Attesto refused its id); anything else is transient
    // or misconfiguration, judged for the whole batch below.
    if (error instanceof AttestoCallLimitError) return { kind: 'limited', error };
    if (error instanceof RestoreCapReached) return { kind: 'capped' };
    if (error instanceof HttpError && error.statusCode < 500) return { kind: 'invalid' };
    return { kind: 'failed', error, attesto };
  }
}

/** The newer of two copies of one purchase (entries of one subscription may land in any order). */
function newer(a: Purchase, b: Purchase): Purchase {
  const order = compareApplied(a, b);
  if (order !== 0) return order > 0 ? a : b;
  return a.updatedAt >= b.updatedAt ? a : b;
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
  const owned = deps.store.purchasesOfUser(userId);
  owned.catch(() => undefined);
  const binding = bindingResolver(userId, deps);

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
  const limits = {
    deadline,
    maxAttestoCalls: options.maxAttestoCalls ?? MAX_ATTESTO_CALLS_PER_RESTORE,
  };

  const outcomes: Outcome[] = [];
  let next = 0;
  const worker = async () => {
    while (next < queue.length) {
      const entry = queue[next++] as RestoreEntry;
      if (deps.now() >= deadline) {
        outcomes.push({ kind: 'late' });
        continue;
      }
      outcomes.push(await restoreOne(entry, userId, limits, owned, binding, counts, deps));
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
  let limitedBy: AttestoCallLimitError | undefined;
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
    else if (outcome.kind === 'capped') counts.capped++;
    else if (outcome.kind === 'limited') {
      counts.limited++;
      limitedBy ??= outcome.error;
    } else counts.late++;
  }
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

  // The user's call limit refused every call that was needed: answer its 429 rather than a set
  // that lacks what the batch would have granted. Refused after some answered: best effort.
  if (limitedBy && attestoAnswered === 0) throw limitedBy;
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
