import { randomUUID } from 'node:crypto';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalResources } from '../../dev/local/provision';
import { aliasKey, creditKey, purchaseKey } from '../../shared/domain/purchase';
import { type PurchaseEventFields, updateFor } from '../../shared/domain/state-machine';
import {
  getPurchase,
  purchasesOfUser,
  recordSnapshot,
  resolveAlias,
  withPurchase,
} from '../../shared/store/purchases';
import { useLocalAws } from '../support/local-aws';

const T = Date.UTC(2026, 0, 1);
const MONTH = 30 * 86_400_000;
const snapshot = (purchaseDate: number, fields: PurchaseEventFields) =>
  updateFor({ kind: 'snapshot', occurredAt: purchaseDate, fields });
const subscription = (purchaseDate: number, tx: string): PurchaseEventFields => ({
  productId: 'premium_monthly',
  productType: 'subscription',
  environment: 'sandbox',
  ownership: 'PURCHASED',
  expiresAt: purchaseDate + MONTH,
  latestTransactionId: tx,
});
const newPk = () => purchaseKey('apple', String(Math.floor(Math.random() * 1e15)));

let res: LocalResources;
async function itemsOf(pkPrefixOrExact: (pk: string) => boolean) {
  const ddb = new DynamoDBClient({});
  const scan = await ddb.send(new ScanCommand({ TableName: res.tableNames.PURCHASES_TABLE }));
  ddb.destroy();
  return (scan.Items ?? []).map((i) => unmarshall(i)).filter((i) => pkPrefixOrExact(i.pk as string));
}

beforeAll(async () => {
  res = await useLocalAws();
});

describe('recordSnapshot: ordering guard', () => {
  it('creates the purchase, then a newer snapshot moves it forward', async () => {
    const pk = newPk();
    const first = await recordSnapshot({
      pk,
      update: snapshot(T, subscription(T, 'tx1')),
      owner: { userId: 'u1', mode: 'set' },
    });
    expect(first).toMatchObject({ stale: false, credited: false });
    expect(first.purchase).toMatchObject({
      pk,
      platform: 'apple',
      status: 'active',
      expiresAt: T + MONTH,
      userId: 'u1',
      appliedAt: T,
    });
    const second = await recordSnapshot({
      pk,
      update: snapshot(T + MONTH, subscription(T + MONTH, 'tx2')),
      owner: { userId: 'u1', mode: 'set' },
    });
    expect(second.purchase).toMatchObject({
      expiresAt: T + 2 * MONTH,
      latestTransactionId: 'tx2',
      appliedAt: T + MONTH,
    });
    expect(second.purchase.createdAt).toBe(first.purchase.createdAt);
  });

  it('never shortens expiry when an older renewal is verified after a newer one; it fills blanks', async () => {
    const pk = newPk();
    const { appUserId: _omit, ...newerFields } = { ...subscription(T + MONTH, 'tx2'), appUserId: undefined };
    await recordSnapshot({
      pk,
      update: snapshot(T + MONTH, newerFields),
      owner: { userId: 'u1', mode: 'set' },
    });
    const older = await recordSnapshot({
      pk,
      update: snapshot(T, { ...subscription(T, 'tx1'), appUserId: '0b7d7c55-8a53-4d8e-8d3c-4d1b7f3f0a11' }),
      owner: { userId: 'u1', mode: 'set' },
    });
    expect(older.stale).toBe(true);
    expect(older.purchase).toMatchObject({
      expiresAt: T + 2 * MONTH,
      latestTransactionId: 'tx2',
      appliedAt: T + MONTH,
      appUserId: '0b7d7c55-8a53-4d8e-8d3c-4d1b7f3f0a11',
    });
    expect(await getPurchase(pk)).toEqual(older.purchase);
  });

  it('returns the stored purchase unchanged when a stale snapshot has nothing to add', async () => {
    const pk = newPk();
    const newer = await recordSnapshot({
      pk,
      update: snapshot(T + MONTH, subscription(T + MONTH, 'tx2')),
      owner: { userId: 'u1', mode: 'set' },
    });
    const older = await recordSnapshot({
      pk,
      update: snapshot(T, subscription(T, 'tx1')),
      owner: { userId: 'u1', mode: 'set' },
    });
    expect(older.stale).toBe(true);
    expect(older.purchase).toEqual(newer.purchase);
  });
});

describe('recordSnapshot: ownership', () => {
  it('set: the user takes the purchase, even through a stale snapshot', async () => {
    const pk = newPk();
    await recordSnapshot({
      pk,
      update: snapshot(T + MONTH, subscription(T + MONTH, 'tx2')),
      owner: { userId: 'alice', mode: 'set' },
    });
    const moved = await recordSnapshot({
      pk,
      update: snapshot(T, subscription(T, 'tx1')),
      owner: { userId: 'bob', mode: 'set' },
    });
    expect(moved.purchase.userId).toBe('bob');
    expect((await purchasesOfUser('alice')).map((p) => p.pk)).not.toContain(pk);
  });

  it('claim: an unowned purchase is claimed; one another user holds is refused and left untouched', async () => {
    const pk = newPk();
    await recordSnapshot({ pk, update: snapshot(T, subscription(T, 'tx1')) });
    expect((await getPurchase(pk))?.userId).toBeUndefined();
    const claimed = await recordSnapshot({
      pk,
      update: snapshot(T, subscription(T, 'tx1')),
      owner: { userId: 'carol', mode: 'claim' },
    });
    expect(claimed.purchase.userId).toBe('carol');
    const kept = await recordSnapshot({
      pk,
      update: snapshot(T + MONTH, subscription(T + MONTH, 'tx2')),
      owner: { userId: 'dave', mode: 'claim' },
    });
    // A refused claim writes nothing, not even the newer state it carried.
    expect(kept.heldBy).toBe('carol');
    expect(kept.purchase).toMatchObject({ userId: 'carol', expiresAt: T + MONTH });
    expect(await getPurchase(pk)).toEqual(claimed.purchase);
  });
  it('a refused claim writes no alias and no credit either', async () => {
    const pk = newPk();
    await recordSnapshot({
      pk,
      update: snapshot(T, subscription(T, 'tx1')),
      owner: { userId: 'gina', mode: 'claim' },
    });
    const alias = aliasKey('apple-tx', `refused-${randomUUID()}`);
    const credit = { key: `credit#apple#refused-${randomUUID()}`, productId: 'coins_100' };
    const refused = await recordSnapshot({
      pk,
      update: snapshot(T + MONTH, subscription(T + MONTH, 'tx2')),
      owner: { userId: 'hank', mode: 'claim' },
      aliases: [alias],
      credit,
    });
    expect(refused).toMatchObject({ heldBy: 'gina', credited: false });
    expect(await resolveAlias(alias)).toBeUndefined();
    expect(await itemsOf((k) => k === credit.key)).toEqual([]);
    expect(await getPurchase(pk)).toMatchObject({ userId: 'gina', latestTransactionId: 'tx1' });
  });
});

describe('aliases and the byUser index', () => {
  it('resolves every alias to the purchase and keeps aliases out of byUser', async () => {
    const pk = newPk();
    const userId = `u-${randomUUID()}`;
    const aliases = [
      aliasKey('apple-tx', 'tx-a1'),
      aliasKey('google-token', 'tok-1'),
      aliasKey('google-order', 'GPA.1'),
    ];
    const written = await recordSnapshot({
      pk,
      update: snapshot(T, subscription(T, 'tx-a1')),
      owner: { userId, mode: 'set' },
      aliases: [...aliases, aliases[0] as string],
    });
    expect(written.purchase).toMatchObject({ pk, userId, status: 'active' });
    for (const alias of aliases) expect(await resolveAlias(alias)).toBe(pk);
    expect(await resolveAlias(aliasKey('apple-tx', 'unknown'))).toBeUndefined();
    const aliasItems = await itemsOf((k) => aliases.includes(k));
    expect(aliasItems).toHaveLength(3);
    for (const item of aliasItems) expect(item).toEqual({ pk: item.pk, target: pk });
    expect((await purchasesOfUser(userId)).map((p) => p.pk)).toEqual([pk]);
  });

  it('lists all of a user’s purchases as Purchases, none of other users', async () => {
    const userId = `u-${randomUUID()}`;
    const pks = [newPk(), newPk(), newPk()];
    for (const [i, pk] of pks.entries()) {
      await recordSnapshot({
        pk,
        update: snapshot(T + i, subscription(T + i, `tx${i}`)),
        owner: { userId, mode: 'set' },
      });
    }
    await recordSnapshot({
      pk: newPk(),
      update: snapshot(T, subscription(T, 'other')),
      owner: { userId: `${userId}-x`, mode: 'set' },
    });
    const listed = await purchasesOfUser(userId);
    expect(listed.map((p) => p.pk).sort()).toEqual([...pks].sort());
    for (const p of listed) {
      expect(p.fieldOrder.status).toBeTypeOf('number');
      expect(p).not.toHaveProperty('rev');
    }
    expect(await purchasesOfUser(`nobody-${randomUUID()}`)).toEqual([]);
  });

  it('withPurchase merges a just-written purchase into a possibly stale index read', async () => {
    const pk = newPk();
    const { purchase } = await recordSnapshot({
      pk,
      update: snapshot(T, subscription(T, 'tx')),
      owner: { userId: 'eve', mode: 'set' },
    });
    const older = { ...purchase, status: 'expired' as const };
    expect(withPurchase([older], purchase, 'eve')).toEqual([purchase]);
    expect(withPurchase([], purchase, 'eve')).toEqual([purchase]);
    expect(withPurchase([older], purchase, 'someone-else')).toEqual([]);
  });
});

describe('consumables', () => {
  it('credits once under 6 concurrent verifies of the same transaction, with one purchase item', async () => {
    const pk = purchaseKey('google', `tok-${randomUUID()}`);
    const credit = {
      key: creditKey('google', pk.slice('google#'.length)),
      productId: 'coins_100',
      credits: { coins: 100 },
    };
    const fields: PurchaseEventFields = {
      productId: 'coins_100',
      productType: 'consumable',
      expiresAt: null,
      environment: 'production',
    };
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        recordSnapshot({
          pk,
          update: snapshot(T, fields),
          owner: { userId: 'frank', mode: 'set' },
          aliases: [aliasKey('google-order', `GPA.${pk}`)],
          credit,
        }),
      ),
    );
    expect(results.filter((r) => r.credited)).toHaveLength(1);
    for (const r of results)
      expect(r.purchase).toMatchObject({ pk, status: 'active', productType: 'consumable', userId: 'frank' });
    expect(await itemsOf((k) => k === pk)).toHaveLength(1);
    const ledger = await itemsOf((k) => k === credit.key);
    expect(ledger).toEqual([
      expect.objectContaining({
        pk: credit.key,
        purchasePk: pk,
        credits: { coins: 100 },
        creditedTo: 'frank',
      }),
    ]);
    expect(ledger[0]).not.toHaveProperty('userId');
    // A later verify of the same transaction credits nothing.
    const again = await recordSnapshot({
      pk,
      update: snapshot(T, fields),
      owner: { userId: 'frank', mode: 'set' },
      credit,
    });
    expect(again.credited).toBe(false);
  });
});
