// The purchases table: purchase items, alias items and consumable credit ledger items.
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
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
import { changedFields, type HistoryCause, historyPut } from './history';
import type { Holdings } from './holdings';
import { eventCauseOf, OutboxSession, type TransactItem } from './outbox';
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

export { type Holdings, holdingsOfUser, purchasesOfUser } from './holdings';

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
  /** The owner's holdings, when the caller is reading them anyway (the outbox derives from them). */
  holdings?: Promise<Holdings>;
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
  /** The owner's holdings after the write, when it changed the purchase. */
  holdings?: Holdings;
  /** This call changed the purchase's facts or owner (and wrote its history record). */
  changed?: boolean;
}

/**
 * One purchase change as transaction items, in this order: the purchase's conditional update (when
 * there is one), its history record (when a field or the owner changed) and the alias items that
 * lead to it. The verify path (recordSnapshot) and the webhook consumer (applyEvent) both write
 * a change this way.
 */
export function purchaseChangeItems(input: {
  pk: string;
  operation: UpdateOperation | undefined;
  history: Omit<Parameters<typeof historyPut>[0], 'pk' | 'fields'> | undefined;
  aliases: readonly string[];
}): TransactItem[] {
  const table = purchasesTable();
  return [
    ...(input.operation ? [transactUpdate(table, input.pk, input.operation)] : []),
    ...(input.history ? [{ Put: historyPut({ pk: input.pk, ...input.history }) }] : []),
    ...input.aliases.map((alias) => ({ Put: { TableName: table, Item: { pk: alias, target: input.pk } } })),
  ];
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
  const outbox = new OutboxSession();
  if (input.owner) outbox.load(input.owner.userId, { holdings: input.holdings });
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

    const written = changed ? [{ pk: input.pk, before: current, after: plan.after }] : [];
    const events = await outbox.transactItems(written, eventCauseOf(cause, input.pk), now.getTime());
    const transactItems: TransactItem[] = [
      ...purchaseChangeItems({
        pk: input.pk,
        operation,
        history: changed ? { rev: plan.rev, now, cause, before: current, after: plan.after } : undefined,
        aliases,
      }),
      ...(credit ? [{ Put: creditPut(credit, input.pk, input.owner?.userId, now.toISOString()) }] : []),
    ];
    const outboxStart = transactItems.length;
    transactItems.push(...events.items);
    try {
      await documentClient().send(new TransactWriteCommand({ TransactItems: transactItems }));
      await outbox.committed(written, events.changed);
      const holdings =
        input.owner &&
        (await outbox.holdingsAfter(input.owner.userId, [
          { pk: input.pk, before: current, after: plan.after },
        ]));
      return holdings ? { done: { ...done.done, holdings } } : done;
    } catch (error) {
      const reasons = cancellationOrThrow(error);
      const purchaseReason = operation ? reasons[0] : undefined;
      const creditReason = credit ? reasons[outboxStart - 1] : undefined;
      let understood = isContention(reasons);
      if (await outbox.absorb(reasons.slice(outboxStart))) understood = true;
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
