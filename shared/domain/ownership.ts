// Who may hold a purchase (README "Ownership and transfers"). Pure.
//
// The SDK sends only ids, never a device receipt, so knowing a transaction id or a purchase
// token proves nothing: they show up in support tickets, analytics and logs. What the store
// itself binds the purchase to — Apple's appAccountToken, Google's obfuscatedExternalAccountId,
// both the app's per-user UUID — is the only proof of ownership a verify carries. So:
//   - a purchase the store binds to another user is never given to the caller;
//   - a purchase the store binds to the caller is the caller's, whoever held it before;
//   - an unbound purchase goes to the first user who verifies it, and stays theirs unless the
//     stage opts in to `move`.
// A family-shared transaction is the family member's own copy (its own original transaction),
// yet Apple may carry the purchaser's appAccountToken on it, so its binding names nobody.
import type { Ownership, PurchaseTransfer } from './purchase';

/** What happens to an unbound purchase another user already holds when someone else verifies it. */
export type OwnershipPolicy = 'move' | 'keep';

export type Binding =
  /** The store binds the purchase to the caller. */
  | { kind: 'caller' }
  /** The store binds the purchase to another of this app's users. */
  | { kind: 'other'; userId: string }
  /** No binding, a UUID no user of this backend holds, or a family-shared copy. */
  | { kind: 'none' };

/**
 * The binding a verified transaction carries. `boundUserId` is the user holding the
 * transaction's appUserId UUID (undefined when there is none or nobody holds it).
 */
export function bindingOf(
  transaction: { appUserId?: string | undefined; ownership?: Ownership | undefined },
  boundUserId: string | undefined,
  callerId: string,
): Binding {
  if (transaction.ownership === 'FAMILY_SHARED' || !transaction.appUserId || !boundUserId) {
    return { kind: 'none' };
  }
  return boundUserId === callerId ? { kind: 'caller' } : { kind: 'other', userId: boundUserId };
}

/**
 * What to do when the purchase already belongs to another user: take it over (and log it) or
 * refuse the caller. Only the store's binding, or a stage that opted in to `move`, moves an
 * unbound purchase; a purchase bound to someone else never reaches this question.
 */
export function onHeldByAnother(binding: Binding, policy: OwnershipPolicy): 'take' | 'refuse' {
  if (binding.kind === 'caller') return 'take';
  if (binding.kind === 'none' && policy === 'move') return 'take';
  return 'refuse';
}

/**
 * The binding once an operator's transfer is taken into account. A transfer is an explicit
 * override of the store's binding: a binding to a UUID the transfer lists names the user the
 * purchase was moved to, so the user it was moved away from can neither take it back by verifying
 * it nor refuse it to its new owner.
 */
export function bindingAfterTransfer(
  binding: Binding,
  transfer: PurchaseTransfer | undefined,
  appUserId: string | undefined,
  callerId: string,
): Binding {
  if (binding.kind === 'none' || !transfer || !appUserId) return binding;
  if (!transfer.appUserIds.includes(appUserId.toLowerCase())) return binding;
  return transfer.userId === callerId ? { kind: 'caller' } : { kind: 'other', userId: transfer.userId };
}
