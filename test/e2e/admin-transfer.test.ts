import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalRuntime } from '../../dev/local/local-runtime';
import type { AdminTarget } from '../../ops/admin-request';
import { purchaseKey } from '../../shared/domain/purchase';
import { historyOfPurchase } from '../../shared/store/history';
import { getPurchase } from '../../shared/store/purchases';
import { startRuntimeInMemory } from '../support/local-runtime';
import { devToken, sandboxCall, userCall } from '../support/local-runtime-calls';
import { adminCall, adminCli, localAdminTarget } from '../support/operator-calls';

// An operator moves a purchase to the customer's new account through the local runtime (what
// `npm start` serves) and `npm run admin -- transfer`: both users' entitlements change, the
// history record shows on both, and the store's binding to the old account no longer decides who
// owns the purchase — not a verify by the old account, not a webhook carrying its uuid.

interface SandboxPurchase {
  id: string;
  token: string;
  subjectKey: string;
  expiresAt: string | null;
}

interface HistoryRecord {
  pk: string;
  cause: { source: string; operator?: string; reason?: string };
  ownerBefore: string | null;
  ownerAfter: string | null;
}

describe('transferring a purchase through the local runtime', () => {
  let runtime: LocalRuntime;
  let dataDir: string;
  let target: AdminTarget;
  let sandboxUrl: string;
  const stamp = Date.now();
  const alice = `alice-${stamp}`;
  const bob = `bob-${stamp}`;
  let aliceToken: string;
  let bobToken: string;
  let aliceUuid: string;
  let bought: SandboxPurchase;
  let pk: string;

  const api = (path: string, token: string, body?: unknown) => userCall(runtime.apiUrl, path, token, body);
  const keysOf = async (token: string) =>
    ((await api('/api/iap/entitlements', token)).body.entitlements as Array<{ key: string }>).map(
      (e) => e.key,
    );
  const verifyAs = (token: string, transactionId: string) =>
    api('/api/iap/verify/apple', token, {
      productId: 'premium_monthly',
      transactionId,
      type: 'subscription',
    });

  const admin = (method: 'GET' | 'POST', path: string, payload?: unknown, query?: Record<string, string>) =>
    adminCall(target, method, path, payload, query);

  const cli = (...args: string[]) => adminCli(runtime, ...args);
  const cliFailure = (...args: string[]) =>
    cli(...args).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'iap-transfer-e2e-'));
    ({ runtime } = await startRuntimeInMemory({ dataDir }));
    sandboxUrl = process.env.ATTESTO_URL as string;
    target = localAdminTarget(runtime);
    [aliceToken, bobToken] = await Promise.all([
      devToken(runtime.apiUrl, alice),
      devToken(runtime.apiUrl, bob),
    ]);
    aliceUuid = (await api('/api/iap/uuid', aliceToken, {})).body.uuid as string;
    await api('/api/iap/uuid', bobToken, {});
    // Bought on alice's account: the store binds it to her uuid (appAccountToken).
    ({ purchase: bought } = await sandboxCall<{ purchase: SandboxPurchase }>(sandboxUrl, '/purchases', {
      platform: 'apple',
      productId: 'premium_monthly',
      appUserId: aliceUuid,
      deliver: false,
    }));
    pk = purchaseKey('apple', bought.subjectKey);
    expect((await verifyAs(aliceToken, bought.token)).body.valid).toBe(true);
  }, 90_000);

  afterAll(async () => {
    await runtime?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('moves the purchase with npm run admin: both users’ entitlements change, one history record shows on both', async () => {
    expect(await keysOf(aliceToken)).toEqual(['premium']);
    expect(await keysOf(bobToken)).toEqual([]);

    const { stdout } = await cli('transfer', bought.token, '--to', bob, '--reason', 'new account, ticket 77');
    expect(stdout).toContain(`Moved the purchase from ${alice} to ${bob}.`);
    expect(stdout).toContain(`owner ${bob}`);

    expect(await keysOf(aliceToken)).toEqual([]);
    expect(await keysOf(bobToken)).toEqual(['premium']);

    const expected = expect.objectContaining({
      pk,
      cause: expect.objectContaining({
        source: 'operator',
        operator: expect.stringMatching(/^arn:aws:iam::/),
        reason: 'new account, ticket 77',
      }),
      ownerBefore: alice,
      ownerAfter: bob,
    });
    for (const user of [alice, bob]) {
      const view = await admin('GET', '/admin/customer', undefined, { ref: user });
      const moves = (view.json.history as HistoryRecord[]).filter((h) => h.cause.source === 'operator');
      expect(moves, user).toEqual([expected]);
    }
  }, 90_000);

  it('keeps the purchase with its new owner: the old account’s verify is refused, the new one’s accepted', async () => {
    const refused = await verifyAs(aliceToken, bought.token);
    expect(refused.body).toEqual(expect.objectContaining({ valid: false, error: 'ALREADY_OWNED' }));
    expect((await getPurchase(pk))?.userId).toBe(bob);

    const accepted = await verifyAs(bobToken, bought.token);
    expect(accepted.body).toEqual(expect.objectContaining({ valid: true }));
    expect(accepted.body.entitlements).toEqual([expect.objectContaining({ key: 'premium' })]);
    expect(await keysOf(aliceToken)).toEqual([]);
  }, 60_000);

  it("keeps it with its new owner when a webhook carrying the old account's uuid arrives", async () => {
    const before = await getPurchase(pk);
    const renewed = await sandboxCall<{ purchase: SandboxPurchase }>(
      sandboxUrl,
      `/purchases/${bought.id}/renew`,
      {},
    );
    const after = await vi.waitUntil(
      async () => {
        const p = await getPurchase(pk);
        return p && p.expiresAt !== before?.expiresAt ? p : undefined;
      },
      { timeout: 20_000, interval: 50 },
    );
    expect(after.userId).toBe(bob);
    expect(after.appUserId).toBe(aliceUuid);
    expect(after.expiresAt).toBe(Date.parse(renewed.purchase.expiresAt as string));
    expect(await keysOf(bobToken)).toEqual(['premium']);
    expect(await keysOf(aliceToken)).toEqual([]);
  }, 60_000);

  it('answers changed:false and writes nothing when the purchase already belongs to the target user', async () => {
    const recordsBefore = (await historyOfPurchase(pk)).records.length;
    const again = await admin('POST', '/admin/transfer', {
      ref: bought.subjectKey,
      toUserId: bob,
      reason: 'twice',
    });
    expect(again.status).toBe(200);
    expect(again.json).toEqual(expect.objectContaining({ changed: false, from: bob, to: bob }));
    expect((await historyOfPurchase(pk)).records).toHaveLength(recordsBefore);
    const { stdout } = await cli('transfer', bought.subjectKey, '--to', bob, '--reason', 'twice');
    expect(stdout).toContain(`The purchase already belongs to ${bob}; nothing changed.`);
  }, 60_000);

  it('refuses a reference that names a user (400) and an unknown one (404), and the CLI exits 1', async () => {
    const user = await admin('POST', '/admin/transfer', { ref: alice, toUserId: bob, reason: 'r' });
    expect(user.status).toBe(400);
    expect(user.json.message).toContain(`"${alice}" names a user (app user id (JWT sub)), not a purchase`);
    expect(user.json.message).toContain('Apple transaction id');

    const unknown = await admin('POST', '/admin/transfer', {
      ref: 'no-such-ref',
      toUserId: bob,
      reason: 'r',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.json.message).toContain('No customer or purchase found for "no-such-ref"');
    expect(unknown.json.message).toContain('Google order id');

    const missingReason = await admin('POST', '/admin/transfer', { ref: bought.token, toUserId: bob });
    expect(missingReason.status).toBe(400);
    expect(missingReason.json.issues).toEqual([expect.objectContaining({ path: 'reason' })]);

    const failed = await cliFailure('transfer', aliceUuid, '--to', bob, '--reason', 'r');
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('names a user (appUserId uuid), not a purchase');
    const usage = await cliFailure('transfer', bought.token, '--reason', 'r');
    expect(usage?.code).toBe(2);
    expect(usage?.stderr).toContain('transfer needs --to <userId>');
  }, 60_000);
});
