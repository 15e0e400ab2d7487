// One entry of a restore batch: known already, or verified through Attesto and recorded for the
// user. Every Attesto call, the ones an upgrade chain's walk makes included, is taken from the
// restore's call budget first.
import type { AttestoClient } from '../attesto/client';
import { productById } from '../domain/catalog';
import { aliasKey, type Purchase } from '../domain/purchase';
import { HttpError } from '../http/errors';
import { logger } from '../observability/logger';
import type { Holdings } from '../store/purchases';
import { AttestoCallLimitError, attestoFor } from './attesto-call-limit';
import type { PurchaseDeps } from './dependencies';
import type { RestoreEntry } from './request-schemas';
import type { RestoreCounts } from './restore-counts';
import {
  attestoGoogleRequest,
  type BindingResolver,
  type Prepared,
  prepareApple,
  prepareGoogle,
  recordForUser,
} from './verification';
import { packageNameFor } from './verify-google';

export type EntryOutcome =
  | { kind: 'recorded'; purchase: Purchase }
  | { kind: 'known' | 'rejected' | 'invalid' | 'late' | 'capped' }
  | { kind: 'failed'; error: unknown; attesto: boolean }
  /** The user's Attesto call limit refused the call; skipped like a capped entry. */
  | { kind: 'limited'; error: AttestoCallLimitError };

/** What every entry of one restore shares. */
export interface RestoreContext {
  userId: string;
  deadline: number;
  /** Takes one call from the restore's budget; false once it is spent. */
  takeCall: () => boolean;
  /** The user's purchases as they were when the restore started. */
  owned: Promise<Purchase[]>;
  /** The same read, whole: the outbox derives each entry's event from it. */
  holdings?: Promise<Holdings>;
  binding: BindingResolver;
  deps: PurchaseDeps;
}

/** The restore made its MAX_ATTESTO_CALLS_PER_RESTORE calls in the middle of an entry. */
class RestoreCapReached extends Error {}

/**
 * The call budget of one restore. Checked and counted with no await in between, so concurrent
 * entries never pass the cap.
 */
export function callBudget(counts: RestoreCounts, maxAttestoCalls: number): () => boolean {
  return () => {
    if (counts.attestoCalls >= maxAttestoCalls) return false;
    counts.attestoCalls++;
    return true;
  };
}

type Apple = Extract<RestoreEntry, { platform: 'apple' }>;
type Google = Extract<RestoreEntry, { platform: 'google' }>;
/** An entry ready to record, or why it goes no further. */
type Verified = { prepared: Prepared } | { skipped: EntryOutcome };

async function verifyApple(entry: Apple, context: RestoreContext, called: () => void): Promise<Verified> {
  const { deadline, deps } = context;
  if (!context.takeCall()) return { skipped: { kind: 'capped' } };
  called();
  const result = await attestoFor(context.userId, deps).verifyApple(
    { transactionId: entry.transactionId },
    { deadline },
  );
  return { prepared: prepareApple(result, entry, deps) };
}

async function verifyGoogle(
  entry: Google,
  ownAlias: Promise<string | undefined>,
  context: RestoreContext,
  called: () => void,
): Promise<Verified> {
  const { deadline, deps } = context;
  const pkg = packageNameFor(entry.packageName, deps);
  if ('rejection' in pkg) return { skipped: { kind: 'rejected' } };
  // The catalog's type wins, as at verify; entries for unlisted products never get here.
  const type = productById(entry.productId)?.type ?? entry.type;
  if (!type) return { skipped: { kind: 'invalid' } };
  if (!context.takeCall()) return { skipped: { kind: 'capped' } };
  called();
  const client = attestoFor(context.userId, deps);
  const result = await client.verifyGoogle(
    attestoGoogleRequest({ ...entry, packageName: pkg.packageName, type }),
    { deadline },
  );
  // Walking an upgrade chain back asks Google about replaced tokens: those calls count too.
  const chainClient: AttestoClient = {
    verifyApple: (request, options) => client.verifyApple(request, options),
    verifyGoogle: (request, options) => {
      if (!context.takeCall()) throw new RestoreCapReached();
      return client.verifyGoogle(request, options);
    },
  };
  const prepared = await prepareGoogle(
    result,
    { productId: entry.productId, type, packageName: pkg.packageName },
    ownAlias,
    { attesto: chainClient, callOptions: { deadline } },
    deps,
  );
  return { prepared };
}

async function record(
  entry: RestoreEntry,
  prepared: Prepared,
  context: RestoreContext,
): Promise<EntryOutcome> {
  const { userId, deps } = context;
  if ('rejection' in prepared) {
    logger.info('restore entry rejected', { platform: entry.platform, error: prepared.rejection.error });
    return { kind: 'rejected' };
  }
  const recorded = await recordForUser(
    prepared.snapshot,
    userId,
    await context.binding(prepared.snapshot),
    deps,
    'restore',
    context.holdings,
  );
  if ('rejection' in recorded) {
    logger.info('restore entry rejected', { platform: entry.platform, error: recorded.rejection.error });
    return { kind: 'rejected' };
  }
  return { kind: 'recorded', purchase: recorded.purchase };
}

export async function restoreEntry(entry: RestoreEntry, context: RestoreContext): Promise<EntryOutcome> {
  const { deps } = context;
  let attesto = false;
  const called = () => {
    attesto = true;
  };
  const alias =
    entry.platform === 'apple'
      ? aliasKey('apple-tx', entry.transactionId)
      : aliasKey('google-token', entry.purchaseToken);
  try {
    const ownAlias = deps.store.resolveAlias(alias);
    const target = await ownAlias;
    if (target && (await context.owned).some((p) => p.pk === target)) return { kind: 'known' };
    if (deps.now() >= context.deadline) return { kind: 'late' };
    const verified =
      entry.platform === 'apple'
        ? await verifyApple(entry, context, called)
        : await verifyGoogle(entry, ownAlias, context, called);
    if ('skipped' in verified) return verified.skipped;
    return await record(entry, verified.prepared, context);
  } catch (error) {
    // A 4xx here is about this entry alone (Attesto refused its id); anything else is transient
    // or misconfiguration, judged for the whole batch by the restore.
    if (error instanceof AttestoCallLimitError) return { kind: 'limited', error };
    if (error instanceof RestoreCapReached) return { kind: 'capped' };
    if (error instanceof HttpError && error.statusCode < 500) return { kind: 'invalid' };
    return { kind: 'failed', error, attesto };
  }
}
