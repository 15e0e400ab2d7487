// POST /admin/transfer: an operator moves a purchase to another user — the customer's new account
// — with a reason (docs/support.md, Transfers). The purchase is named by any reference the lookup
// accepts that leads to a purchase; a reference naming a user is refused, since a user may hold
// several purchases.
import { keyReference, userReference } from '../domain/purchase';
import { InvalidRequestError, NotFoundError } from '../http/errors';
import { logger } from '../observability/logger';
import { transferPurchase } from '../store/transfers';
import * as z from '../validation';
import {
  MAX_REFERENCE_LENGTH,
  notFoundMessage,
  REFERENCE_KINDS,
  type ReferenceReads,
  resolveReference,
} from './customer-reference';
import { purchaseSummary } from './customer-view';
import { text } from './fields';
import type { TransferResponse } from './response-schemas';
import { MAX_USER_ID_LENGTH } from './user-data';

export const transferBodySchema = z.object({
  ref: text(MAX_REFERENCE_LENGTH),
  toUserId: text(MAX_USER_ID_LENGTH),
  reason: text(1000),
});

const PURCHASE_KINDS = REFERENCE_KINDS.filter((k) => k.kind !== 'userId' && k.kind !== 'appUserId');

/** The purchase a reference names; 404 when nothing is known by it, 400 when it names a user. */
export async function purchaseOfReference(reads: ReferenceReads, ref: string) {
  const found = await resolveReference(reads, ref);
  if (!found) throw new NotFoundError(notFoundMessage(ref));
  if (!('purchase' in found)) {
    const label = REFERENCE_KINDS.find((k) => k.kind === found.kind)?.label ?? found.kind;
    throw new InvalidRequestError(
      `"${ref}" names a user (${label}), not a purchase; pass a purchase reference: ${PURCHASE_KINDS.map((k) => k.label).join(', ')} (npm run admin -- customer <ref> lists the user's purchases)`,
      [{ path: 'ref', message: 'names a user, not a purchase' }],
    );
  }
  return found.purchase;
}

export async function transferByReference(
  body: z.Output<typeof transferBodySchema>,
  operator: string,
  reads: ReferenceReads,
  now: Date,
): Promise<TransferResponse> {
  const purchase = await purchaseOfReference(reads, body.ref);
  const from = purchase.userId ?? null;
  const fromUuid = from ? await reads.uuidOfUser(from) : undefined;
  const result = await transferPurchase(
    {
      pk: purchase.pk,
      toUserId: body.toUserId,
      ...(fromUuid ? { fromUuid } : {}),
      operator,
      reason: body.reason,
    },
    now,
  );
  if (result.outcome === 'missing') throw new NotFoundError(notFoundMessage(body.ref));
  if (result.outcome === 'unchanged') {
    return { changed: false, from, to: body.toUserId, purchase: purchaseSummary(result.purchase) };
  }
  // References, never the ids: user ids and purchase keys can be personal data or tokens.
  logger.info('operator transfer', {
    operator,
    purchase: keyReference(purchase.pk),
    ...(result.before.userId ? { from: userReference(result.before.userId) } : {}),
    to: userReference(body.toUserId),
  });
  return {
    changed: true,
    from: result.before.userId ?? null,
    to: body.toUserId,
    purchase: purchaseSummary(result.after),
  };
}
