// Everything stored about one user, table by table: read for an export, erased for a deletion
// request (architecture §3.9). `ERASURE_STEPS` is the one list of what an erasure touches; a new
// table that holds user ids gets its step there.
//
// Large users and interruptions: every query and scan pages to the end, deletes go in batches of
// 25, and each step only removes or rewrites what still names the user, so running the erasure
// again after a failure (or a timeout) finishes the job. The user-ids step runs last because the
// uuid it holds is how the other steps recognise what names the user.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  BatchWriteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type EntitlementsChangedEvent,
  entitlementsChangedEvent,
  eventIdOf,
} from '../domain/entitlement-events';
import type { Entitlement } from '../domain/entitlements';
import { ERASED, type ErasureCounts, emptyCounts, scrubIdentifiers, totalOf } from '../domain/erasure';
import { isGrantPk } from '../domain/grant';
import { aliasKey, keyReference, parsePurchaseKey } from '../domain/purchase';
import { ServiceUnavailableError } from '../http/errors';
import { documentClient, isConditionFailure, storeError, tableName } from './dynamo-client';
import { historyRetention } from './history';
import { outboxPk } from './outbox';
import { ERASED_AT, isPurchaseItem } from './purchase-writes';
import {
  BY_USER_INDEX,
  HISTORY_BY_PREVIOUS_USER_INDEX,
  HISTORY_BY_USER_INDEX,
  type TableDef,
} from './tables';
import { userItemKey, uuidItemKey } from './user-ids';

type Item = Record<string, unknown>;

/** Whose data: the user id and, when one was minted, their appUserId uuid. */
export interface Subject {
  userId: string;
  uuid?: string;
}

const rateLimitPrefix = (userId: string) => `attesto-calls#${userId}#`;

async function queryAll(input: ConstructorParameters<typeof QueryCommand>[0]): Promise<Item[]> {
  const items: Item[] = [];
  let ExclusiveStartKey: Item | undefined;
  do {
    const page = await documentClient().send(new QueryCommand({ ...input, ExclusiveStartKey }));
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

/**
 * A filtered scan to the end. Used only where no key leads to the items (rate-limit counters,
 * credits and other users' purchases naming the uuid): an erasure is rare, and a missed item
 * would be personal data kept against a deletion request.
 */
async function scanAll(
  envVar: TableDef['envVar'],
  filter: string,
  names: Record<string, string>,
  values: Record<string, unknown>,
): Promise<Item[]> {
  const items: Item[] = [];
  let ExclusiveStartKey: Item | undefined;
  do {
    const page = await documentClient().send(
      new ScanCommand({
        TableName: tableName(envVar),
        FilterExpression: filter,
        ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
        ExpressionAttributeValues: values,
        ExclusiveStartKey,
      }),
    );
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

const BATCH = 25;
const MAX_BATCH_ATTEMPTS = 8;

/** Deletes the items with these keys, 25 per BatchWriteItem, retrying what DynamoDB leaves over. */
async function deleteAll(envVar: TableDef['envVar'], keys: Item[]): Promise<void> {
  const table = tableName(envVar);
  for (let i = 0; i < keys.length; i += BATCH) {
    let requests = keys.slice(i, i + BATCH).map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt === MAX_BATCH_ATTEMPTS) {
        throw new ServiceUnavailableError('The store is busy: run the erasure again shortly', 5);
      }
      if (attempt > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      const out = await documentClient().send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
      requests = (out.UnprocessedItems?.[table] ?? []) as typeof requests;
    }
  }
}

// ---------------------------------------------------------------- reads

async function userIdItems(subject: Subject): Promise<Item[]> {
  const keys = [userItemKey(subject.userId), ...(subject.uuid ? [uuidItemKey(subject.uuid)] : [])];
  const items = await Promise.all(
    keys.map((pk) =>
      documentClient().send(
        new GetCommand({ TableName: tableName('USER_IDS_TABLE'), Key: { pk }, ConsistentRead: true }),
      ),
    ),
  );
  return items.flatMap((r) => (r.Item ? [r.Item] : []));
}

/** The purchases-table items that name the user: owned purchases and grants (byUser), then credits and purchases naming the uuid. */
async function purchaseTableItems(subject: Subject): Promise<{ owned: Item[]; naming: Item[] }> {
  const owned = await queryAll({
    TableName: tableName('PURCHASES_TABLE'),
    IndexName: BY_USER_INDEX,
    KeyConditionExpression: '#u = :u',
    ExpressionAttributeNames: { '#u': 'userId' },
    ExpressionAttributeValues: { ':u': subject.userId },
  });
  // An operator's transfer names the new owner and the old owners' uuids (Purchase.transfer).
  const naming = await scanAll(
    'PURCHASES_TABLE',
    subject.uuid
      ? '#c = :u OR #t.userId = :u OR #a = :uuid OR contains(#t.appUserIds, :uuid)'
      : '#c = :u OR #t.userId = :u',
    { '#c': 'creditedTo', '#t': 'transfer', ...(subject.uuid ? { '#a': 'appUserId' } : {}) },
    { ':u': subject.userId, ...(subject.uuid ? { ':uuid': subject.uuid } : {}) },
  );
  const ownedKeys = new Set(owned.map((i) => i.pk));
  return { owned, naming: naming.filter((i) => !ownedKeys.has(i.pk)) };
}

/** Every history record that lists the user in either index, plus every record of their purchases. */
async function historyItems(subject: Subject, purchasePks: readonly string[]): Promise<Item[]> {
  const table = tableName('HISTORY_TABLE');
  const byIndex = (IndexName: string, attribute: string) =>
    queryAll({
      TableName: table,
      IndexName,
      KeyConditionExpression: '#u = :u',
      ExpressionAttributeNames: { '#u': attribute },
      ExpressionAttributeValues: { ':u': subject.userId },
    });
  const byPurchase = (pk: string) =>
    queryAll({
      TableName: table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      ConsistentRead: true,
    });
  const lists = await Promise.all([
    byIndex(HISTORY_BY_USER_INDEX, 'userId'),
    byIndex(HISTORY_BY_PREVIOUS_USER_INDEX, 'previousUserId'),
    ...purchasePks.map(byPurchase),
  ]);
  const seen = new Map<string, Item>();
  for (const item of lists.flat()) seen.set(`${item.pk}|${item.sk}`, item);
  return [...seen.values()].sort((a, b) => String(a.at).localeCompare(String(b.at)));
}

async function rateLimitItems(subject: Subject): Promise<Item[]> {
  const prefix = rateLimitPrefix(subject.userId);
  const items = await scanAll('RATE_LIMITS_TABLE', 'begins_with(pk, :p)', {}, { ':p': prefix });
  // `attesto-calls#<id>#<window>`: a longer id that starts with this one is somebody else.
  return items.filter((i) => /^\d+$/.test(String(i.pk).slice(prefix.length)));
}

async function outboxItems(subject: Subject): Promise<Item[]> {
  const { Item } = await documentClient().send(
    new GetCommand({
      TableName: tableName('ENTITLEMENT_EVENTS_TABLE'),
      Key: { pk: outboxPk(subject.userId) },
      ConsistentRead: true,
    }),
  );
  return Item ? [Item] : [];
}

/** The alias items that lead to these purchases, from the identifiers the purchases and their history name. */
async function aliasItems(purchases: readonly Item[], history: readonly Item[]): Promise<Item[]> {
  const candidates = new Map<string, string>();
  for (const p of purchases) {
    const pk = String(p.pk);
    const { platform, subjectKey } = parsePurchaseKey(pk);
    const txIds = new Set<string>([String(p.latestTransactionId ?? '')]);
    for (const h of history) {
      const after = h.after as Item | undefined;
      if (h.pk === pk && typeof after?.latestTransactionId === 'string') txIds.add(after.latestTransactionId);
    }
    txIds.delete('');
    if (platform === 'apple') {
      for (const id of [subjectKey, ...txIds]) candidates.set(aliasKey('apple-tx', id), pk);
    } else {
      candidates.set(aliasKey('google-token', subjectKey), pk);
      for (const id of txIds) candidates.set(aliasKey('google-order', id), pk);
    }
  }
  const found = await Promise.all(
    [...candidates].map(async ([alias, target]) => {
      const { Item } = await documentClient().send(
        new GetCommand({ TableName: tableName('PURCHASES_TABLE'), Key: { pk: alias } }),
      );
      return Item?.target === target ? [Item] : [];
    }),
  );
  return found.flat();
}

/** Everything stored about a user, as stored. */
export interface UserData {
  userIds: Item[];
  purchases: Item[];
  grants: Item[];
  aliases: Item[];
  credits: Item[];
  history: Item[];
  rateLimits: Item[];
  entitlementEvents: Item[];
}

export async function readUserData(subject: Subject): Promise<UserData> {
  try {
    const [userIds, { owned, naming }, rateLimits, entitlementEvents] = await Promise.all([
      userIdItems(subject),
      purchaseTableItems(subject),
      rateLimitItems(subject),
      outboxItems(subject),
    ]);
    const items = [...owned, ...naming];
    const purchases = items.filter(isPurchaseItem);
    const grants = items.filter((i) => typeof i.pk === 'string' && isGrantPk(i.pk));
    const credits = items.filter((i) => typeof i.pk === 'string' && i.pk.startsWith('credit#'));
    const history = await historyItems(
      subject,
      purchases.map((p) => String(p.pk)),
    );
    const aliases = await aliasItems(purchases, history);
    return { userIds, purchases, grants, aliases, credits, history, rateLimits, entitlementEvents };
  } catch (error) {
    throw storeError(error);
  }
}

// ---------------------------------------------------------------- erasure

type PurchaseTableItems = Awaited<ReturnType<typeof purchaseTableItems>>;

interface ErasureStep {
  /**
   * `purchases`: the purchase-table items of the user, read once per erasure (a query and a scan)
   * for the steps that need them; a purchase that changed since is re-read by its conditional write.
   */
  erase(
    subject: Subject,
    counts: ErasureCounts,
    now: Date,
    purchases: () => Promise<PurchaseTableItems>,
  ): Promise<void>;
}

/**
 * History: records naming the user lose every identifier of theirs; a record whose key names the
 * user (a grant's, `grant#<userId>#…`) cannot be rewritten in place and is deleted.
 */
const historyStep: ErasureStep = {
  async erase(subject, counts, _now, purchases) {
    const { owned, naming } = await purchases();
    const pks = [...owned, ...naming].filter(isPurchaseItem).map((p) => String(p.pk));
    const ids = [subject.userId, ...(subject.uuid ? [subject.uuid] : [])];
    const records = await historyItems(subject, pks);
    const doomed: Item[] = [];
    for (const record of records) {
      if (scrubIdentifiers(`${record.pk}|${record.sk}`, ids) === ERASED) {
        doomed.push({ pk: record.pk, sk: record.sk });
        continue;
      }
      const { userId: _u, previousUserId: _p, ...rest } = record;
      const scrubbed = scrubIdentifiers(rest, ids);
      // The index attributes go when they named the user, so the record leaves their listings.
      const indexed = {
        ...(typeof record.userId === 'string' && scrubIdentifiers(record.userId, ids) !== ERASED
          ? { userId: record.userId }
          : {}),
        ...(typeof record.previousUserId === 'string' &&
        scrubIdentifiers(record.previousUserId, ids) !== ERASED
          ? { previousUserId: record.previousUserId }
          : {}),
      };
      const next = { ...scrubbed, ...indexed };
      // Attribute order is not kept by DynamoDB, so compare values, not their serialisation.
      if (isDeepStrictEqual(next, record)) continue;
      await documentClient().send(new PutCommand({ TableName: tableName('HISTORY_TABLE'), Item: next }));
      counts.historyAnonymised++;
    }
    await deleteAll('HISTORY_TABLE', doomed);
    counts.historyDeleted += doomed.length;
  },
};

const rateLimitStep: ErasureStep = {
  async erase(subject, counts) {
    const items = await rateLimitItems(subject);
    await deleteAll(
      'RATE_LIMITS_TABLE',
      items.map((i) => ({ pk: i.pk })),
    );
    counts.rateLimitCounters += items.length;
  },
};

/** The outbound event outbox keeps one item per user, keyed by the user id. */
/**
 * The outbox item goes, but first the app's own backend hears that the user's entitlements are
 * gone: one last `entitlements.changed` event with an empty set (cause `operator`, reason
 * `erasure`), written over the item so the stream hands it on before the item's removal. A user
 * whose last event already had an empty set gets none.
 */
async function finalEvent(item: Item, subject: Subject, now: Date): Promise<void> {
  const sequence = typeof item.sequence === 'number' ? item.sequence : 0;
  let previous: Entitlement[] = [];
  try {
    previous = (JSON.parse(String(item.event)) as EntitlementsChangedEvent).data.entitlements;
  } catch {
    // An unreadable last event: say the set is empty all the same.
  }
  if (previous.length === 0) return;
  const event = entitlementsChangedEvent({
    userId: subject.userId,
    appUserId: subject.uuid,
    sequence: sequence + 1,
    entitlements: [],
    previous,
    cause: { source: 'operator', reason: 'erasure' },
    now: now.getTime(),
  });
  try {
    await documentClient().send(
      new PutCommand({
        TableName: tableName('ENTITLEMENT_EVENTS_TABLE'),
        Item: {
          pk: item.pk,
          userId: subject.userId,
          sequence: sequence + 1,
          eventId: eventIdOf(subject.userId, sequence + 1),
          event: JSON.stringify(event),
          occurredAt: event.data.occurredAt,
        },
        // A change of the user's set in between took the next number: its event stands, ours is moot.
        ConditionExpression: '#s = :s',
        ExpressionAttributeNames: { '#s': 'sequence' },
        ExpressionAttributeValues: { ':s': sequence },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

const outboxStep: ErasureStep = {
  async erase(subject, counts, now) {
    const items = await outboxItems(subject);
    for (const item of items) await finalEvent(item, subject, now);
    await deleteAll(
      'ENTITLEMENT_EVENTS_TABLE',
      items.map((i) => ({ pk: i.pk })),
    );
    counts.other += items.length;
  },
};

/**
 * Purchases: grants are deleted; credits lose `creditedTo`; every purchase that named the user
 * (owned, or carrying their uuid as the store's appUserId) loses the user id and the uuid and is
 * marked erased, which keeps any automatic path from giving it an owner again (purchase-writes.ts).
 * The purchases themselves stay: the store still reports them, and their state keeps later events
 * in order. Each update is conditional on the item still naming the user, so a re-run or a
 * concurrent change never erases someone else.
 */
const purchasesStep: ErasureStep = {
  async erase(subject, counts, now, purchases) {
    const table = tableName('PURCHASES_TABLE');
    const { owned, naming } = await purchases();
    const items = [...owned, ...naming];
    for (const credit of items.filter((i) => String(i.pk).startsWith('credit#'))) {
      try {
        await documentClient().send(
          new UpdateCommand({
            TableName: table,
            Key: { pk: credit.pk },
            UpdateExpression: 'REMOVE #c',
            ConditionExpression: '#c = :u',
            ExpressionAttributeNames: { '#c': 'creditedTo' },
            ExpressionAttributeValues: { ':u': subject.userId },
          }),
        );
        counts.credits++;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    const grants = items.filter((i) => typeof i.pk === 'string' && isGrantPk(i.pk));
    await deleteAll(
      'PURCHASES_TABLE',
      grants.map((g) => ({ pk: g.pk })),
    );
    counts.grants += grants.length;
    for (const purchase of items.filter(isPurchaseItem)) {
      if (await erasePurchase(table, purchase, subject, now)) counts.purchases++;
    }
  },
};

/**
 * One purchase that named the user loses the user id, the uuid and the user's part of an operator's
 * transfer, and is marked erased. Pinned to the purchase's write counter: a concurrent change
 * makes it re-read and decide again, so it never erases someone else. False when, re-read, the
 * purchase no longer names the user.
 */
async function erasePurchase(table: string, first: Item, subject: Subject, now: Date): Promise<boolean> {
  let purchase: Item | undefined = first;
  for (let attempt = 0; purchase && attempt < 5; attempt++) {
    const owns = purchase.userId === subject.userId;
    const namesUuid = subject.uuid !== undefined && purchase.appUserId === subject.uuid;
    const transfer = purchase.transfer as { userId?: string; appUserIds?: string[] } | undefined;
    const otherUuids = (transfer?.appUserIds ?? []).filter((id) => id !== subject.uuid);
    const transferNames =
      transfer !== undefined &&
      (transfer.userId === subject.userId || otherUuids.length !== (transfer.appUserIds ?? []).length);
    if (!owns && !namesUuid && !transferNames) return false;
    // The transfer goes whole when it gave the purchase to the erased user (who no longer owns it)
    // or kept no other uuid; otherwise only the erased user's uuid leaves it.
    const dropTransfer =
      transferNames && (owns || transfer?.userId === subject.userId || otherUuids.length === 0);
    const removes = [
      ...(owns || namesUuid ? ['#a'] : []),
      ...(owns ? ['#u'] : []),
      ...(dropTransfer ? ['#t'] : []),
    ];
    const sets = ['#e = if_not_exists(#e, :now)', ...(transferNames && !dropTransfer ? ['#t = :t'] : [])];
    const pinned = typeof purchase.rev === 'number';
    try {
      await documentClient().send(
        new UpdateCommand({
          TableName: table,
          Key: { pk: purchase.pk },
          UpdateExpression: `${removes.length ? `REMOVE ${removes.join(', ')} ` : ''}SET ${sets.join(', ')} ADD #rev :one`,
          ConditionExpression: pinned ? '#rev = :rev' : 'attribute_not_exists(#rev)',
          ExpressionAttributeNames: {
            '#e': ERASED_AT,
            '#rev': 'rev',
            ...(removes.includes('#a') ? { '#a': 'appUserId' } : {}),
            ...(owns ? { '#u': 'userId' } : {}),
            ...(transferNames ? { '#t': 'transfer' } : {}),
          },
          ExpressionAttributeValues: {
            ':now': now.toISOString(),
            ':one': 1,
            ...(pinned ? { ':rev': purchase.rev } : {}),
            ...(transferNames && !dropTransfer ? { ':t': { ...transfer, appUserIds: otherUuids } } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const reread: { Item?: Item } = await documentClient().send(
        new GetCommand({ TableName: table, Key: { pk: purchase.pk }, ConsistentRead: true }),
      );
      purchase = reread.Item;
    }
  }
  if (purchase)
    throw new Error(
      `Purchase ${keyReference(String(purchase.pk))} kept changing during erasure; run it again`,
    );
  return false;
}

/** Both directions at once, and last (see the top of this file). */
const userIdsStep: ErasureStep = {
  async erase(subject, counts) {
    const items = await userIdItems(subject);
    if (items.length === 0) return;
    await documentClient().send(
      new TransactWriteCommand({
        TransactItems: items.map((i) => ({
          Delete: { TableName: tableName('USER_IDS_TABLE'), Key: { pk: i.pk } },
        })),
      }),
    );
    counts.userIds += items.length;
  },
};

/**
 * What an erasure does, in order. The processed-events table has no step: its markers hold an
 * event id, an outcome and times, never a user id or a payload.
 */
export const ERASURE_STEPS: readonly ErasureStep[] = [
  historyStep,
  rateLimitStep,
  outboxStep,
  purchasesStep,
  userIdsStep,
];

/**
 * Erases the user from every table, then, when anything was found, leaves one anonymous audit
 * record in the history table: who erased, why, when and how much, never whom.
 */
export async function eraseUserData(
  subject: Subject,
  audit: { operator: string; reason?: string },
  now: Date,
): Promise<ErasureCounts> {
  const counts = emptyCounts();
  try {
    let found: Promise<PurchaseTableItems> | undefined;
    const purchases = () => {
      found ??= purchaseTableItems(subject);
      return found;
    };
    for (const step of ERASURE_STEPS) await step.erase(subject, counts, now, purchases);
    if (totalOf(counts) > 0) {
      const days = historyRetention();
      const ids = [subject.userId, ...(subject.uuid ? [subject.uuid] : [])];
      await documentClient().send(
        new PutCommand({
          TableName: tableName('HISTORY_TABLE'),
          Item: {
            pk: `erasure#${randomUUID()}`,
            sk: '000000000001',
            at: now.toISOString(),
            cause: {
              source: 'operator',
              event: 'erasure',
              operator: audit.operator,
              ...(audit.reason ? { reason: scrubIdentifiers(audit.reason, ids) } : {}),
            },
            before: {},
            after: { ...counts },
            ownerBefore: null,
            ownerAfter: null,
            ...(days ? { ttl: Math.floor(now.getTime() / 1000) + days * 24 * 60 * 60 } : {}),
          },
        }),
      );
    }
    return counts;
  } catch (error) {
    throw storeError(error);
  }
}
