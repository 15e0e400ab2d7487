// Which entries of a restore batch are worth an Attesto call, and in which order.
//
// An iOS batch holds every transaction the device ever saw — each renewal of each subscription
// (contract §1.8). The newest transaction of a product (highest numeric transactionId) carries
// that subscription's current state; older renewals carry nothing newer (architecture §4), so only the
// newest per product is verified. Consumables are separate purchases, so each of those counts.
// An entry for a product the catalog does not list grants nothing and is skipped without a call.
import { productById } from '../domain/catalog';
import { logger } from '../observability/logger';
import { type RestoreEntry, restoreEntryOf } from './request-schemas';
import type { RestoreCounts } from './restore-counts';

/** The entries the body holds; the ones that are not entries are counted invalid and logged. */
export function parseRestoreEntries(rawEntries: readonly unknown[], counts: RestoreCounts): RestoreEntry[] {
  const entries: RestoreEntry[] = [];
  rawEntries.forEach((value, index) => {
    const parsed = restoreEntryOf(value);
    if ('entry' in parsed) entries.push(parsed.entry);
    else {
      counts.invalid++;
      logger.info('restore entry skipped', { index, problem: parsed.problem });
    }
  });
  return entries;
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
