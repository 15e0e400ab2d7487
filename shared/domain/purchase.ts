// The purchase record (architecture §3) and the keys of every item in the purchases table.
import { createHash } from 'node:crypto';

export type Platform = 'apple' | 'google';
export type ProductType = 'subscription' | 'product' | 'consumable';
export type PurchaseStatus =
  | 'active'
  | 'grace'
  | 'billing_retry'
  | 'on_hold'
  | 'paused'
  | 'expired'
  | 'revoked'
  | 'refunded';
export type Environment = 'production' | 'sandbox';
export type Ownership = 'PURCHASED' | 'FAMILY_SHARED';

/**
 * The fields an event or a verify snapshot can know about a purchase. Each is an independent
 * last-writer-wins register ordered by the update's order key (see state-machine.ts), so an
 * update carries only the fields it knows and an older update can still fill what is missing.
 */
export interface PurchaseFields {
  productId: string;
  productType: ProductType;
  status: PurchaseStatus;
  /** Epoch ms; `null` = never expires (one-time products). */
  expiresAt: number | null;
  /** Epoch ms; `null` = not in a grace period. */
  gracePeriodExpiresAt: number | null;
  willRenew: boolean;
  environment: Environment;
  ownership: Ownership;
  latestTransactionId: string;
  /** The user's app-level UUID the store carried (Apple appAccountToken, Google obfuscated id). */
  appUserId: string;
}

export type PurchaseField = keyof PurchaseFields;

export const PURCHASE_FIELDS = [
  'productId',
  'productType',
  'status',
  'expiresAt',
  'gracePeriodExpiresAt',
  'willRenew',
  'environment',
  'ownership',
  'latestTransactionId',
  'appUserId',
] as const satisfies readonly PurchaseField[];

/**
 * One purchase item. Every field of PurchaseFields is optional: a webhook may create the item
 * before the verify that knows the rest (architecture §4 "webhook before verify").
 */
export interface Purchase extends Partial<PurchaseFields> {
  /** `<platform>#<subjectKey>` */
  pk: string;
  platform: Platform;
  /** Apple originalTransactionId; Google root purchaseToken. */
  subjectKey: string;
  /** The backend user who owns the purchase; absent until a verify/restore or appUserId claims it. */
  userId?: string;
  /** Upstream time (epoch ms) of the newest update applied. */
  appliedAt: number;
  /** Order key (state-machine.ts `orderKeyOf`) of the newest update applied; the store's guard. */
  appliedOrder: number;
  /**
   * Generation (state-machine.ts, "Generations") of the newest update applied, compared before
   * appliedOrder. Absent = 0, as on every purchase that never saw a Google subscription token.
   */
  appliedGen?: number;
  /** Order key of the update that last set each field. */
  fieldOrder: Partial<Record<PurchaseField, number>>;
  /** Generation of the update that last set each field; absent = 0. */
  fieldGen?: Partial<Record<PurchaseField, number>>;
  /**
   * ISO time at which the owner's data was erased: the purchase then takes no owner automatically
   * (architecture §3.9).
   */
  erasedAt?: string;
  /**
   * Set by an operator's transfer: the store's bindings to these appUserId UUIDs (the purchase's
   * own and those of the users it was moved away from) name `userId` instead, so a later verify
   * never undoes the transfer (domain/ownership.ts `bindingAfterTransfer`).
   */
  transfer?: PurchaseTransfer;
  /** ISO-8601 wall-clock times of the first and latest write. */
  createdAt: string;
  updatedAt: string;
}

/** Who an operator moved the purchase to, and which of the store's bindings that overrides. */
export interface PurchaseTransfer {
  userId: string;
  /** Lower-case UUIDs. */
  appUserIds: string[];
}

/**
 * A state change for one purchase: the fields it knows, its upstream time `t`, its order key
 * (t plus a per-kind precedence) and its generation (compared first; absent = 0). Built by
 * state-machine.ts, written by the store.
 */
export interface PurchaseUpdate {
  t: number;
  order: number;
  gen?: number;
  set: Partial<PurchaseFields>;
}

export function purchaseKey(platform: Platform, subjectKey: string): string {
  return `${platform}#${subjectKey}`;
}

export function parsePurchaseKey(pk: string): { platform: Platform; subjectKey: string } {
  const at = pk.indexOf('#');
  const platform = pk.slice(0, at);
  if (at < 1 || (platform !== 'apple' && platform !== 'google') || at === pk.length - 1) {
    throw new Error(`Not a purchase key: ${keyReference(pk)}`);
  }
  return { platform, subjectKey: pk.slice(at + 1) };
}

/**
 * Identifiers that lead to a purchase without being its key: an Apple transactionId (any
 * renewal), a Google purchaseToken (current, not root) and a Google orderId (voided purchases
 * name only these).
 */
export type AliasKind = 'apple-tx' | 'google-token' | 'google-order';

export function aliasKey(kind: AliasKind, id: string): string {
  return `alias#${kind}#${id}`;
}

const KEY_LABELS = [
  'apple',
  'google',
  'alias#apple-tx',
  'alias#google-token',
  'alias#google-order',
  'credit#apple',
  'credit#google',
];

/**
 * A short, non-reversible stand-in for a purchase key, alias or credit key, for logs and error
 * messages: `google#3fa1b2c4` (what kind of key, then the first 8 hex digits of the SHA-256 of the
 * whole key). Keys hold Google purchase tokens, which are credential-like (with the app's Play
 * credentials a token reads the purchase), so no log line carries a key itself; to find a
 * purchase's lines, compute the reference of its key.
 */
export function keyReference(key: string): string {
  const label = KEY_LABELS.find((l) => key.startsWith(`${l}#`)) ?? 'key';
  return `${label}#${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
}

/**
 * A short, non-reversible stand-in for a user id (`user#3fa1b2c4`), for logs: user ids are often
 * e-mail addresses or other personal data.
 */
export function userReference(userId: string): string {
  return `user#${createHash('sha256').update(userId).digest('hex').slice(0, 8)}`;
}

/** The consumable ledger item: one per Apple transactionId or Google purchaseToken. */
export function creditKey(platform: Platform, transactionIdOrToken: string): string {
  return `credit#${platform}#${transactionIdOrToken}`;
}

/**
 * The part of a purchase that states facts, without write bookkeeping (order keys, times).
 * Two purchases that applied the same events in any order compare equal through this.
 */
export function purchaseFactsOf(
  p: Purchase,
): Omit<Purchase, 'fieldOrder' | 'fieldGen' | 'createdAt' | 'updatedAt'> {
  const { fieldOrder: _fo, fieldGen: _fg, createdAt: _c, updatedAt: _u, ...facts } = p;
  return facts;
}
