import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalRuntime } from '../../dev/local/local-runtime';
import type { AdminTarget } from '../../ops/admin-request';
import { grantPk } from '../../shared/domain/grant';
import { aliasKey, purchaseKey } from '../../shared/domain/purchase';
import { documentClient, tableName } from '../../shared/store/dynamo-client';
import { historyOfPurchase, historyPut } from '../../shared/store/history';
import { getPurchase, storedItem } from '../../shared/store/purchases';
import { startRuntimeInMemory } from '../support/local-runtime';
import { devToken, sandboxCall, userCall } from '../support/local-runtime-calls';
import { adminCall, localAdminTarget } from '../support/operator-calls';

// History is written in the same transaction as the change it records, so a failure between the
// two leaves neither. The failure is a real one, in DynamoDB Local: a history record already holds
// the number the change's record needs (as if written outside the transaction), so the record's
// append-only condition fails and DynamoDB cancels the state change with it. Through the local
// runtime (what `npm start` serves), for each path that writes: verify, the webhook consumer, an
// operator's grant and an operator's transfer.

interface SandboxPurchase {
  id: string;
  token: string;
  subjectKey: string;
}

/** Writes the history record of `pk`'s `rev`-th change outside any transaction; answers its sort key. */
async function preWriteHistory(pk: string, rev: number): Promise<string> {
  const put = historyPut({
    pk,
    rev,
    now: new Date(),
    cause: { source: 'reconciliation' },
    before: undefined,
    after: {},
  });
  await documentClient().send(new PutCommand(put));
  return put.Item.sk;
}

describe('history and state are written together, or neither (local runtime, DynamoDB Local)', () => {
  let runtime: LocalRuntime;
  let dataDir: string;
  let target: AdminTarget;
  let sandboxUrl: string;
  const stamp = Date.now();
  const consumerLog: string[] = [];

  const api = (path: string, token: string, body?: unknown) => userCall(runtime.apiUrl, path, token, body);
  const keysOf = async (token: string) =>
    ((await api('/api/iap/entitlements', token)).body.entitlements as Array<{ key: string }>).map(
      (e) => e.key,
    );
  const buy = (appUserId?: string) =>
    sandboxCall<{
      purchase: SandboxPurchase;
      webhooks: Array<{ eventId: string; source: string; externalId?: string | null }>;
    }>(sandboxUrl, '/purchases', {
      platform: 'apple',
      productId: 'premium_monthly',
      ...(appUserId ? { appUserId } : {}),
      deliver: false,
    });
  const verifyAs = (token: string, transactionId: string) =>
    api('/api/iap/verify/apple', token, {
      productId: 'premium_monthly',
      transactionId,
      type: 'subscription',
    });

  const admin = (path: string, payload: unknown) => adminCall(target, 'POST', path, payload);

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'iap-atomicity-e2e-'));
    ({ runtime } = await startRuntimeInMemory({
      dataDir,
      log: (line) => {
        if (line.startsWith('webhook-consumer:')) consumerLog.push(line);
      },
    }));
    sandboxUrl = process.env.ATTESTO_URL as string;
    target = localAdminTarget(runtime);
  }, 90_000);

  afterAll(async () => {
    await runtime?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('verify: the purchase, its alias and its history are all missing after the failure', async () => {
    const token = await devToken(runtime.apiUrl, `v-${stamp}`);
    const { purchase } = await buy();
    const pk = purchaseKey('apple', purchase.subjectKey);
    const sk = await preWriteHistory(pk, 1);

    const failed = await verifyAs(token, purchase.token);
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect(await storedItem(pk)).toBeUndefined();
    expect(await storedItem(aliasKey('apple-tx', purchase.token))).toBeUndefined();
    expect((await historyOfPurchase(pk)).records.map((r) => r.sk)).toEqual([sk]);
    expect(await keysOf(token)).toEqual([]);
  }, 60_000);

  it('webhook consumer: neither the purchase, its history nor the event marker is written', async () => {
    const { purchase, webhooks } = await buy();
    const pk = purchaseKey('apple', purchase.subjectKey);
    const sk = await preWriteHistory(pk, 1);
    const [webhook] = webhooks;
    if (!webhook) throw new Error('the sandbox sent no webhook');

    const batches = consumerLog.length;
    await sandboxCall(sandboxUrl, `/webhooks/${webhook.eventId}/deliver`, {});
    // The consumer ran the record and reported it failed (SQS retries it later, then the DLQ).
    const report = await vi.waitUntil(() => consumerLog.slice(batches).find((l) => l.includes('failed')), {
      timeout: 30_000,
      interval: 50,
    });
    expect(report).toMatch(/1 record\(s\), 1 failed/);
    expect(await storedItem(pk)).toBeUndefined();
    expect((await historyOfPurchase(pk)).records.map((r) => r.sk)).toEqual([sk]);
    const marker = await documentClient().send(
      new GetCommand({
        TableName: tableName('PROCESSED_EVENTS_TABLE'),
        // The consumer's marker key: the store's own event id when there is one (direct-envelope.ts).
        Key: { pk: webhook.externalId ? `${webhook.source}:${webhook.externalId}` : webhook.eventId },
        ConsistentRead: true,
      }),
    );
    expect(marker.Item).toBeUndefined();
  }, 60_000);

  it('grant: no grant item, no history of it, no entitlement', async () => {
    const user = `g-${stamp}`;
    const token = await devToken(runtime.apiUrl, user);
    await preWriteHistory(grantPk(user, 'premium'), 1);

    const failed = await admin('/admin/grants', {
      userId: user,
      key: 'premium',
      until: 'never',
      reason: 'goodwill',
    });
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect(await storedItem(grantPk(user, 'premium'))).toBeUndefined();
    expect((await historyOfPurchase(grantPk(user, 'premium'))).records).toHaveLength(1);
    expect(await keysOf(token)).toEqual([]);
  }, 60_000);

  it('transfer: the purchase stays with its owner, unchanged, and both users keep their entitlements', async () => {
    const from = `tf-${stamp}`;
    const to = `tt-${stamp}`;
    const [fromToken, toToken] = await Promise.all([
      devToken(runtime.apiUrl, from),
      devToken(runtime.apiUrl, to),
    ]);
    const { purchase } = await buy();
    const pk = purchaseKey('apple', purchase.subjectKey);
    expect((await verifyAs(fromToken, purchase.token)).body.valid).toBe(true);
    const before = await storedItem(pk);
    await preWriteHistory(pk, (before?.rev as number) + 1);
    const recordsBefore = (await historyOfPurchase(pk)).records;

    const failed = await admin('/admin/transfer', {
      ref: purchase.token,
      toUserId: to,
      reason: 'new account',
    });
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect(await storedItem(pk)).toEqual(before);
    expect((await getPurchase(pk))?.transfer).toBeUndefined();
    expect((await historyOfPurchase(pk)).records).toEqual(recordsBefore);
    expect(await keysOf(fromToken)).toEqual(['premium']);
    expect(await keysOf(toToken)).toEqual([]);
  }, 60_000);
});
