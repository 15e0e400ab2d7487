// Promotional grants: items in the purchases table keyed `grant#<userId>#<key>` (architecture
// §3.1). They carry `userId`, so the byUser index lists them beside the user's purchases; the
// purchase reads skip them (no platform). Each change is one transaction with its history record.
import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type Grant, grantPk } from '../domain/grant';
import {
  cancellationOrThrow,
  documentClient,
  isContention,
  retryingWrite,
  storeError,
  tableName,
} from './dynamo-client';
import { type HistoryCause, historyPut } from './history';
import { type GrantItem, grantFromItem } from './holdings';
import { eventCauseOf, OutboxSession } from './outbox';

const purchasesTable = () => tableName('PURCHASES_TABLE');

/** What a grant's history record compares. */
const GRANT_FIELDS = ['userId', 'key', 'expiresAt', 'reason', 'revokedAt', 'revokeReason'] as const;

export { grantFromItem };

/** The grant itself: what an answer may show, without the item's key, version and write time. */
function grantOf(item: GrantItem): Grant {
  const { pk: _pk, rev: _rev, updatedAt: _updatedAt, ...grant } = item as GrantItem & { updatedAt?: string };
  return grant;
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
 * Writes the grant, its history record and, when the user's entitlement set changes, their
 * outbox event in one transaction, pinned to the version read, so a concurrent change fails this
 * one rather than being overwritten unrecorded.
 */
async function writeGrant(
  userId: string,
  key: string,
  change: (before: GrantItem | undefined) => Grant | undefined,
  cause: HistoryCause,
  now: Date,
): Promise<{ before: GrantItem | undefined; after: Grant | undefined }> {
  const pk = grantPk(userId, key);
  const outbox = new OutboxSession();
  outbox.load(userId);
  let before = await storedGrant(userId, key);
  return retryingWrite<{ before: GrantItem | undefined; after: Grant | undefined }>(
    'Writing the grant',
    async () => {
      const after = change(before);
      if (!after) return { done: { before, after } };
      const rev = (before?.rev ?? 0) + 1;
      const item = { ...after, pk, rev, updatedAt: now.toISOString() };
      const written = [
        {
          pk,
          before: before as unknown as Record<string, unknown> | undefined,
          after: item as unknown as Record<string, unknown>,
        },
      ];
      const events = await outbox.transactItems(written, eventCauseOf(cause, pk, key), now.getTime());
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
                  ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
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
              ...events.items,
            ],
          }),
        );
        return { done: { before, after } };
      } catch (error) {
        const reasons = cancellationOrThrow(error);
        let learnt = await outbox.absorb(reasons.slice(2));
        if (reasons[0]?.code === 'ConditionalCheckFailed') {
          before = reasons[0].item ? grantFromItem(reasons[0].item) : await storedGrant(userId, key);
          learnt = true;
        }
        if (learnt) return 'again';
        if (isContention(reasons)) return 'contended';
        throw error;
      }
    },
  );
}

/** Grants (or replaces the user's grant of) the key; replacing a revoked grant revives it. */
export async function putGrant(
  input: { userId: string; key: string; expiresAt: number | null; reason: string; operator: string },
  now: Date,
): Promise<Grant> {
  const grant: Grant = {
    userId: input.userId,
    key: input.key,
    expiresAt: input.expiresAt,
    reason: input.reason,
    grantedBy: input.operator,
    grantedAt: now.toISOString(),
  };
  await writeGrant(
    input.userId,
    input.key,
    () => grant,
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
  const { before, after } = await writeGrant(
    input.userId,
    input.key,
    (stored) => {
      // Never granted, or revoked already: nothing to write.
      if (!stored || stored.revokedAt) return undefined;
      return {
        ...grantOf(stored),
        revokedAt: now.toISOString(),
        revokedBy: input.operator,
        ...(input.reason ? { revokeReason: input.reason } : {}),
      };
    },
    { source: 'operator', operator: input.operator, ...(input.reason ? { reason: input.reason } : {}) },
    now,
  );
  if (!before) return undefined;
  return after ? { grant: after, changed: true } : { grant: grantOf(before), changed: false };
}
