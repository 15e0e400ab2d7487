// POST /admin/resync: an operator re-verifies one purchase through Attesto now — when a webhook
// was lost or support doubts the stored state — and the answer is applied through the verify
// path's ordered, idempotent write (recordSnapshot), so a resync never moves a purchase backwards
// and one that learns nothing new writes nothing (docs/support.md, Re-sync).
import type { AttestoCallOptions, AttestoClient } from '../attesto/client';
import { appleSnapshot } from '../attesto/translate/apple-snapshot';
import { googleSnapshot } from '../attesto/translate/google-snapshot';
import { attestoGoogleType } from '../attesto/translate/google-verify-type';
import { productById } from '../domain/catalog';
import { keyReference, type Purchase } from '../domain/purchase';
import type { PurchaseSnapshot } from '../domain/snapshot';
import { updateFor } from '../domain/state-machine';
import { BadGatewayError, InvalidRequestError } from '../http/errors';
import { logger } from '../observability/logger';
import type { HistoryCause } from '../store/history';
import { recordSnapshot } from '../store/purchases';
import * as z from '../validation';
import { MAX_REFERENCE_LENGTH, type ReferenceReads } from './customer-reference';
import { purchaseSummary } from './customer-view';
import { text } from './fields';
import type { ResyncResponse } from './response-schemas';
import { purchaseOfReference } from './transfer';

export const resyncBodySchema = z.object({
  ref: text(MAX_REFERENCE_LENGTH),
  reason: z.optional(text(1000)),
});

export interface ResyncDeps {
  reads: ReferenceReads;
  attesto: () => AttestoClient;
  googlePackageName: () => string | undefined;
  callOptions?: AttestoCallOptions;
  now: () => number;
}

function notVerified(error: string, message: string | undefined): BadGatewayError {
  return new BadGatewayError(
    `Attesto did not verify the purchase (${error}${message ? `: ${message}` : ''}); nothing was written`,
  );
}

/** Attesto's current answer about the purchase, as the snapshot a verify would record. */
async function currentSnapshot(purchase: Purchase, deps: ResyncDeps): Promise<PurchaseSnapshot> {
  const attesto = deps.attesto();
  if (purchase.platform === 'apple') {
    // The newest transaction known: Apple answers about the transaction asked for.
    const transactionId = purchase.latestTransactionId ?? purchase.subjectKey;
    const result = await attesto.verifyApple({ transactionId }, deps.callOptions);
    if (!result.valid) throw notVerified(result.error, result.message);
    return appleSnapshot(result);
  }
  const productId = purchase.productId;
  const productType = productById(productId ?? '')?.type ?? purchase.productType;
  if (!productId || !productType) {
    throw new InvalidRequestError(
      'The purchase was never verified, so its product is not known and Google cannot be asked about it; the customer opens the app, which verifies it',
      [{ path: 'ref', message: 'product unknown' }],
    );
  }
  const packageName = deps.googlePackageName();
  if (!packageName) throw new Error('Invalid configuration: GOOGLE_PACKAGE_NAME is not set');
  // The purchase's key is its chain's first token; an upgraded chain answers for that token, and
  // the write's generations keep it from overriding the newer token's state.
  const result = await attesto.verifyGoogle(
    {
      packageName,
      productId,
      purchaseToken: purchase.subjectKey,
      type: attestoGoogleType(productType),
    },
    deps.callOptions,
  );
  if (!result.valid) throw notVerified(result.error, result.message);
  const outcome = googleSnapshot(result, { productId, productType }, deps.now());
  if (outcome.outcome === 'rejected') throw notVerified(outcome.error, outcome.message);
  const { linkedPurchaseToken: _linked, purchaseToken: _token, ...snapshot } = outcome.snapshot;
  return { ...snapshot, pk: purchase.pk };
}

export async function resyncByReference(
  body: z.Output<typeof resyncBodySchema>,
  operator: string,
  deps: ResyncDeps,
): Promise<ResyncResponse> {
  const purchase = await purchaseOfReference(deps.reads, body.ref);
  // Nothing is written before Attesto has answered: a failure here leaves the purchase as it was.
  const snapshot = await currentSnapshot(purchase, deps);
  const cause: HistoryCause = {
    source: 'operator',
    operator,
    event: 'resync',
    ...(body.reason ? { reason: body.reason } : {}),
  };
  // No owner (the purchase keeps its own) and no credit (a resync grants nothing new).
  const recorded = await recordSnapshot({
    pk: snapshot.pk,
    update: updateFor(snapshot.event),
    aliases: snapshot.aliases,
    cause,
  });
  // What the write itself changed, against the item it wrote over (not the copy read before Attesto
  // answered, which a webhook may have moved on since).
  const changed = recorded.changed === true;
  logger.info('operator resync', { operator, purchase: keyReference(purchase.pk), changed });
  return { changed, purchase: purchaseSummary(recorded.purchase) };
}
