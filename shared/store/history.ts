// The history table: one append-only record per change of a purchase, written inside the same
// transaction as the change so history can never disagree with state (architecture §3.5).
//
// How the change is known without a write that returns it: a transaction returns no item on
// success, so the writer reads the purchase first (one strongly consistent GetItem, 1 RRU), merges
// the update in memory (the same rules the guarded and stale writes apply), and writes only when
// something changes, pinned to the `rev` it read. A concurrent write fails the pin, and the item
// the failed condition hands back (ALL_OLD) is the next attempt's `current`, so contention costs
// no further read. An exact repeat (a duplicate webhook, a re-verify) therefore writes nothing.
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { numberSetting, readConfig, unlessBlank } from '../config';
import { PURCHASE_FIELDS } from '../domain/purchase';
import { historyRetentionDays } from '../setting-definitions';
import * as z from '../validation';
import { documentClient, storeError, tableName } from './dynamo-client';
import { HISTORY_BY_PREVIOUS_USER_INDEX, HISTORY_BY_USER_INDEX } from './tables';

/** What caused a change. `reconciliation` and `operator` are for tools that re-check or correct. */
export type HistorySource =
  | 'verify'
  | 'restore'
  | 'attesto-webhook'
  | 'apple-direct'
  | 'google-direct'
  | 'reconciliation'
  | 'operator';

export interface HistoryCause {
  source: HistorySource;
  /** The upstream event id (Attesto's eventId) for a webhook. */
  eventId?: string;
  /** The processed-events marker id of a webhook. */
  markerId?: string;
  /** The event kind or name that was applied (e.g. `renewed`), for reading the timeline. */
  event?: string;
  /** The calling user's id for verify and restore. */
  caller?: string;
  /** Who acted, for `operator` (and a tool's name for `reconciliation`). */
  operator?: string;
  reason?: string;
}

/** The fields a history record compares: the purchase fields and the owner. */
export const HISTORY_FIELDS = [...PURCHASE_FIELDS, 'userId'] as const;

export interface HistoryRecord {
  /** The purchase key. */
  pk: string;
  /** The purchase's write counter after the change, zero-padded: records of a purchase sort by it. */
  sk: string;
  /** ISO time of the change. */
  at: string;
  cause: HistoryCause;
  /** Only the fields that changed, as they were (null: absent) … */
  before: Record<string, unknown>;
  /** … and as they are now. */
  after: Record<string, unknown>;
  ownerBefore: string | null;
  ownerAfter: string | null;
}

/** The fields of `HISTORY_FIELDS` that differ between two stored items; undefined when none do. */
export function changedFields(
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown>,
  fields: readonly string[] = HISTORY_FIELDS,
): { before: Record<string, unknown>; after: Record<string, unknown> } | undefined {
  const b: Record<string, unknown> = {};
  const a: Record<string, unknown> = {};
  for (const field of fields) {
    const was = before?.[field] ?? null;
    const is = after[field] ?? null;
    if (was === is) continue;
    b[field] = was;
    a[field] = is;
  }
  return Object.keys(a).length > 0 ? { before: b, after: a } : undefined;
}

const REV_DIGITS = 12;

/** Days to keep a record, from the stage setting; undefined keeps it forever. */
export function historyRetention(env: NodeJS.ProcessEnv = process.env): number | undefined {
  return readConfig(retentionSchema, env).HISTORY_RETENTION_DAYS;
}

const retentionSchema = z.object({
  HISTORY_RETENTION_DAYS: unlessBlank(z.optional(numberSetting(historyRetentionDays))),
});

/**
 * The Put of one record, for the transaction that makes the change. `ownerBefore`/`ownerAfter`
 * place it in the user indexes; the condition keeps records append-only.
 */
export function historyPut(input: {
  pk: string;
  rev: number;
  now: Date;
  cause: HistoryCause;
  before: Record<string, unknown> | undefined;
  after: Record<string, unknown>;
  /** The fields compared; a grant's record compares the grant's own (shared/store/grants.ts). */
  fields?: readonly string[];
}) {
  const diff = changedFields(input.before, input.after, input.fields);
  const ownerBefore = typeof input.before?.userId === 'string' ? input.before.userId : null;
  const ownerAfter = typeof input.after.userId === 'string' ? input.after.userId : null;
  const days = historyRetention();
  const listedUnder = ownerAfter ?? ownerBefore;
  return {
    TableName: tableName('HISTORY_TABLE'),
    Item: {
      pk: input.pk,
      sk: String(input.rev).padStart(REV_DIGITS, '0'),
      at: input.now.toISOString(),
      cause: input.cause,
      before: diff?.before ?? {},
      after: diff?.after ?? {},
      ownerBefore,
      ownerAfter,
      ...(listedUnder ? { userId: listedUnder } : {}),
      ...(ownerBefore && ownerAfter && ownerBefore !== ownerAfter ? { previousUserId: ownerBefore } : {}),
      ...(days ? { ttl: Math.floor(input.now.getTime() / 1000) + days * 24 * 60 * 60 } : {}),
    },
    ConditionExpression: 'attribute_not_exists(pk)',
  };
}

export interface HistoryPage {
  records: HistoryRecord[];
  /** Pass back as `after` for the next, older page; absent on the last page. */
  next?: string;
}

const DEFAULT_LIMIT = 50;

function recordOf(item: Record<string, unknown>): HistoryRecord {
  return {
    pk: item.pk as string,
    sk: item.sk as string,
    at: item.at as string,
    cause: item.cause as HistoryCause,
    before: (item.before ?? {}) as Record<string, unknown>,
    after: (item.after ?? {}) as Record<string, unknown>,
    ownerBefore: (item.ownerBefore ?? null) as string | null,
    ownerAfter: (item.ownerAfter ?? null) as string | null,
  };
}

const encodeCursor = (key: Record<string, unknown> | undefined) =>
  key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
const decodeCursor = (cursor: string | undefined) =>
  cursor
    ? (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>)
    : undefined;

/** The history of one purchase (its key, purchaseKey(...)), newest first, `limit` per page. */
export async function historyOfPurchase(
  pk: string,
  options: { limit?: number; after?: string } = {},
): Promise<HistoryPage> {
  try {
    const page = await documentClient().send(
      new QueryCommand({
        TableName: tableName('HISTORY_TABLE'),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: options.limit ?? DEFAULT_LIMIT,
        ExclusiveStartKey: decodeCursor(options.after),
      }),
    );
    const next = encodeCursor(page.LastEvaluatedKey);
    return { records: (page.Items ?? []).map(recordOf), ...(next ? { next } : {}) };
  } catch (error) {
    throw storeError(error);
  }
}

/**
 * Every record about a user's purchases, newest first, at most `limit` (default 200): changes of
 * purchases they hold or held, and moves away from them. Read from the user indexes, which are
 * eventually consistent (a change of the last second may be missing).
 */
export async function historyOfUser(
  userId: string,
  options: { limit?: number } = {},
): Promise<HistoryRecord[]> {
  const limit = options.limit ?? 4 * DEFAULT_LIMIT;
  const query = async (indexName: string, attribute: string) => {
    const items: Record<string, unknown>[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await documentClient().send(
        new QueryCommand({
          TableName: tableName('HISTORY_TABLE'),
          IndexName: indexName,
          KeyConditionExpression: '#u = :u',
          ExpressionAttributeNames: { '#u': attribute },
          ExpressionAttributeValues: { ':u': userId },
          ScanIndexForward: false,
          Limit: limit,
          ExclusiveStartKey,
        }),
      );
      items.push(...(page.Items ?? []));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey && items.length < limit);
    return items;
  };
  try {
    const [held, movedAway] = await Promise.all([
      query(HISTORY_BY_USER_INDEX, 'userId'),
      query(HISTORY_BY_PREVIOUS_USER_INDEX, 'previousUserId'),
    ]);
    const seen = new Set<string>();
    return [...held, ...movedAway]
      .map(recordOf)
      .filter((r) => {
        const id = `${r.pk}|${r.sk}`;
        if (seen.has(id)) return false;
        seen.add(id);
        return true;
      })
      .sort((x, y) => (x.at === y.at ? y.sk.localeCompare(x.sk) : y.at.localeCompare(x.at)))
      .slice(0, limit);
  } catch (error) {
    throw storeError(error);
  }
}
