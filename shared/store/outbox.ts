// The transactional outbox (architecture §3.8): every write that changes a user's entitlement set
// rewrites that user's item in the entitlement-events table, inside the same TransactWriteItems,
// with the next sequence number and the `entitlements.changed` event to send.
//
// How a writer uses it: one OutboxSession per write (across its retries). `load` the users the
// write may concern as early as possible (in parallel with the write's own read), add
// `transactItems(...)` to its transaction once it knows which items it changes (what is still
// missing is read then), and when the transaction is cancelled hand the reasons for those items to
// `absorb` and try again.
//
// Why the extra condition checks: the set is derived from all of the user's holdings, and two
// writers changing different purchases of one user at once could each see the other's old copy.
// Every write that changes a holding therefore pins the versions (`rev`) of the user's other
// holdings it derived the set from, and checks the outbox item's sequence even when the set stays
// the same, so one of two such writers fails and derives again. The byUser index is eventually
// consistent; the outbox item lists the holdings (and versions) its set came from, so a reader
// whose index copy is older reads those few items strongly before it derives anything.
import { GetCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { productById } from '../domain/catalog';
import {
  type EventCause,
  entitlementsChangedEvent,
  eventIdOf,
  sameEntitlements,
} from '../domain/entitlement-events';
import { type Entitlement, type EntitlementPolicy, entitlementsOf } from '../domain/entitlements';
import { type Grant, isGrantPk } from '../domain/grant';
import { keyReference, type Purchase } from '../domain/purchase';
import { settings } from '../settings';
import { type CancellationReason, documentClient, storeError, tableName } from './dynamo-client';
import type { HistoryCause } from './history';
import { grantFromItem, type Holdings, holdingsOfUser } from './holdings';
import { isPurchaseItem, purchaseFromItem } from './purchase-writes';

/** What the event tells of a change's cause: its source and references, never a store key. */
export function eventCauseOf(cause: HistoryCause, pk: string, grantKey?: string): EventCause {
  return {
    source: cause.source,
    ...(cause.eventId ? { eventId: cause.eventId } : {}),
    ...(isGrantPk(pk) ? { grant: grantKey ?? pk } : { purchase: keyReference(pk) }),
    ...(cause.reason ? { reason: cause.reason } : {}),
  };
}

/** One item of a TransactWriteItems. */
export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** One item a write changes in the purchases table, as it was and as it will be (raw). */
export interface OutboxWritten {
  pk: string;
  before: Record<string, unknown> | undefined;
  /** undefined: the write deletes the item. */
  after: Record<string, unknown> | undefined;
}

/** The outbox item as stored (entitlement-events table). */
export interface OutboxState {
  sequence: number;
  entitlements: Entitlement[];
  /** The holdings the set came from: pk → rev. */
  sources: Record<string, number>;
}

interface Held {
  rev: number | undefined;
  purchase?: Purchase;
  grant?: Grant;
}

interface UserView {
  userId: string;
  appUserId: string | undefined;
  outbox: OutboxState | undefined;
  held: Map<string, Held>;
  /** Holdings to read strongly before deriving from this view. */
  suspects: Set<string>;
}

/** What one item this session added to a transaction stands for, to read its cancellation reason. */
type Slot = { kind: 'outbox'; userId: string } | { kind: 'pin'; userId: string; pk: string };

/** Past this many pins a transaction would come close to DynamoDB's 100 items; see architecture §3.8. */
const MAX_PINS = 60;

export const outboxPk = (userId: string) => `user#${userId}`;
const userIdsPk = (userId: string) => `user#${userId}`;
const purchasesTable = () => tableName('PURCHASES_TABLE');
const eventsTable = () => tableName('ENTITLEMENT_EVENTS_TABLE');

export function outboxStateFromItem(item: Record<string, unknown> | undefined): OutboxState | undefined {
  if (!item || typeof item.sequence !== 'number' || typeof item.event !== 'string') return undefined;
  const event = JSON.parse(item.event) as { data?: { entitlements?: Entitlement[] } };
  return {
    sequence: item.sequence,
    entitlements: event.data?.entitlements ?? [],
    sources: (item.sources ?? {}) as Record<string, number>,
  };
}

function heldFromItem(item: Record<string, unknown>): Held | undefined {
  const rev = typeof item.rev === 'number' ? item.rev : undefined;
  if (isPurchaseItem(item)) return { rev, purchase: purchaseFromItem(item) };
  if (typeof item.pk === 'string' && isGrantPk(item.pk)) return { rev, grant: grantFromItem(item) };
  return undefined;
}

/**
 * Whether a holding can ever give an entitlement: consumables never do, so they are neither
 * pinned nor listed as sources (a user may own hundreds).
 */
function mayEntitle(held: Held): boolean {
  const p = held.purchase;
  if (!p) return true;
  if (p.productType === 'consumable') return false;
  return !p.productId || productById(p.productId)?.type !== 'consumable';
}

/** Whether the write of this item can change anyone's set: it may entitle before or after. */
function mayChangeASet(w: OutboxWritten): boolean {
  return [w.before, w.after].some((item) => {
    const held = item ? heldFromItem(item) : undefined;
    return held !== undefined && mayEntitle(held);
  });
}

/**
 * Items by key, read in parallel (one round trip). Single GetItems rather than a BatchGetItem:
 * the writers' roles need no batch action, and there are one or two keys in the common case.
 */
async function getItems(table: string, pks: readonly string[], consistent: boolean) {
  const items = await Promise.all(
    pks.map(async (pk) => {
      const { Item } = await documentClient().send(
        new GetCommand({ TableName: table, Key: { pk }, ConsistentRead: consistent }),
      );
      return Item;
    }),
  );
  return items.filter((item): item is Record<string, unknown> => item !== undefined);
}

export interface OutboxOptions {
  /** The entitlement policy the event's set is derived under; default: the stage's settings. */
  policy?: EntitlementPolicy;
}

/**
 * The outbox side of one write (see the top of this file). Not shared between writes: it holds
 * what the write has learnt about its users across its retries.
 */
export class OutboxSession {
  private readonly views = new Map<string, Promise<UserView>>();
  private slots: Slot[] = [];
  private readonly policy: () => EntitlementPolicy;

  constructor(options: OutboxOptions = {}) {
    this.policy = () => options.policy ?? settings().entitlementPolicy;
  }

  /**
   * Starts reading what the outbox needs about `userId`: their outbox item, their UUID and their
   * holdings. What the caller already has is not read twice: `holdings`, a read it has under way;
   * `appUserId`, the user's UUID when it has just read the binding (a UUID never changes).
   * Idempotent per user: a later call for the same user reuses the first read.
   */
  load(userId: string, known: { holdings?: Promise<Holdings>; appUserId?: string } = {}): void {
    if (this.views.has(userId)) return;
    const view = readView(userId, known);
    view.catch(() => undefined);
    this.views.set(userId, view);
  }

  /** The users whose set `written` may change: everyone who holds one of the items before or after. */
  static usersOf(written: readonly OutboxWritten[]): string[] {
    const users = new Set<string>();
    // A consumable never grants: its changes leave every set as it was, and add nothing here
    // (nor contend on the user's outbox item when a restore records many at once).
    for (const w of written.filter(mayChangeASet)) {
      for (const item of [w.before, w.after]) if (typeof item?.userId === 'string') users.add(item.userId);
    }
    return [...users];
  }

  /** Reads what is still missing for the users `written` concerns. */
  private async prepare(written: readonly OutboxWritten[]): Promise<void> {
    const users = OutboxSession.usersOf(written);
    for (const userId of users) this.load(userId);
    const views = await Promise.all(users.map((u) => this.views.get(u) as Promise<UserView>));
    try {
      await reconcile(views);
    } catch (error) {
      throw storeError(error);
    }
  }

  /**
   * The transaction items for `written`: per user concerned, the outbox item's Put (the set
   * changed) or ConditionCheck (it did not), and a ConditionCheck pinning each other holding the
   * set was derived from. `now`: the write's time (epoch ms), at which the set is derived.
   */
  async transactItems(
    written: readonly OutboxWritten[],
    cause: EventCause,
    now: number,
  ): Promise<{ items: TransactItem[]; changed: Map<string, Entitlement[]> }> {
    await this.prepare(written);
    this.slots = [];
    const items: TransactItem[] = [];
    const changed = new Map<string, Entitlement[]>();
    const writtenPks = new Set(written.map((w) => w.pk));
    for (const userId of OutboxSession.usersOf(written)) {
      const view = await (this.views.get(userId) as Promise<UserView>);
      const after = heldAfter(view, written);
      const entitlements = entitlementsOf(
        [...after.values()].flatMap((h) => (h.purchase ? [h.purchase] : [])),
        now,
        this.policy(),
        undefined,
        [...after.values()].flatMap((h) => (h.grant ? [h.grant] : [])),
      );
      const previous = view.outbox?.entitlements ?? [];
      const guard = outboxGuard(view.outbox);
      if (sameEntitlements(previous, entitlements)) {
        items.push({
          ConditionCheck: {
            TableName: eventsTable(),
            Key: { pk: outboxPk(userId) },
            ...guard,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        });
      } else {
        const sequence = (view.outbox?.sequence ?? 0) + 1;
        const event = entitlementsChangedEvent({
          userId,
          appUserId: view.appUserId,
          sequence,
          entitlements,
          previous,
          cause,
          now,
        });
        items.push({
          Put: {
            TableName: eventsTable(),
            Item: {
              pk: outboxPk(userId),
              userId,
              sequence,
              eventId: eventIdOf(userId, sequence),
              event: JSON.stringify(event),
              occurredAt: event.data.occurredAt,
              // DynamoDB keeps no empty map.
              ...(Object.keys(sourcesOf(after)).length > 0 ? { sources: sourcesOf(after) } : {}),
            },
            ...guard,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        });
        changed.set(userId, entitlements);
      }
      this.slots.push({ kind: 'outbox', userId });
      let pins = 0;
      for (const [pk, held] of view.held) {
        if (writtenPks.has(pk) || !mayEntitle(held) || pins >= MAX_PINS) continue;
        pins++;
        items.push({
          ConditionCheck: {
            TableName: purchasesTable(),
            Key: { pk },
            ...revGuard(held.rev),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        });
        this.slots.push({ kind: 'pin', userId, pk });
      }
    }
    return { items, changed };
  }

  /**
   * Learns from the cancellation reasons of the items `transactItems` returned (in order): the
   * outbox item or a pinned holding had changed. True when one had, so the write should derive
   * again; the next `transactItems` reads what it still needs.
   */
  async absorb(reasons: readonly CancellationReason[]): Promise<boolean> {
    let learnt = false;
    for (const [i, slot] of this.slots.entries()) {
      const reason = reasons[i];
      if (reason?.code !== 'ConditionalCheckFailed') continue;
      learnt = true;
      const view = await (this.views.get(slot.userId) as Promise<UserView>);
      if (slot.kind === 'outbox') {
        view.outbox = outboxStateFromItem(reason.item);
        if (view.outbox) for (const pk of Object.keys(view.outbox.sources)) view.suspects.add(pk);
      } else {
        view.held.delete(slot.pk);
        const held = reason.item ? heldFromItem(reason.item) : undefined;
        if (held && reason.item?.userId === slot.userId) view.held.set(slot.pk, held);
        else if (!reason.item) view.suspects.add(slot.pk);
      }
    }
    return learnt;
  }

  /** The user's holdings as the last `transactItems` left them, once that write went through. */
  async holdingsAfter(userId: string, written: readonly OutboxWritten[]): Promise<Holdings | undefined> {
    const view = await this.views.get(userId);
    if (!view) return undefined;
    const after = heldAfter(view, written);
    return {
      purchases: [...after.values()].flatMap((h) => (h.purchase ? [h.purchase] : [])),
      grants: [...after.values()].flatMap((h) => (h.grant ? [h.grant] : [])),
    };
  }

  /** After a successful write: the views reflect it, for a later write in the same session. */
  async committed(written: readonly OutboxWritten[], changed: Map<string, Entitlement[]>): Promise<void> {
    for (const userId of OutboxSession.usersOf(written)) {
      const view = await (this.views.get(userId) as Promise<UserView>);
      view.held = heldAfter(view, written);
      const entitlements = changed.get(userId);
      if (entitlements) {
        view.outbox = {
          sequence: (view.outbox?.sequence ?? 0) + 1,
          entitlements,
          sources: sourcesOf(view.held),
        };
      }
    }
  }
}

function outboxGuard(outbox: OutboxState | undefined) {
  return outbox
    ? {
        ConditionExpression: '#s = :s',
        ExpressionAttributeNames: { '#s': 'sequence' },
        ExpressionAttributeValues: { ':s': outbox.sequence },
      }
    : { ConditionExpression: 'attribute_not_exists(pk)' };
}

function revGuard(rev: number | undefined) {
  return rev === undefined
    ? {
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#r)',
        ExpressionAttributeNames: { '#r': 'rev' },
      }
    : {
        ConditionExpression: '#r = :r',
        ExpressionAttributeNames: { '#r': 'rev' },
        ExpressionAttributeValues: { ':r': rev },
      };
}

function sourcesOf(held: Map<string, Held>): Record<string, number> {
  const sources: Record<string, number> = {};
  for (const [pk, h] of held) if (mayEntitle(h)) sources[pk] = h.rev ?? 0;
  return sources;
}

/** The user's holdings once `written` is applied. */
function heldAfter(view: UserView, written: readonly OutboxWritten[]): Map<string, Held> {
  const after = new Map(view.held);
  for (const w of written) {
    after.delete(w.pk);
    if (w.after?.userId !== view.userId) continue;
    const held = heldFromItem(w.after);
    if (held) after.set(w.pk, held);
  }
  return after;
}

async function readView(
  userId: string,
  known: { holdings?: Promise<Holdings>; appUserId?: string },
): Promise<UserView> {
  const [owned, [outboxItem], uuid] = await Promise.all([
    known.holdings ?? holdingsOfUser(userId),
    getItems(eventsTable(), [outboxPk(userId)], true).catch((error) => {
      throw storeError(error);
    }),
    known.appUserId ??
      // The UUID never changes once minted: an eventually consistent read is enough.
      getItems(tableName('USER_IDS_TABLE'), [userIdsPk(userId)], false).then(
        ([item]) => item?.uuid,
        (error) => {
          throw storeError(error);
        },
      ),
  ]);
  const outbox = outboxStateFromItem(outboxItem);
  const held = new Map<string, Held>();
  const suspects = new Set<string>();
  for (const purchase of owned.purchases) {
    const rev = owned.revs?.[purchase.pk];
    held.set(purchase.pk, { rev, purchase });
    if (rev === undefined) suspects.add(purchase.pk);
  }
  for (const grant of owned.grants) {
    const item = grant as Grant & { pk?: string; rev?: number };
    if (!item.pk) continue;
    held.set(item.pk, { rev: item.rev, grant });
  }
  for (const [pk, rev] of Object.entries(outbox?.sources ?? {})) {
    const h = held.get(pk);
    if (!h || h.rev === undefined || h.rev < rev) suspects.add(pk);
  }
  return { userId, appUserId: typeof uuid === 'string' ? uuid : undefined, outbox, held, suspects };
}

/**
 * Reads strongly the holdings the index may show older than the outbox item says (or not at all),
 * so no set is derived from a copy older than the one the last event came from.
 */
async function reconcile(views: UserView[]): Promise<void> {
  const pks = [...new Set(views.flatMap((v) => [...v.suspects]))];
  if (pks.length === 0) return;
  const found = await getItems(purchasesTable(), pks, true);
  const byPk = new Map(found.map((item) => [item.pk as string, item]));
  for (const view of views) {
    for (const pk of view.suspects) {
      view.held.delete(pk);
      const item = byPk.get(pk);
      const held = item && item.userId === view.userId ? heldFromItem(item) : undefined;
      if (held) view.held.set(pk, held);
    }
    view.suspects.clear();
  }
}
