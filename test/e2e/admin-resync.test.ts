import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../dev/local/local-runtime';
import type { AdminTarget } from '../../ops/admin-request';
import { purchaseKey } from '../../shared/domain/purchase';
import { updateFor } from '../../shared/domain/state-machine';
import { historyOfPurchase } from '../../shared/store/history';
import { getPurchase, recordSnapshot } from '../../shared/store/purchases';
import { startRuntimeInMemory } from '../support/local-runtime';
import { devToken, sandboxCall, userCall } from '../support/local-runtime-calls';
import { adminCall, adminCli, localAdminTarget } from '../support/operator-calls';
import { ev, MONTH, T } from '../support/purchase-histories';

// An operator re-syncs a purchase through the local runtime and `npm run admin -- resync`: the
// sandbox changes the purchase at the store without sending a webhook (as when one is lost), and
// the resync applies the store's answer once, through the verify path's ordered write, with an
// operator history record; a second resync finds nothing new and writes nothing; an Attesto that
// fails leaves the purchase as it was.

interface SandboxPurchase {
  id: string;
  token: string;
  subjectKey: string;
}

describe('re-syncing a purchase through the local runtime', () => {
  let runtime: LocalRuntime;
  let dataDir: string;
  let target: AdminTarget;
  let sandboxUrl: string;
  const carol = `carol-${Date.now()}`;
  let carolToken: string;

  const api = (path: string, token: string, body?: unknown) => userCall(runtime.apiUrl, path, token, body);
  const keysOf = async (token: string) =>
    ((await api('/api/iap/entitlements', token)).body.entitlements as Array<{ key: string }>).map(
      (e) => e.key,
    );
  const sandbox = <T>(path: string, body: unknown) => sandboxCall<T>(sandboxUrl, path, body);

  const admin = (path: string, payload: unknown) => adminCall(target, 'POST', path, payload);

  const cli = (...args: string[]) => adminCli(runtime, ...args);

  /** A purchase carol bought and verified; the store's webhooks are never sent. */
  async function verifiedPurchase(platform: 'apple' | 'google'): Promise<SandboxPurchase> {
    const { purchase } = await sandbox<{ purchase: SandboxPurchase }>('/purchases', {
      platform,
      productId: 'premium_monthly',
      deliver: false,
    });
    const verified =
      platform === 'apple'
        ? await api('/api/iap/verify/apple', carolToken, {
            productId: 'premium_monthly',
            transactionId: purchase.token,
            type: 'subscription',
          })
        : await api('/api/iap/verify/google', carolToken, {
            productId: 'premium_monthly',
            purchaseToken: purchase.token,
            type: 'subscription',
          });
    expect(verified.body.valid).toBe(true);
    return purchase;
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'iap-resync-e2e-'));
    ({ runtime } = await startRuntimeInMemory({ dataDir }));
    sandboxUrl = process.env.ATTESTO_URL as string;
    target = localAdminTarget(runtime);
    carolToken = await devToken(runtime.apiUrl, carol);
  }, 90_000);

  afterAll(async () => {
    await runtime?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('applies an Apple refund no webhook told about, once; a second resync writes nothing', async () => {
    const bought = await verifiedPurchase('apple');
    const pk = purchaseKey('apple', bought.subjectKey);
    expect(await keysOf(carolToken)).toEqual(['premium']);
    const recordsBefore = (await historyOfPurchase(pk)).records.length;

    await sandbox(`/purchases/${bought.id}/refund`, { deliver: false });
    expect((await getPurchase(pk))?.status).toBe('active');

    const { stdout } = await cli('resync', bought.token, '--reason', 'customer says refunded');
    expect(stdout).toContain('Re-synced: the store answered something new, now applied.');
    expect(stdout).toMatch(/apple {2}premium_monthly {2}refunded/);
    expect((await getPurchase(pk))?.status).toBe('refunded');
    expect(await keysOf(carolToken)).toEqual([]);

    const records = (await historyOfPurchase(pk)).records;
    expect(records).toHaveLength(recordsBefore + 1);
    expect(records[0]).toEqual(
      expect.objectContaining({
        cause: expect.objectContaining({
          source: 'operator',
          event: 'resync',
          operator: expect.stringMatching(/^arn:aws:iam::/),
          reason: 'customer says refunded',
        }),
        before: expect.objectContaining({ status: 'active' }),
        after: expect.objectContaining({ status: 'refunded' }),
        ownerBefore: carol,
        ownerAfter: carol,
      }),
    );

    const again = await admin('/admin/resync', { ref: bought.subjectKey });
    expect(again.status).toBe(200);
    expect(again.json).toEqual(
      expect.objectContaining({ changed: false, purchase: expect.objectContaining({ status: 'refunded' }) }),
    );
    expect((await historyOfPurchase(pk)).records).toHaveLength(recordsBefore + 1);
  }, 90_000);

  it('applies a Google cancellation no webhook told about', async () => {
    const bought = await verifiedPurchase('google');
    const pk = purchaseKey('google', bought.subjectKey);
    expect((await getPurchase(pk))?.willRenew).toBe(true);
    await sandbox(`/purchases/${bought.id}/cancel`, { deliver: false });

    const resynced = await admin('/admin/resync', { ref: bought.token });
    expect(resynced.status).toBe(200);
    expect(resynced.json).toEqual(
      expect.objectContaining({ changed: true, purchase: expect.objectContaining({ willRenew: false }) }),
    );
    expect((await getPurchase(pk))?.willRenew).toBe(false);
    expect((await historyOfPurchase(pk)).records[0]?.cause).toEqual(
      expect.objectContaining({ source: 'operator', event: 'resync' }),
    );
  }, 90_000);

  it('answers 503 and writes nothing when Attesto fails; the CLI exits 1 with the message', async () => {
    const bought = await verifiedPurchase('apple');
    const pk = purchaseKey('apple', bought.subjectKey);
    await sandbox(`/purchases/${bought.id}/refund`, { deliver: false });
    const before = await getPurchase(pk);
    const recordsBefore = (await historyOfPurchase(pk)).records.length;

    await sandbox('/knobs', { errorRate: 1 });
    try {
      const failed = await admin('/admin/resync', { ref: bought.token });
      expect(failed.status).toBe(503);
      expect(failed.json.error).toBe('SERVICE_UNAVAILABLE');
      const cliFailed = await cli('resync', bought.token).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(cliFailed?.code).toBe(1);
      expect(cliFailed?.stderr).toMatch(/Attesto/);
    } finally {
      await sandbox('/knobs', { errorRate: 0 });
    }
    expect(await getPurchase(pk)).toEqual(before);
    expect((await historyOfPurchase(pk)).records).toHaveLength(recordsBefore);
  }, 90_000);

  it('answers 502 naming Attesto’s reason when it does not know the transaction, and writes nothing', async () => {
    // A purchase a webhook recorded whose transaction the store does not know (another app's).
    const pk = purchaseKey('apple', `${Date.now()}`);
    await recordSnapshot({ pk, update: updateFor(ev('renewed', T, { expiresAt: T + MONTH })) });
    const before = await getPurchase(pk);
    const failed = await admin('/admin/resync', { ref: pk.slice('apple#'.length) });
    expect(failed.status).toBe(502);
    expect(failed.json.message).toContain('Attesto did not verify the purchase (TRANSACTION_NOT_FOUND');
    expect(failed.json.message).toContain('nothing was written');
    expect(await getPurchase(pk)).toEqual(before);
  }, 60_000);

  it('answers 404 for an unknown reference and 400 for one that names a user', async () => {
    const unknown = await admin('/admin/resync', { ref: 'never-seen-anywhere' });
    expect(unknown.status).toBe(404);
    expect(unknown.json.message).toContain('No customer or purchase found for "never-seen-anywhere"');
    const user = await admin('/admin/resync', { ref: carol });
    expect(user.status).toBe(400);
    expect(user.json.message).toContain('names a user');
  }, 60_000);
});
