// The steps verify and restore share: turn Attesto's answer into a snapshot (or a domain "no"),
// apply the stage's policies, and record it for the user.
import type { AppleVerifyResult, GoogleVerifyResult } from '../attesto/client';
import { appleSnapshot, type PurchaseSnapshot } from '../domain/apple-snapshot';
import { attestoGoogleType, productById } from '../domain/catalog';
import { type Entitlement, entitlementsOf } from '../domain/entitlements';
import { googleSnapshot } from '../domain/google-snapshot';
import { aliasKey, type ProductType, type Purchase, purchaseKey } from '../domain/purchase';
import { updateFor } from '../domain/state-machine';
import { InvalidRequestError } from '../http/errors';
import { withPurchase } from '../store/purchases';
import type { PurchaseDeps } from './dependencies';

export interface Rejection {
  valid: false;
  error: string;
  message: string;
}

export type Prepared = { snapshot: PurchaseSnapshot } | { rejection: Rejection };

export type Recorded = { purchase: Purchase; snapshot: PurchaseSnapshot } | { rejection: Rejection };

export interface VerifyOkAnswer {
  valid: true;
  transaction: { id: string; productId: string; expiresAt: string | null; verifiedAt: string };
  entitlements: Entitlement[];
}

export type VerifyAnswer = VerifyOkAnswer | Rejection;

export function rejection(error: string, message: string): { rejection: Rejection } {
  return { rejection: { valid: false, error, message } };
}

function sandboxRefused(
  snapshot: PurchaseSnapshot,
  deps: PurchaseDeps,
): { rejection: Rejection } | undefined {
  if (snapshot.environment === 'sandbox' && !deps.settings().allowSandboxPurchases) {
    return rejection('SANDBOX_NOT_ALLOWED', 'Sandbox purchases are not accepted by this backend');
  }
  return undefined;
}

/** Apple: Attesto's answer → snapshot, checked against the request and the stage's policies. */
export function prepareApple(
  result: AppleVerifyResult,
  request: { productId: string },
  deps: PurchaseDeps,
): Prepared {
  if (!result.valid) {
    // TRANSACTION_NOT_FOUND (permanent to the SDK: Apple has no such transaction in either
    // environment) and BUNDLE_ID_MISMATCH pass on unchanged.
    return rejection(result.error, result.message ?? 'Attesto did not verify the transaction');
  }
  const bundleId = deps.settings().appleBundleId;
  if (bundleId && result.transaction.bundleId !== bundleId) {
    return rejection(
      'BUNDLE_ID_MISMATCH',
      `The transaction belongs to another app (${result.transaction.bundleId})`,
    );
  }
  if (result.transaction.productId !== request.productId) {
    return rejection(
      'PRODUCT_MISMATCH',
      `The transaction is for ${result.transaction.productId}, not ${request.productId}`,
    );
  }
  const snapshot = appleSnapshot(result);
  return sandboxRefused(snapshot, deps) ?? { snapshot };
}

/** The product type Attesto's Google verify needs: the request's, else the catalog's. */
export function googleProductType(productId: string, requested: ProductType | undefined): ProductType {
  const type = requested ?? productById(productId)?.type;
  if (!type) {
    throw new InvalidRequestError(`Unknown product ${productId}: send its type`, [
      { path: 'type', message: 'Required for a product the catalog does not list' },
    ]);
  }
  return type;
}

export function attestoGoogleRequest(input: {
  productId: string;
  purchaseToken: string;
  packageName: string;
  type: ProductType;
}) {
  return {
    packageName: input.packageName,
    productId: input.productId,
    purchaseToken: input.purchaseToken,
    type: attestoGoogleType(input.type),
  };
}

/**
 * Google: Attesto's answer → snapshot keyed by the ROOT of its upgrade chain. The verify endpoint
 * does not walk chains (contract §4.4) while webhooks name the root, so: a token seen before
 * leads to its purchase through its alias; a new token that replaced a known one
 * (linkedPurchaseToken) joins that one's purchase; a new token replacing one we never saw starts
 * the purchase under the replaced token, which is Attesto's root for a one-step chain.
 * `ownAlias` is the token's alias lookup, started by the caller alongside the Attesto call.
 */
export async function prepareGoogle(
  result: GoogleVerifyResult,
  request: { productId: string; type: ProductType },
  ownAlias: Promise<string | undefined>,
  deps: PurchaseDeps,
): Promise<Prepared> {
  if (!result.valid) {
    // PURCHASE_NOT_FOUND stays as it is, a code the SDK retries at every launch, and is NOT
    // mapped to the permanent TRANSACTION_NOT_FOUND: Google may need ~30 s before a new token
    // can be queried, and on a permanent code the SDK acknowledges and drops the purchase, so a
    // paying user would never get access. A bogus token merely stays pending on the device and,
    // never acknowledged, is refunded by Google after three days.
    return rejection(result.error, result.message ?? 'Attesto did not verify the purchase');
  }
  const outcome = googleSnapshot(
    result,
    { productId: request.productId, productType: request.type },
    deps.now(),
  );
  if (outcome.outcome === 'rejected') return rejection(outcome.error, outcome.message);
  const { linkedPurchaseToken, purchaseToken, ...rest } = outcome.snapshot;
  const refused = sandboxRefused({ ...rest, pk: '' }, deps);
  if (refused) return refused;
  let pk = await ownAlias;
  const aliases = [...rest.aliases];
  if (!pk && linkedPurchaseToken) {
    pk =
      (await deps.store.resolveAlias(aliasKey('google-token', linkedPurchaseToken))) ??
      purchaseKey('google', linkedPurchaseToken);
    aliases.push(aliasKey('google-token', linkedPurchaseToken));
  }
  return { snapshot: { ...rest, aliases, pk: pk ?? purchaseKey('google', purchaseToken) } };
}

/**
 * Writes the snapshot for the user under the ownership policy. With `keep`, a purchase that
 * another user already owns stays theirs and this user gets ALREADY_OWNED — a code the SDK does
 * not treat as permanent, so the purchase is neither acknowledged nor dropped on the device.
 */
export async function recordForUser(
  snapshot: PurchaseSnapshot,
  userId: string,
  deps: PurchaseDeps,
): Promise<Recorded> {
  const { purchase } = await deps.store.recordSnapshot({
    pk: snapshot.pk,
    update: updateFor(snapshot.event),
    userId,
    ownershipPolicy: deps.settings().ownershipPolicy,
    aliases: snapshot.aliases,
    ...(snapshot.credit ? { credit: snapshot.credit } : {}),
  });
  if (purchase.userId !== userId) {
    return rejection('ALREADY_OWNED', 'This purchase belongs to another account');
  }
  return { purchase, snapshot };
}

/**
 * Records and answers one verify. The user's purchases are read while the write runs (two
 * sequential DynamoDB round trips in all) and the written item is merged in, so the answer holds
 * what was just granted however far the byUser index lags.
 */
export async function answerVerify(
  prepared: Prepared,
  userId: string,
  deps: PurchaseDeps,
): Promise<VerifyAnswer> {
  if ('rejection' in prepared) return prepared.rejection;
  const [recorded, owned] = await Promise.all([
    recordForUser(prepared.snapshot, userId, deps),
    deps.store.purchasesOfUser(userId),
  ]);
  if ('rejection' in recorded) return recorded.rejection;
  const now = deps.now();
  return {
    valid: true,
    transaction: { ...recorded.snapshot.transaction, verifiedAt: new Date(now).toISOString() },
    entitlements: entitlementsOf(
      withPurchase(owned, recorded.purchase, userId),
      now,
      deps.settings().entitlementPolicy,
    ),
  };
}
