// The purchases table: purchase items, alias items and consumable credit ledger items.
import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type Grant, isGrantPk } from '../domain/grant';
import type { Purchase, PurchaseUpdate } from '../domain/purchase';
import {
  cancellationOrThrow,
  conditionFailureItem,
  documentClient,
  isContention,
  retryingWrite,
  storeError,
  tableName,
} from './dynamo-client';
import { grantFromItem } from './grants';
import { changedFields, type HistoryCause, historyPut } from './history';
import {
  claimBlockedBy,
  isPurchaseItem,
  planWrite,
  purchaseFromItem,
  purchaseWrite,
  transactUpdate,
  type UpdateOperation,
  type UserIdAssignment,
} from './purchase-writes';
import { BY_USER_INDEX } from './tables';

const purchasesTable = () => tableName('PURCHASES_TABLE');

export async function getPurchase(pk: string): Promise<Purchase | undefined> {
  try {
    const { Item } = await documentClient().send(
      new GetCommand({ TableName: purchasesTable(), Key: { pk }, ConsistentRead: true }),
    );
    return Item && isPurchaseItem(Item) ? purchaseFromItem(Item) : undefined;
  } catch (error) {
    throw storeError(error);
  }
}

/** The purchase key an alias (aliasKey(...)) points at, if any. */
export async function resolveAlias(alias: string): Promise<string | undefined> {
  try {
    const { Item } = await documentClient().send(
      new GetCommand({
        TableName: purchasesTable(),
        Key: { pk: alias },
        ProjectionExpression: '#t',
        ExpressionAttributeNames: { '#t': 'target' },
      }),
    );
    return typeof Item?.target === 'string' ? Item.target : undefined;
  } catch (error) {
    throw storeError(error);
  }
}

/** Everything a user holds: their purchases and their promotional grants. */
export interface Holdings {
  purchases: Purchase[];
  grants: Grant[];
}

/** Every purchase the user owns (see `holdingsOfUser`). */
export async function purchasesOfUser(userId: string): Promise<Purchase[]> {
  return (await holdingsOfUser(userId)).purchases;
}

/**
 * Every purchase and grant the user holds, in one query of the `byUser` index (grant items carry
 * `userId` too). The index is eventually consistent: merge any purchase just written into the
 * result (see `withPurchase`) before deriving entitlements.
 */
export async function holdingsOfUser(userId: string): Promise<Holdings> {
  const purchases: Purchase[] = [];
  const grants: Grant[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  try {
    do {
      const page = await documentClient().send(
        new QueryCommand({
          TableName: purchasesTable(),
          IndexName: BY_USER_INDEX,
          KeyConditionExpression: '#u = :u',
          ExpressionAttributeNames: { '#u': 'userId' },
          ExpressionAttributeValues: { ':u': userId },
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) {
        if (isPurchaseItem(item)) purchases.push(purchaseFromItem(item));
        else if (typeof item.pk === 'string' && isGrantPk(item.pk)) grants.push(grantFromItem(item));
      }
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
  } catch (error) {
    throw storeError(error);
  }
  return { purchases, grants };
}

/**
 * `purchases` with `written` in place of its older copy (or added), dropping it when it no longer
 * belongs to `userId` (another user took it over).
 */
export function withPurchase(purchases: readonly Purchase[], written: Purchase, userId: string): Purchase[] {
  const others = purchases.filter((p) => p.pk !== written.pk);
  return written.userId === userId ? [...others, written] : others;
}

/** A consumable's credit: written once per transaction however often it is verified. */
export interface CreditEntry {
  /** creditKey(platform, transactionIdOrToken) */
  key: string;
  productId: string;
  /** What the purchase credits (catalog `credits`), recorded for the app's ledger. */
  credits?: Record<string, number>;
}

export interface RecordSnapshotInput {
  /** purchaseKey(platform, subjectKey) */
  pk: string;
  /** updateFor({ kind: 'snapshot', ... }) */
  update: PurchaseUpdate;
  /**
   * The verifying user and how they hold the purchase (see UserIdAssignment); omitted,
   * ownership is left as it is.
   */
  owner?: UserIdAssignment;
  /** aliasKey(...)s that should lead to this purchase. */
  aliases?: readonly string[];
  credit?: CreditEntry;
  /** What caused the write, for its history record; default: a verify by the owner's user. */
  cause?: HistoryCause;
}

export interface RecordSnapshotResult {
  /** The purchase item after the write. */
  purchase: Purchase;
  /** This call wrote the consumable's credit (false when it was already credited, or no credit). */
  credited: boolean;
  /** The purchase had already applied something newer: only blank fields (and the owner) were written. */
  stale: boolean;
  /** A `claim` found the purchase held by this other user: nothing was written, `purchase` is as stored. */
  heldBy?: string;
  /** This call changed the purchase's facts or owner (and wrote its history record). */
  changed?: boolean;
}

/**
 * Records a verify result: upserts the purchase under the ordering guard, sets or claims its
 * owner, writes its aliases and, for a consumable, its credit, and when the purchase changes its
 * history record — in one transaction (one UpdateItem when only bookkeeping changes and there are
 * no aliases and no credit; nothing at all for an exact repeat). The purchase is read first
 * (history.ts says why). A claim on a purchase another user holds writes nothing at all and
 * answers who holds it.
 */
export async function recordSnapshot(input: RecordSnapshotInput): Promise<RecordSnapshotResult> {
  const write = purchaseWrite(input.pk, input.update, input.owner);
  const aliases = [...new Set(input.aliases ?? [])];
  const cause: HistoryCause = input.cause ?? {
    source: 'verify',
    ...(input.owner ? { caller: input.owner.userId } : {}),
  };
  let credit = input.credit;
  let current: Record<string, unknown> | undefined;
  let read = false;
  return retryingWrite<RecordSnapshotResult>('Recording the purchase', async () => {
    if (!read) {
      current = await storedItem(input.pk);
      read = true;
    }
    const plan = planWrite(write, current, new Date().toISOString());
    const stale = plan.stale;
    const heldBy = claimBlockedBy(current, input.owner);
    if (heldBy)
      return { done: { purchase: purchaseFromItem(current ?? {}), credited: false, stale, heldBy } };
    const now = new Date();
    const { operation } = plan;
    const changed = operation !== undefined && changedFields(current, plan.after) !== undefined;
    const done = {
      done: { purchase: purchaseFromItem(plan.after), credited: credit !== undefined, stale, changed },
    };

    if (aliases.length === 0 && !credit && !changed) {
      if (!operation) return done;
      const outcome = await updateReturningItem(input.pk, operation);
      if ('purchase' in outcome)
        return { done: { purchase: outcome.purchase, credited: false, stale, changed: false } };
      current = outcome.current ?? (await storedItem(input.pk));
      return 'again';
    }

    const transactItems = [
      ...(operation ? [transactUpdate(purchasesTable(), input.pk, operation)] : []),
      ...(changed
        ? [
            {
              Put: historyPut({
                pk: input.pk,
                rev: plan.rev,
                now,
                cause,
                before: current,
                after: plan.after,
              }),
            },
          ]
        : []),
      ...aliases.map((alias) => ({
        Put: { TableName: purchasesTable(), Item: { pk: alias, target: input.pk } },
      })),
      ...(credit ? [{ Put: creditPut(credit, input.pk, input.owner?.userId, now.toISOString()) }] : []),
    ];
    try {
      await documentClient().send(new TransactWriteCommand({ TransactItems: transactItems }));
      return done;
    } catch (error) {
      const reasons = cancellationOrThrow(error);
      const purchaseReason = operation ? reasons[0] : undefined;
      const creditReason = credit ? reasons[transactItems.length - 1] : undefined;
      let understood = isContention(reasons);
      if (purchaseReason?.code === 'ConditionalCheckFailed') {
        current = purchaseReason.item ?? (await storedItem(input.pk));
        understood = true;
      }
      if (creditReason?.code === 'ConditionalCheckFailed') {
        credit = undefined; // already credited by an earlier verify
        understood = true;
      }
      if (!understood) throw error;
      return isContention(reasons) ? 'contended' : 'again';
    }
  });
}

/** The raw stored item, for when a failed condition did not return it. */
export async function storedItem(pk: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await documentClient().send(
    new GetCommand({ TableName: purchasesTable(), Key: { pk }, ConsistentRead: true }),
  );
  return Item;
}

async function updateReturningItem(
  pk: string,
  operation: UpdateOperation,
): Promise<{ purchase: Purchase } | { current: Record<string, unknown> | undefined }> {
  try {
    const { Attributes } = await documentClient().send(
      new UpdateCommand({
        TableName: purchasesTable(),
        Key: { pk },
        ...operation,
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { purchase: purchaseFromItem(Attributes ?? {}) };
  } catch (error) {
    const item = conditionFailureItem(error);
    if (item === false) throw error;
    return { current: item };
  }
}

function creditPut(credit: CreditEntry, purchasePk: string, userId: string | undefined, now: string) {
  return {
    TableName: purchasesTable(),
    // Never `userId`: only purchase items belong in the byUser index.
    Item: {
      pk: credit.key,
      purchasePk,
      productId: credit.productId,
      ...(credit.credits ? { credits: credit.credits } : {}),
      ...(userId ? { creditedTo: userId } : {}),
      creditedAt: now,
    },
    ConditionExpression: 'attribute_not_exists(pk)',
  };
}
