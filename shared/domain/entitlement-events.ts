// The outbound `entitlements.changed` event (docs/events.md): after every change of a user's
// entitlement set, the whole set after the change and a per-user sequence number, so a receiver
// keeps the newest sequence per user and is right in any order of arrival, with duplicates.
import { createHash } from 'node:crypto';
import type { Entitlement } from './entitlements';

export const ENTITLEMENTS_CHANGED = 'entitlements.changed';

/** What caused a change, as the event tells it: nothing that identifies a store credential. */
export interface EventCause {
  /** verify, restore, attesto-webhook, apple-direct, google-direct, reconciliation, operator. */
  source: string;
  /** The upstream event id of a webhook or store notification. */
  eventId?: string;
  /** keyReference(...) of the purchase that changed; absent for a grant. */
  purchase?: string;
  /** The grant's entitlement key, for an operator's grant or revocation. */
  grant?: string;
  /** The operator's reason, where there is one. */
  reason?: string;
}

export interface EntitlementsChangedEvent {
  type: typeof ENTITLEMENTS_CHANGED;
  /** When the event was produced (the change's time). */
  timestamp: string;
  data: {
    /** The user's appUserId UUID; null when none was ever minted for them. */
    appUserId: string | null;
    /** The JWT `sub`. */
    userId: string;
    /** 1 for the user's first event, then +1 per change, no gaps. */
    sequence: number;
    /** Exactly what GET /api/iap/entitlements answers at this sequence. */
    entitlements: Entitlement[];
    /** The set the previous event carried ([] before the first). */
    previous: Entitlement[];
    cause: EventCause;
    occurredAt: string;
  };
}

/**
 * Two entitlement sets are the same when a receiver could not tell them apart: same keys, and for
 * each the same product, expiry, status, renewal and source. Both come from entitlementsOf, sorted
 * by key, but the comparison does not rely on it.
 */
export function sameEntitlements(a: readonly Entitlement[], b: readonly Entitlement[]): boolean {
  if (a.length !== b.length) return false;
  const canonical = (set: readonly Entitlement[]) =>
    [...set]
      .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))
      .map((e) =>
        JSON.stringify([
          e.key,
          e.productId,
          e.expiresAt,
          e.status,
          e.willRenew,
          e.platform,
          e.environment,
          e.source,
        ]),
      );
  const left = canonical(a);
  const right = canonical(b);
  return left.every((entry, i) => entry === right[i]);
}

/**
 * The event's id, stable per (user, sequence) so every retry of one event carries the same
 * Standard Webhooks `webhook-id`. A hash, so the id never shows the user id (often an e-mail
 * address) to whoever sees only the headers; URL-safe and short.
 */
export function eventIdOf(userId: string, sequence: number): string {
  const digest = createHash('sha256').update(`${userId}\u0000${sequence}`).digest('base64url');
  return `evt_${digest.slice(0, 32)}`;
}

/** The event for the user's change number `sequence`, at `now` (epoch ms). */
export function entitlementsChangedEvent(input: {
  userId: string;
  appUserId: string | undefined;
  sequence: number;
  entitlements: readonly Entitlement[];
  previous: readonly Entitlement[];
  cause: EventCause;
  now: number;
}): EntitlementsChangedEvent {
  const at = new Date(input.now).toISOString();
  return {
    type: ENTITLEMENTS_CHANGED,
    timestamp: at,
    data: {
      appUserId: input.appUserId ?? null,
      userId: input.userId,
      sequence: input.sequence,
      entitlements: [...input.entitlements],
      previous: [...input.previous],
      cause: input.cause,
      occurredAt: at,
    },
  };
}
