import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../dev/local/local-runtime';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../dev/local/provision';
import type { AdminTarget } from '../../ops/admin-request';
import { purchaseKey } from '../../shared/domain/purchase';
import { storedItem } from '../../shared/store/purchases';
import { tables } from '../../shared/store/tables';
import { startRuntimeInMemory } from '../support/local-runtime';
import { devToken, sandboxCall, userCall } from '../support/local-runtime-calls';
import { adminCall, adminCliExit, localAdminTarget } from '../support/operator-calls';

// Export and erasure through the local runtime (what `npm start` serves) and `npm run admin`:
// the export holds every kind of item stored about a customer; after the erasure no table holds
// their user id or uuid anywhere, their purchases stay without an owner, and neither a later
// webhook nor a later verify gives those purchases to anybody.

interface SandboxPurchase {
  id: string;
  subjectKey: string;
  token: string;
}

interface RuntimeInfo {
  dynamodbEndpoint: string;
  tables: Record<string, string>;
}

describe('export and erasure through the local runtime and npm run admin', () => {
  let runtime: LocalRuntime;
  let dataDir: string;
  let target: AdminTarget;
  let info: RuntimeInfo;
  let ddb: DynamoDBDocumentClient;
  const stamp = Date.now();
  const dora = `dora-${stamp}@example.com`;
  let doraUuid: string;
  let subscription: SandboxPurchase;
  let coins: SandboxPurchase;

  const userApi = (path: string, token: string, body?: unknown) =>
    userCall(runtime.apiUrl, path, token, body);
  const sandbox = <T>(path: string, body: unknown) =>
    sandboxCall<T>(process.env.ATTESTO_URL as string, path, body);

  const admin = (method: 'GET' | 'POST', path: string, payload?: unknown) =>
    adminCall(target, method, path, payload);

  const cli = (...args: string[]) => adminCliExit(runtime, ...args);

  /** Every item of every table the runtime provisioned, as JSON text, by table. */
  async function everyTable(): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const name of Object.values(info.tables)) {
      const items: string[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await ddb.send(new ScanCommand({ TableName: name, ExclusiveStartKey }));
        items.push(...(page.Items ?? []).map((i) => JSON.stringify(i)));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      out[name] = items;
    }
    return out;
  }

  /** Waits (generous budget, not a timing assertion) until the consumer has written a newer rev. */
  async function untilRevAbove(pk: string, rev: number): Promise<Record<string, unknown>> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const item = await storedItem(pk);
      if (item && (item.rev as number) > rev) return item;
      if (Date.now() > deadline) throw new Error(`the webhook for ${pk} was not applied`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Purchases an operator moved: eve's to dora, and one of dora's to frank. */
  let moved: SandboxPurchase[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'iap-erasure-e2e-'));
    ({ runtime } = await startRuntimeInMemory({ dataDir }));
    target = localAdminTarget(runtime);
    info = (await (await fetch(`${runtime.apiUrl}/_dev/runtime`)).json()) as RuntimeInfo;
    ddb = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: info.dynamodbEndpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      }),
    );

    // dora: a uuid, a subscription bound to it (verified, then renewed by webhook), a consumable
    // credit, a promotional grant, and a rate-limit counter from her verifies.
    const token = await devToken(runtime.apiUrl, dora);
    doraUuid = (await userApi('/api/iap/uuid', token, {})).body.uuid as string;
    subscription = (
      await sandbox<{ purchase: SandboxPurchase }>('/purchases', {
        platform: 'apple',
        productId: 'premium_monthly',
        appUserId: doraUuid,
        // Verify records it; a purchase webhook landing later would change it under the export.
        deliver: false,
      })
    ).purchase;
    const verified = await userApi('/api/iap/verify/apple', token, {
      productId: 'premium_monthly',
      transactionId: subscription.token,
      type: 'subscription',
    });
    expect(verified.body.valid).toBe(true);
    const pk = purchaseKey('apple', subscription.subjectKey);
    const before = (await storedItem(pk)) as Record<string, unknown>;
    await sandbox(`/purchases/${subscription.id}/renew`, {});
    await untilRevAbove(pk, before.rev as number);
    coins = (
      await sandbox<{ purchase: SandboxPurchase }>('/purchases', {
        platform: 'apple',
        productId: 'coins_100',
        appUserId: doraUuid,
        deliver: false,
      })
    ).purchase;
    const credited = await userApi('/api/iap/verify/apple', token, {
      productId: 'coins_100',
      transactionId: coins.token,
      type: 'consumable',
    });
    expect(credited.body.valid).toBe(true);
    const granted = await admin('POST', '/admin/grants', {
      userId: dora,
      key: 'no_ads',
      until: 'never',
      reason: `goodwill for ${dora}`,
    });
    expect(granted.status).toBe(200);

    // Operators' transfers name users too: eve's purchase moved to dora, and one of dora's own
    // (bound to her uuid by the store) moved to frank.
    const buyAndVerify = async (userId: string) => {
      const userToken = await devToken(runtime.apiUrl, userId);
      const uuid = (await userApi('/api/iap/uuid', userToken, {})).body.uuid as string;
      const bought = (
        await sandbox<{ purchase: SandboxPurchase }>('/purchases', {
          platform: 'apple',
          productId: 'premium_monthly',
          appUserId: uuid,
          deliver: false,
        })
      ).purchase;
      const answer = await userApi('/api/iap/verify/apple', userToken, {
        productId: 'premium_monthly',
        transactionId: bought.token,
        type: 'subscription',
      });
      expect(answer.body.valid).toBe(true);
      return bought;
    };
    const fromEve = await buyAndVerify('eve.erasure');
    const toFrank = await buyAndVerify(dora);
    moved = [fromEve, toFrank];
    for (const [bought, toUserId] of [
      [fromEve, dora],
      [toFrank, 'frank.erasure'],
    ] as const) {
      const moved = await admin('POST', '/admin/transfer', { ref: bought.token, toUserId, reason: 'ticket' });
      expect(moved.status).toBe(200);
    }
  }, 120_000);

  afterAll(async () => {
    ddb?.destroy();
    await runtime?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('the runtime provisions every table the product defines, so the scans below see them all', () => {
    expect(Object.keys(info.tables).sort()).toEqual(tables.map((t) => t.envVar).sort());
  });

  it('exports every kind of item stored about the customer, with the full history', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iap-export-'));
    try {
      const file = join(dir, 'dora.json');
      const written = await cli('export', dora, '--out', file);
      expect(written.code).toBe(0);
      const doc = JSON.parse(readFileSync(file, 'utf8'));
      const printed = await cli('export', dora);
      expect(printed.code).toBe(0);
      expect(JSON.parse(printed.stdout)).toEqual({ ...doc, exportedAt: expect.any(String) });

      expect(doc).toEqual(
        expect.objectContaining({
          version: 1,
          userId: dora,
          appUserId: doraUuid,
          exportedAt: expect.any(String),
        }),
      );
      expect(doc.userIds.map((i: { pk: string }) => i.pk).sort()).toEqual([
        `user#${dora}`,
        `uuid#${doraUuid}`,
      ]);
      expect(doc.purchases.map((p: { pk: string }) => p.pk).sort()).toEqual(
        [coins, subscription, ...moved].map((p) => purchaseKey('apple', p.subjectKey)).sort(),
      );
      // All fields, as stored.
      expect(doc.purchases[0]).toEqual(
        expect.objectContaining({
          userId: dora,
          appUserId: doraUuid,
          status: 'active',
          rev: expect.any(Number),
        }),
      );
      expect(doc.grants).toEqual([expect.objectContaining({ key: 'no_ads', userId: dora })]);
      expect(doc.credits).toEqual([expect.objectContaining({ creditedTo: dora, productId: 'coins_100' })]);
      expect(doc.aliases.length).toBeGreaterThanOrEqual(2);
      expect(doc.aliases).toContainEqual(
        expect.objectContaining({ target: purchaseKey('apple', subscription.subjectKey) }),
      );
      expect(doc.rateLimits.length).toBeGreaterThanOrEqual(1);
      expect(doc.rateLimits[0].pk).toMatch(new RegExp(`^attesto-calls#${dora}#\\d+$`));
      // verify, the renewal webhook, the consumable's verify and the grant.
      const causes = doc.history.map((h: { cause: { source: string } }) => h.cause.source);
      expect(causes).toEqual(expect.arrayContaining(['verify', 'attesto-webhook', 'operator']));
      expect(doc.history.length).toBeGreaterThanOrEqual(4);
      // The user's outbox item: their newest entitlements.changed event.
      expect(doc.entitlementEvents).toEqual([
        expect.objectContaining({ pk: `user#${dora}`, userId: dora, sequence: expect.any(Number) }),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('an export of an unknown user exits non-zero naming what was searched', async () => {
    const res = await cli('export', `nobody-${stamp}`);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      new RegExp(`Nothing is stored about user id "nobody-${stamp}" \\(searched .*history`),
    );
  }, 120_000);

  it('erasure leaves neither the user id nor the uuid in any attribute of any table', async () => {
    const tablesBefore = await everyTable();
    const mentions = (all: Record<string, string[]>) =>
      Object.values(all)
        .flat()
        .filter((item) => item.includes(dora) || item.toLowerCase().includes(doraUuid.toLowerCase()));
    // The check can see her before the erasure.
    expect(mentions(tablesBefore).length).toBeGreaterThan(5);

    const res = await cli('erase', dora, '--reason', `deletion request from ${dora}`);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(
      new RegExp(`^Erased ${dora.replace('.', '\\.')} at .*: purchases 4, grants 1, credits 1`),
    );

    const after = await everyTable();
    expect(mentions(after)).toEqual([]);
    // The purchases stay, owned by nobody and marked erased.
    for (const subjectKey of [subscription.subjectKey, coins.subjectKey]) {
      const item = await storedItem(purchaseKey('apple', subjectKey));
      expect(item).toEqual(
        expect.objectContaining({ status: expect.any(String), erasedAt: expect.any(String) }),
      );
      expect(item?.userId).toBeUndefined();
      expect(item?.appUserId).toBeUndefined();
    }
    // One anonymous audit record: who erased, why, how much; never whom.
    const audits = after[info.tables.HISTORY_TABLE as string]
      ?.map((i) => JSON.parse(i))
      .filter((i) => String(i.pk).startsWith('erasure#'));
    expect(audits).toEqual([
      expect.objectContaining({
        cause: expect.objectContaining({
          source: 'operator',
          event: 'erasure',
          operator: expect.any(String),
          reason: 'erased',
        }),
        after: expect.objectContaining({ purchases: 4, grants: 1, credits: 1, userIds: 2 }),
      }),
    ]);
  }, 120_000);

  it('erasing again is harmless: 200, exit 0, nothing written', async () => {
    const res = await cli('erase', dora);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/nothing changed/);
    const json = await cli('erase', dora, '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(expect.objectContaining({ erased: false }));
    const audits = (await everyTable())[info.tables.HISTORY_TABLE as string]?.filter((i) =>
      i.includes('erasure#'),
    );
    expect(audits).toHaveLength(1);
  }, 120_000);

  it('a later webhook with the old binding gives the purchase to nobody and stores no uuid', async () => {
    const pk = purchaseKey('apple', subscription.subjectKey);
    const before = (await storedItem(pk)) as Record<string, unknown>;
    await sandbox(`/purchases/${subscription.id}/renew`, {});
    const after = await untilRevAbove(pk, before.rev as number);
    expect(after.userId).toBeUndefined();
    expect(after.appUserId).toBeUndefined();
    expect(after.erasedAt).toBe(before.erasedAt);
    expect(after.latestTransactionId).not.toBe(before.latestTransactionId);
  }, 120_000);

  it('a later verify, by a new user or a new account under the same id, does not re-attach it', async () => {
    for (const who of [`erin-${stamp}`, dora]) {
      const token = await devToken(runtime.apiUrl, who);
      await userApi('/api/iap/uuid', token, {});
      const verified = await userApi('/api/iap/verify/apple', token, {
        productId: 'premium_monthly',
        transactionId: subscription.token,
        type: 'subscription',
      });
      expect(verified.body).toEqual(expect.objectContaining({ valid: false, error: 'ALREADY_OWNED' }));
      const entitlements = await userApi('/api/iap/entitlements', token);
      expect(entitlements.body.entitlements).toEqual([]);
    }
    const item = await storedItem(purchaseKey('apple', subscription.subjectKey));
    expect(item?.userId).toBeUndefined();
  }, 120_000);
});
