// GET /admin/export and POST /admin/erase: a customer's data as one document, and its erasure
// (docs/support.md, Export and erasure; architecture §3.9).
import { totalOf } from '../domain/erasure';
import { NotFoundError } from '../http/errors';
import { eraseUserData, readUserData, type UserData } from '../store/user-data';
import { uuidOfUser } from '../store/user-ids';
import * as z from '../validation';
import { text } from './fields';
import type { ErasureResponse } from './response-schemas';

/** Longer than any app's user id, shorter than DynamoDB's key limits. */
export const MAX_USER_ID_LENGTH = 512;

export const eraseBodySchema = z.object({
  userId: text(MAX_USER_ID_LENGTH),
  reason: z.optional(text(1000)),
});

/** Bumped when a field of the document changes meaning or goes away. */
export const EXPORT_VERSION = 1;

export interface UserExport extends UserData {
  version: typeof EXPORT_VERSION;
  exportedAt: string;
  userId: string;
  appUserId: string | null;
}

const SEARCHED =
  'the user-ids table, purchases and grants (byUser), credits, history (both user indexes), rate-limit counters and the outbox';

export async function exportUser(userId: string, now: Date): Promise<UserExport> {
  const uuid = await uuidOfUser(userId);
  const data = await readUserData({ userId, ...(uuid ? { uuid } : {}) });
  if (Object.values(data).every((items) => items.length === 0)) {
    throw new NotFoundError(`Nothing is stored about user id "${userId}" (searched ${SEARCHED})`);
  }
  return {
    version: EXPORT_VERSION,
    exportedAt: now.toISOString(),
    userId,
    appUserId: uuid ?? null,
    ...data,
  };
}

export async function eraseUser(
  body: z.Output<typeof eraseBodySchema>,
  operator: string,
  now: Date,
): Promise<ErasureResponse> {
  const uuid = await uuidOfUser(body.userId);
  const counts = await eraseUserData(
    { userId: body.userId, ...(uuid ? { uuid } : {}) },
    { operator, ...(body.reason ? { reason: body.reason } : {}) },
    now,
  );
  return {
    userId: body.userId,
    erased: totalOf(counts) > 0,
    erasedAt: now.toISOString(),
    counts,
  };
}
