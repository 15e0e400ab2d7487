// How a PurchaseUpdate becomes a DynamoDB update of a purchase item, and how a stored item
// becomes a Purchase. Shared by verify (purchases.ts) and the webhook consumer (processed-events.ts).
//
// Stored layout: the Purchase attributes at top level, plus `order_<field>` (the order key of the
// update that last set <field>, i.e. Purchase.fieldOrder), `gen_<field>` (its generation,
// Purchase.fieldGen; absent = 0, so items written before generations need no migration) and
// `rev` (a write counter that lets the stale path write only over the exact version it merged
// against). `appliedGen` is likewise absent for 0.
import {
  PURCHASE_FIELDS,
  type Purchase,
  type PurchaseField,
  type PurchaseUpdate,
  parsePurchaseKey,
} from '../domain/purchase';
import { staleFill } from '../domain/state-machine';
import { CHECK_ATTRIBUTES, checkAttributesFor } from './check-due-attributes';
import { changedFields } from './history';

const ORDER_PREFIX = 'order_';
const GEN_PREFIX = 'gen_';

/**
 * Who owns the purchase after the write. `set`: this user, whoever held it. `if-absent`: this
 * user only when nobody holds it, and the write goes ahead either way (an event's appUserId).
 * `claim`: this user when nobody else holds it, and otherwise NOTHING is written (a verify by
 * someone who may not own the purchase must not change it).
 */
export interface UserIdAssignment {
  userId: string;
  mode: 'set' | 'if-absent' | 'claim';
}

/** The user holding `item` when that blocks a `claim` by `owner` (nothing written then). */
export function claimBlockedBy(
  item: Record<string, unknown> | undefined,
  owner: UserIdAssignment | undefined,
): string | undefined {
  if (owner?.mode !== 'claim' || typeof item?.userId !== 'string') return undefined;
  return item.userId === owner.userId ? undefined : item.userId;
}

export interface PurchaseWrite {
  pk: string;
  platform: Purchase['platform'];
  subjectKey: string;
  update: PurchaseUpdate;
  owner?: UserIdAssignment;
}

/** The write of `update` to the purchase `pk`, and who owns it afterwards when that changes. */
export function purchaseWrite(pk: string, update: PurchaseUpdate, owner?: UserIdAssignment): PurchaseWrite {
  const { platform, subjectKey } = parsePurchaseKey(pk);
  return { pk, platform, subjectKey, update, ...(owner ? { owner } : {}) };
}

/** The Update operation (without TableName/Key/return options), ready for UpdateItem or a transaction. */
export interface UpdateOperation {
  UpdateExpression: string;
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
}

/** An operation as one item of a TransactWriteItems, handing back the item when its condition fails. */
export function transactUpdate(tableName: string, pk: string, operation: UpdateOperation) {
  return {
    Update: {
      TableName: tableName,
      Key: { pk },
      ...operation,
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    },
  };
}

class ExpressionBuilder {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  readonly sets: string[] = [];
  readonly removes: string[] = [];
  /** What the SETs do, so the write can be applied to a copy of the item in memory. */
  readonly effects = new Map<string, { value: unknown; ifAbsent: boolean }>();
  private n = 0;

  private readonly tokens = new Map<string, string>();

  name(attribute: string): string {
    let token = this.tokens.get(attribute);
    if (!token) {
      token = `#a${this.tokens.size}`;
      this.tokens.set(attribute, token);
      this.names[token] = attribute;
    }
    return token;
  }

  value(v: unknown): string {
    const token = `:v${this.n++}`;
    this.values[token] = v;
    return token;
  }

  set(attribute: string, v: unknown): void {
    this.effects.set(attribute, { value: v, ifAbsent: false });
    this.sets.push(`${this.name(attribute)} = ${this.value(v)}`);
  }

  setIfAbsent(attribute: string, v: unknown): void {
    const n = this.name(attribute);
    this.effects.set(attribute, { value: v, ifAbsent: true });
    this.sets.push(`${n} = if_not_exists(${n}, ${this.value(v)})`);
  }

  remove(attribute: string): void {
    this.effects.set(attribute, { value: undefined, ifAbsent: false });
    this.removes.push(this.name(attribute));
  }

  operation(condition: string): UpdateOperation {
    const remove = this.removes.length ? ` REMOVE ${this.removes.join(', ')}` : '';
    return {
      UpdateExpression: `SET ${this.sets.join(', ')}${remove} ADD ${this.name('rev')} ${this.value(1)}`,
      ConditionExpression: condition,
      ExpressionAttributeNames: this.names,
      ExpressionAttributeValues: this.values,
    };
  }
}

function setFields(
  b: ExpressionBuilder,
  fields: Partial<Record<PurchaseField, unknown>>,
  update: PurchaseUpdate,
): void {
  const gen = update.gen ?? 0;
  for (const field of PURCHASE_FIELDS) {
    if (fields[field] === undefined) continue;
    b.set(field, fields[field]);
    b.set(`${ORDER_PREFIX}${field}`, update.order);
    // A generation-0 update only ever sets fields whose generation is already 0 (absent).
    if (gen > 0) b.set(`${GEN_PREFIX}${field}`, gen);
  }
}

function setOwner(b: ExpressionBuilder, owner: UserIdAssignment | undefined): void {
  if (!owner) return;
  if (owner.mode === 'if-absent') b.setIfAbsent('userId', owner.userId);
  else b.set('userId', owner.userId);
}

/** For a claim: the item is unowned or already this user's. */
function claimGuard(b: ExpressionBuilder, owner: UserIdAssignment | undefined): string | undefined {
  if (owner?.mode !== 'claim') return undefined;
  const userId = b.name('userId');
  return `(attribute_not_exists(${userId}) OR ${userId} = ${b.value(owner.userId)})`;
}

/**
 * The common path: apply the whole update when the purchase is new or has applied nothing newer
 * under the lexicographic key (appliedGen, appliedOrder) ≤ (gen, order), appliedGen absent = 0.
 */
function guardedBuilder(write: PurchaseWrite, nowIso: string): { b: ExpressionBuilder; condition: string } {
  const b = new ExpressionBuilder();
  b.set('platform', write.platform);
  b.set('subjectKey', write.subjectKey);
  b.setIfAbsent('createdAt', nowIso);
  b.set('updatedAt', nowIso);
  b.set('appliedAt', write.update.t);
  b.set('appliedOrder', write.update.order);
  const gen = write.update.gen ?? 0;
  if (gen > 0) b.set('appliedGen', gen);
  setFields(b, write.update.set, write.update);
  setOwner(b, write.owner);
  const pk = b.name('pk');
  const appliedOrder = b.name('appliedOrder');
  const appliedGen = b.name('appliedGen');
  const order = b.value(write.update.order);
  const orderGuard =
    gen === 0
      ? `attribute_not_exists(${pk}) OR (attribute_not_exists(${appliedGen}) AND ${appliedOrder} <= ${order})`
      : `attribute_not_exists(${pk}) OR attribute_not_exists(${appliedGen}) OR ${appliedGen} < ${b.value(gen)}` +
        ` OR (${appliedGen} = ${b.value(gen)} AND ${appliedOrder} <= ${order})`;
  const ownerGuard = claimGuard(b, write.owner);
  return { b, condition: ownerGuard ? `(${orderGuard}) AND ${ownerGuard}` : orderGuard };
}

/**
 * The stale path: `current` (the item as read, or returned with a failed condition) already
 * holds something newer. Write only the fields the merge rule lets this update set, plus the
 * owner, and only over exactly that version of the item (`rev`), so a concurrent write sends us
 * back to merge again. Undefined when there is nothing to write.
 */
function staleFillBuilder(
  write: PurchaseWrite,
  current: Record<string, unknown>,
  nowIso: string,
): { b: ExpressionBuilder; condition: string } | undefined {
  const purchase = purchaseFromItem(current);
  const fill = staleFill(purchase, write.update);
  const owner = write.owner;
  // A blocked claim never gets here (the store refuses first); a claim on an unowned item sets it.
  const ownerChanges =
    owner !== undefined &&
    (owner.mode === 'if-absent' ? purchase.userId === undefined : purchase.userId !== owner.userId);
  if (Object.keys(fill).length === 0 && !ownerChanges) return undefined;
  const b = new ExpressionBuilder();
  b.set('updatedAt', nowIso);
  setFields(b, fill, write.update);
  if (ownerChanges) setOwner(b, owner);
  const pk = b.name('pk');
  return { b, condition: `attribute_exists(${pk}) AND ${revPin(b, current)}` };
}

function revPin(b: ExpressionBuilder, current: Record<string, unknown>): string {
  const rev = b.name('rev');
  return typeof current.rev === 'number'
    ? `${rev} = ${b.value(current.rev)}`
    : `attribute_not_exists(${rev})`;
}

/** The newest update `item` has applied is at or below `update` under (appliedGen, appliedOrder). */
function guardPasses(item: Record<string, unknown>, update: PurchaseUpdate): boolean {
  const appliedGen = typeof item.appliedGen === 'number' ? item.appliedGen : 0;
  const gen = update.gen ?? 0;
  if (appliedGen !== gen) return appliedGen < gen;
  return typeof item.appliedOrder === 'number' && item.appliedOrder <= update.order;
}

/**
 * Set on a purchase whose owner was erased (shared/store/user-erasure.ts): the time of the
 * erasure. Its only meaning is the rule below.
 */
export const ERASED_AT = 'erasedAt';

export function isErasedItem(item: Record<string, unknown> | undefined): boolean {
  return typeof item?.[ERASED_AT] === 'string';
}

/**
 * The erasure rule (architecture §3.9): a purchase whose owner was erased keeps its store facts
 * but never takes back the store's `appUserId` (that uuid was personal data), and while it has no
 * owner nothing automatic gives it one: not the old binding through a webhook (`if-absent`), not
 * a verify or restore (`claim`). Only an operator's transfer gives it one (transfers.ts, outside
 * this merge); `set` is let through here, but verify's `move` stops at the erased purchase first.
 * Otherwise the next person to present the receipt, or a uuid that happens to be minted again, would
 * inherit a deleted customer's purchase.
 */
function withoutErasedOwner(
  write: PurchaseWrite,
  current: Record<string, unknown> | undefined,
): PurchaseWrite {
  if (!isErasedItem(current)) return write;
  const { appUserId: _dropped, ...set } = write.update.set;
  const keepsOwner = write.owner?.mode === 'set' || typeof current?.userId === 'string';
  const { owner: _owner, ...rest } = write;
  return {
    ...rest,
    update: { ...write.update, set },
    ...(keepsOwner && write.owner ? { owner: write.owner } : {}),
  };
}

/** Attributes a write always touches, which alone do not make it a change. */
const BOOKKEEPING_ONLY = new Set<string>(['updatedAt', 'rev', ...CHECK_ATTRIBUTES]);

/**
 * Places the purchase as it is after the write in the due-for-a-check index (or takes it out),
 * in the same write, when the write changes what the purchase says (its facts or owner): that is
 * news, so its checks start over. A write of bookkeeping only (a later order key with the same
 * facts, as a check that learnt nothing writes) leaves the schedule to the checks.
 */
function scheduleCheck(b: ExpressionBuilder, after: Record<string, unknown>, nowIso: string): void {
  const check = checkAttributesFor(purchaseFromItem(after), Date.parse(nowIso));
  if (check.due) {
    b.set('checkDue', check.checkDue);
    b.set('checkAt', check.checkAt);
    b.set('checkAttempts', check.checkAttempts);
  } else if (CHECK_ATTRIBUTES.some((attribute) => after[attribute] !== undefined)) {
    for (const attribute of CHECK_ATTRIBUTES) b.remove(attribute);
  }
}

export interface PlannedWrite {
  /** The write, pinned to the version `current` read; undefined when it would change nothing. */
  operation?: UpdateOperation;
  /** The item as it is after the write (as `current` when there is no write). */
  after: Record<string, unknown>;
  /** The purchase had applied something newer: only blank fields (and the owner) are written. */
  stale: boolean;
  /** The item's write counter after the write. */
  rev: number;
}

/**
 * The write of `write` over `current` (the item as read, undefined when there is none), merged in
 * memory with the same rules the conditions enforce, so the caller knows the item after it (for
 * history) without a write that returns it. The condition pins `current`'s version (`rev`), so the
 * write lands on exactly the item it was merged with, or fails and hands that item back.
 */
export function planWrite(
  requested: PurchaseWrite,
  current: Record<string, unknown> | undefined,
  nowIso: string,
): PlannedWrite {
  const write = withoutErasedOwner(requested, current);
  const stale = current !== undefined && !guardPasses(current, write.update);
  const built = stale && current ? staleFillBuilder(write, current, nowIso) : guardedBuilder(write, nowIso);
  const rev = (typeof current?.rev === 'number' ? current.rev : 0) + 1;
  if (!built) return { after: current ?? {}, stale, rev: rev - 1 };
  const after: Record<string, unknown> = { ...(current ?? {}), pk: write.pk };
  for (const [attribute, { value, ifAbsent }] of built.b.effects) {
    if (!ifAbsent || after[attribute] === undefined) after[attribute] = value;
  }
  after.rev = rev;
  if (current && sameExceptBookkeeping(current, after)) return { after: current, stale, rev: rev - 1 };
  if (changedFields(current, after) !== undefined) scheduleCheck(built.b, after, nowIso);
  for (const attribute of CHECK_ATTRIBUTES) {
    const effect = built.b.effects.get(attribute);
    if (!effect) continue;
    if (effect.value === undefined) delete after[attribute];
    else after[attribute] = effect.value;
  }
  const pin = current
    ? stale
      ? '' // the stale fill already pins rev
      : ` AND ${revPin(built.b, current)}`
    : ` AND attribute_not_exists(${built.b.name('pk')})`;
  return { operation: built.b.operation(`(${built.condition})${pin}`), after, stale, rev };
}

function sameExceptBookkeeping(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    if (BOOKKEEPING_ONLY.has(key)) continue;
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) return false;
  }
  return true;
}

/**
 * A stored purchase item as a Purchase (order and generation attributes folded into fieldOrder
 * and fieldGen, `rev` and the due-for-a-check attributes dropped).
 */
export function purchaseFromItem(item: Record<string, unknown>): Purchase {
  const fieldOrder: Purchase['fieldOrder'] = {};
  const fieldGen: NonNullable<Purchase['fieldGen']> = {};
  const purchase: Record<string, unknown> = {};
  for (const [attribute, value] of Object.entries(item)) {
    if (attribute.startsWith(ORDER_PREFIX)) {
      fieldOrder[attribute.slice(ORDER_PREFIX.length) as PurchaseField] = value as number;
    } else if (attribute.startsWith(GEN_PREFIX)) {
      fieldGen[attribute.slice(GEN_PREFIX.length) as PurchaseField] = value as number;
    } else if (attribute !== 'rev' && !(CHECK_ATTRIBUTES as readonly string[]).includes(attribute)) {
      purchase[attribute] = value;
    }
  }
  return { ...(purchase as unknown as Purchase), fieldOrder, fieldGen };
}

export function isPurchaseItem(item: Record<string, unknown>): boolean {
  return typeof item.platform === 'string' && typeof item.subjectKey === 'string';
}
