// POST /admin/grants and /admin/grants/revoke: an operator's promotional grant of one
// entitlement key, and its revocation (docs/support.md, Grants).
import { type Catalog, catalog as defaultCatalog } from '../domain/catalog';
import type { Grant } from '../domain/grant';
import { InvalidRequestError, NotFoundError } from '../http/errors';
import { putGrant, revokeGrant } from '../store/grants';
import * as z from '../validation';
import { text } from './fields';
import { MAX_USER_ID_LENGTH } from './user-data';

export const grantBodySchema = z.object({
  userId: text(MAX_USER_ID_LENGTH),
  key: text(200),
  /** ISO-8601 time, or 'never'. */
  until: text(64),
  reason: text(1000),
});

export const revokeGrantBodySchema = z.object({
  userId: text(MAX_USER_ID_LENGTH),
  key: text(200),
  reason: z.optional(text(1000)),
});

/** Every entitlement key the catalog defines, sorted. */
export function knownKeys(from: Catalog = defaultCatalog): string[] {
  return [...new Set(from.products.flatMap((p) => p.entitlements))].sort();
}

function checkKey(key: string, from: Catalog): void {
  const known = knownKeys(from);
  if (!known.includes(key)) {
    throw new InvalidRequestError(
      `Unknown entitlement key "${key}"; the catalog defines: ${known.join(', ')}`,
      [{ path: 'key', message: `not in the catalog (known: ${known.join(', ')})` }],
    );
  }
}

/** 'never' → null; an ISO-8601 time → epoch ms. A time already past is allowed: it grants nothing. */
function parseUntil(until: string): number | null {
  if (until === 'never') return null;
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(until) ? Date.parse(until) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new InvalidRequestError(`"until" must be an ISO-8601 time (e.g. 2027-01-31T00:00:00Z) or "never"`, [
      { path: 'until', message: 'not an ISO-8601 time or "never"' },
    ]);
  }
  return ms;
}

export async function grantEntitlement(
  body: z.Output<typeof grantBodySchema>,
  operator: string,
  now: Date,
  from: Catalog = defaultCatalog,
): Promise<{ grant: Grant }> {
  checkKey(body.key, from);
  const expiresAt = parseUntil(body.until);
  const grant = await putGrant(
    { userId: body.userId, key: body.key, expiresAt, reason: body.reason, operator },
    now,
  );
  return { grant };
}

export async function revokeEntitlementGrant(
  body: z.Output<typeof revokeGrantBodySchema>,
  operator: string,
  now: Date,
  from: Catalog = defaultCatalog,
): Promise<{ grant: Grant; changed: boolean }> {
  checkKey(body.key, from);
  const revoked = await revokeGrant({ ...body, operator }, now);
  if (!revoked) throw new NotFoundError(`No grant of "${body.key}" to user "${body.userId}" exists`);
  return revoked;
}
