// The steps verify and restore share: turn Attesto's answer into a snapshot (or a domain "no"),
// apply the stage's policies, and record it for the user.
import type {
  AppleVerifyResult,
  AttestoCallOptions,
  AttestoClient,
  GoogleVerifyResult,
} from '../attesto/client';
import { appleSnapshot } from '../attesto/translate/apple-snapshot';
import { googleSnapshot } from '../attesto/translate/google-snapshot';
import { attestoGoogleType } from '../attesto/translate/google-verify-type';
import { productById } from '../domain/catalog';
import { type Entitlement, entitlementsOf } from '../domain/entitlements';
import { type Binding, bindingAfterTransfer, bindingOf, onHeldByAnother } from '../domain/ownership';
import {
  keyReference,
  type ProductType,
  type Purchase,
  purchaseKey,
  userReference,
} from '../domain/purchase';
import type { PurchaseSnapshot } from '../domain/snapshot';
import { updateFor } from '../domain/state-machine';
import { InvalidRequestError } from '../http/errors';
import { logger } from '../observability/logger';
import { type Holdings, withPurchase } from '../store/purchases';
import type { PurchaseDeps } from './dependencies';
import { googleChainRoot } from './google-chain';

export interface Rejection {
  valid: false;
  error: string;
  message: string;
}

export type Prepared = { snapshot: PurchaseSnapshot } | { rejection: Rejection };

export type Recorded =
  | { purchase: Purchase; snapshot: PurchaseSnapshot; holdings?: Holdings }
  | { rejection: Rejection };

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
  if (snapshot.environment === 'sandbox' && !deps.settings().entitlementPolicy.allowSandboxPurchases) {
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
    // Never names the transaction's product: the caller may not own it.
    return rejection('PRODUCT_MISMATCH', `The transaction is not for ${request.productId}`);
  }
  const snapshot = appleSnapshot(result);
  return sandboxRefused(snapshot, deps) ?? { snapshot };
}

/**
 * The product type Attesto's Google verify needs: the catalog's for every product it lists (a
 * request calling a non-consumable `consumable` must not turn the owner's unlock into a credit);
 * the request's only for a product the catalog does not list.
 */
export function googleProductType(productId: string, requested: ProductType | undefined): ProductType {
  const type = productById(productId)?.type ?? requested;
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
 * leads to its purchase through its alias; a new token joins the purchase of the chain it
 * extends (google-chain.ts), asking Google through `chain.attesto` only about replaced tokens
 * never seen here. `ownAlias` is the token's alias lookup, started alongside the Attesto call.
 */
export async function prepareGoogle(
  result: GoogleVerifyResult,
  request: { productId: string; type: ProductType; packageName: string },
  ownAlias: Promise<string | undefined>,
  chain: { attesto: AttestoClient; callOptions?: AttestoCallOptions },
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
    const root = await googleChainRoot(linkedPurchaseToken, {
      resolveAlias: deps.store.resolveAlias,
      attesto: chain.attesto,
      packageName: request.packageName,
      subscriptionId: request.productId,
      ...(chain.callOptions ? { callOptions: chain.callOptions } : {}),
    });
    pk = root.pk;
    aliases.push(...root.aliases);
  }
  return { snapshot: { ...rest, aliases, pk: pk ?? purchaseKey('google', purchaseToken) } };
}

/** Finds who the store binds a verified transaction to (domain/ownership.ts). */
export type BindingResolver = (snapshot: PurchaseSnapshot) => Promise<Binding>;

/**
 * A resolver for one request. The caller's own UUID is read once, alongside the Attesto call,
 * so the common case (the caller's own purchase) adds no round trip; only a UUID that is not the
 * caller's is looked up.
 */
export function bindingResolver(callerId: string, deps: PurchaseDeps): BindingResolver {
  const own = deps.store.uuidOfUser(callerId);
  // Settled here so a failing read never becomes an unhandled rejection while Attesto answers.
  own.catch(() => undefined);
  return async (snapshot) => {
    const { ownership } = snapshot.event.fields;
    const appUserId = snapshot.event.fields.appUserId?.toLowerCase();
    if (!appUserId || ownership === 'FAMILY_SHARED')
      return bindingOf({ appUserId, ownership }, undefined, callerId);
    if (appUserId === (await own)?.toLowerCase())
      return bindingOf({ appUserId, ownership }, callerId, callerId);
    // Another user's UUID: the purchase is read beside the lookup, in case an operator moved it
    // (a transfer overrides the store's binding), so this costs no extra round trip.
    const [bound, stored] = await Promise.all([
      deps.store.userIdOfUuid(appUserId),
      deps.store.getPurchase(snapshot.pk),
    ]);
    return bindingAfterTransfer(
      bindingOf({ appUserId, ownership }, bound, callerId),
      stored?.transfer,
      appUserId,
      callerId,
    );
  };
}

const ALREADY_OWNED = () => rejection('ALREADY_OWNED', 'This purchase belongs to another account');
const ERASED_OWNER = () =>
  rejection(
    'ALREADY_OWNED',
    'This purchase belonged to an account that was deleted; support can move it to this account',
  );

/**
 * Writes the snapshot for the user, who claims the purchase. A purchase the store binds to
 * another user is refused without a write. A claim on a purchase another user holds writes
 * nothing; the caller then takes it only when the store binds it to them or the stage opted in
 * to `move` for unbound purchases, and every such move is logged. The refusal is ALREADY_OWNED,
 * a code the SDK does not treat as permanent: the purchase stays unacknowledged on the device,
 * so if its real owner never verifies it Google refunds it rather than the payer losing out.
 */
export async function recordForUser(
  snapshot: PurchaseSnapshot,
  userId: string,
  storeBinding: Binding,
  deps: PurchaseDeps,
  source: 'verify' | 'restore' = 'verify',
  holdings?: Promise<Holdings>,
): Promise<Recorded> {
  const appUserId = snapshot.event.fields.appUserId;
  let binding = storeBinding;
  if (binding.kind === 'other') {
    logger.info('Verify refused: the store binds the purchase to another user', {
      purchase: keyReference(snapshot.pk),
    });
    return ALREADY_OWNED();
  }
  const record = (mode: 'claim' | 'set') =>
    deps.store.recordSnapshot({
      pk: snapshot.pk,
      update: updateFor(snapshot.event),
      owner: { userId, mode },
      aliases: snapshot.aliases,
      ...(snapshot.credit ? { credit: snapshot.credit } : {}),
      cause: { source, caller: userId, ...(mode === 'set' ? { reason: 'moved from another user' } : {}) },
      ...(holdings ? { holdings } : {}),
    });
  let outcome = await record('claim');
  if (outcome.purchase.erasedAt !== undefined && outcome.purchase.userId !== userId) {
    // The store's facts were recorded, the owner was not (architecture §3.9): only an operator
    // gives an erased customer's purchase a new owner.
    logger.info('Verify refused: the purchase belonged to an erased customer', {
      purchase: keyReference(snapshot.pk),
    });
    return ERASED_OWNER();
  }
  if (outcome.heldBy !== undefined) {
    // The store binds it to the caller, but an operator may have moved it away from them since.
    binding = bindingAfterTransfer(binding, outcome.purchase.transfer, appUserId, userId);
    if (onHeldByAnother(binding, deps.settings().ownershipPolicy) === 'refuse') return ALREADY_OWNED();
    logger.warn('Purchase moved to another user', {
      purchase: keyReference(snapshot.pk),
      from: userReference(outcome.heldBy),
      to: userReference(userId),
      because: binding.kind === 'caller' ? 'the store binds it to the new user' : 'OWNERSHIP_POLICY=move',
    });
    outcome = await record('set');
  }
  return {
    purchase: outcome.purchase,
    snapshot,
    ...(outcome.holdings ? { holdings: outcome.holdings } : {}),
  };
}

/**
 * Records and answers one verify. The user's purchases are read while the binding is checked
 * and the write runs (two sequential DynamoDB round trips in all; one more when the purchase
 * carries a UUID that is not the caller's) and the written item is merged in, so the answer
 * holds what was just granted however far the byUser index lags.
 */
export async function answerVerify(
  prepared: Prepared,
  userId: string,
  binding: BindingResolver,
  deps: PurchaseDeps,
): Promise<VerifyAnswer> {
  if ('rejection' in prepared) return prepared.rejection;
  const { snapshot } = prepared;
  const holdings = deps.store.holdingsOfUser(userId);
  holdings.catch(() => undefined);
  const recorded = await binding(snapshot).then((bound) =>
    recordForUser(snapshot, userId, bound, deps, 'verify', holdings),
  );
  if ('rejection' in recorded) {
    // Not left running past the answer: its failure would otherwise surface nowhere.
    await holdings.catch(() => undefined);
    return recorded.rejection;
  }
  // The write's own view of the holdings when it changed the purchase (the outbox derived the
  // event from it); otherwise the index's copy with the purchase as written merged in.
  const { purchases, grants } = recorded.holdings ?? {
    ...(await holdings),
    purchases: withPurchase((await holdings).purchases, recorded.purchase, userId),
  };
  const now = deps.now();
  return {
    valid: true,
    transaction: { ...recorded.snapshot.transaction, verifiedAt: new Date(now).toISOString() },
    entitlements: entitlementsOf(purchases, now, deps.settings().entitlementPolicy, undefined, grants),
  };
}
