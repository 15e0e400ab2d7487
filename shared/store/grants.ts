// Promotional grants: items in the purchases table keyed `grant#<userId>#<key>` (architecture
// §3.1). They carry `userId`, so the byUser index lists them beside the user's purchases; the
// purchase reads skip them (no platform). Each change is one transaction with its history record.
import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type Grant, grantPk } from '../domain/grant';
import { documentClient, storeError, tableName } from './dynamo-client';
import { type HistoryCause, historyPut } from './history';

const purchasesTable = () => tableName('PURCHASES_TABLE');

/** What a grant's history record compares. */
const GRANT_FIELDS = ['userId', 'key', 'expiresAt', 'reason', 'revokedAt', 'revokeReason'] as const;

type GrantItem = Grant & { pk: string; rev: number; updatedAt?: string };

/** The grant itself: what an answer may show, without the item's key, version and write time. */
function grantOf(item: GrantItem): Grant {
  const { pk: _pk, rev: _rev, updatedAt: _updatedAt, ...grant } = item;
  return grant;
}

export function grantFromItem(item: Record<string, unknown>): GrantItem {
  return item as unknown as GrantItem;
}

async function storedGrant(userId: string, key: string): Promise<GrantItem | undefined> {
  try {
    const { Item } = await documentClient().send(
      new GetCommand({
        TableName: purchasesTable(),
        Key: { pk: grantPk(userId, key) },
        ConsistentRead: true,
      }),
    );
    return Item ? grantFromItem(Item) : undefined;
  } catch (error) {
    throw storeError(error);
  }
}

/**
 * Writes the grant and its history record in one transaction, pinned to the version read, so a
 * concurrent change fails this one rather than being overwritten unrecorded.
 */
async function writeGrant(
  before: GrantItem | undefined,
  after: Grant,
  cause: HistoryCause,
  now: Date,
): Promise<void> {
  const pk = grantPk(after.userId, after.key);
  const rev = (before?.rev ?? 0) + 1;
  const item = { ...after, pk, rev, updatedAt: now.toISOString() };
  try {
    await documentClient().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: purchasesTable(),
              Item: item,
              ...(before
                ? { ConditionExpression: '#rev = :rev', ExpressionAttributeNames: { '#rev': 'rev' } }
                : { ConditionExpression: 'attribute_not_exists(pk)' }),
              ...(before ? { ExpressionAttributeValues: { ':rev': before.rev } } : {}),
            },
          },
          {
            Put: historyPut({
              pk,
              rev,
              now,
              cause,
              before: before as unknown as Record<string, unknown> | undefined,
              after: item as unknown as Record<string, unknown>,
              fields: GRANT_FIELDS,
            }),
          },
        ],
      }),
    );
  } catch (error) {
    throw storeError(error);
  }
}

/** Grants (or replaces the user's grant of) the key; replacing a revoked grant revives it. */
export async function putGrant(
  input: { userId: string; key: string; expiresAt: number | null; reason: string; operator: string },
  now: Date,
): Promise<Grant> {
  const before = await storedGrant(input.userId, input.key);
  const grant: Grant = {
    userId: input.userId,
    key: input.key,
    expiresAt: input.expiresAt,
    reason: input.reason,
    grantedBy: input.operator,
    grantedAt: now.toISOString(),
  };
  await writeGrant(
    before,
    grant,
    { source: 'operator', operator: input.operator, reason: input.reason },
    now,
  );
  return grant;
}

/**
 * Revokes the user's grant of the key. undefined: there never was one. A grant already revoked
 * is left as it is (`changed: false`, no record), so revoking twice is harmless.
 */
export async function revokeGrant(
  input: { userId: string; key: string; reason?: string; operator: string },
  now: Date,
): Promise<{ grant: Grant; changed: boolean } | undefined> {
  const before = await storedGrant(input.userId, input.key);
  if (!before) return undefined;
  if (before.revokedAt) return { grant: grantOf(before), changed: false };
  const grant: Grant = {
    ...grantOf(before),
    revokedAt: now.toISOString(),
    revokedBy: input.operator,
    ...(input.reason ? { revokeReason: input.reason } : {}),
  };
  await writeGrant(
    before,
    grant,
    { source: 'operator', operator: input.operator, ...(input.reason ? { reason: input.reason } : {}) },
    now,
  );
  return { grant, changed: true };
}
