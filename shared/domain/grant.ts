// A promotional grant: an operator gives a user one entitlement key until a time (or for good),
// with a reason. Stored next to the user's purchases (architecture §3.1) and read with them, so
// every entitlement answer includes it.

export interface Grant {
  userId: string;
  /** The entitlement key the catalog defines. */
  key: string;
  /** Epoch ms when it ends; null = never. */
  expiresAt: number | null;
  reason: string;
  /** The IAM principal who granted it ('local' under `npm start`). */
  grantedBy: string;
  grantedAt: string;
  /** Set once revoked: a revoked grant gives nothing, and stays on record. */
  revokedAt?: string;
  revokedBy?: string;
  revokeReason?: string;
}

const GRANT_PREFIX = 'grant#';

/** The purchases-table key of a user's grant of one key. */
export function grantPk(userId: string, key: string): string {
  return `${GRANT_PREFIX}${userId}#${key}`;
}

export function isGrantPk(pk: string): boolean {
  return pk.startsWith(GRANT_PREFIX);
}

/** The productId a grant shows in entitlement answers: never a store product id. */
export function grantProductId(key: string): string {
  return `grant:${key}`;
}

/** True when the grant gives its key at `now` (epoch ms). */
export function grantIsLive(grant: Grant, now: number): boolean {
  return !grant.revokedAt && (grant.expiresAt === null || grant.expiresAt > now);
}
