import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../dev/local/local-runtime';
import { purchaseKey } from '../../shared/domain/purchase';
import { historyOfPurchase } from '../../shared/store/history';
import { storedItem } from '../../shared/store/purchases';
import { startRuntimeInMemory } from '../support/local-runtime';
import { devToken, sandboxCall, userCall } from '../support/local-runtime-calls';

// Reconciliation through the local runtime (what `npm start` serves) and its Attesto sandbox:
// store events whose webhooks never arrived (the sandbox records them without sending) are
// healed by the next pass, run on demand as `npm run reconcile` runs it. The timer is off
// (RECONCILE_EVERY=0) so only the test starts passes; a pass may make 3 Attesto calls.

const run = promisify(execFile);
const TSX = join(process.cwd(), 'node_modules/.bin/tsx');
const MAX_CALLS = 3;

interface SandboxPurchase {
  id: string;
  platform: 'apple' | 'google';
  subjectKey: string;
  token: string;
  expiresAt: string | null;
}

interface Summary {
  checked: number;
  changed: number;
  failed: number;
  stillDue: number;
  attestoCalls: number;
}

describe('reconciliation through the local runtime', () => {
  let runtime: LocalRuntime;
  let dataDir: string;
  let sandboxUrl: string;
  let users = 0;

  const sandbox = <T>(path: string, body: unknown) => sandboxCall<T>(sandboxUrl, path, body);
  const sandboxGet = async <T>(path: string) =>
    (await (await fetch(`${sandboxUrl}/_sandbox${path}`)).json()) as T;

  /** One pass now, as `npm run reconcile` asks for it. */
  async function pass(): Promise<Summary> {
    const res = await fetch(`${runtime.apiUrl}/_dev/reconcile`, { method: 'POST' });
    expect(res.status).toBe(200);
    return (await res.json()) as Summary;
  }

  async function entitlementsOf(user: string) {
    const res = await userCall(runtime.apiUrl, '/api/iap/entitlements', await devToken(runtime.apiUrl, user));
    return res.body.entitlements as Array<{ key: string; expiresAt: string; status: string }>;
  }

  /** Waits (generously) until the stored item of `pk` satisfies `ok`: webhooks are applied from the queue. */
  async function until(pk: string, ok: (stored: Record<string, unknown> | undefined) => boolean) {
    const deadline = Date.now() + 60_000;
    while (!ok(await storedItem(pk))) {
      if (Date.now() > deadline)
        throw new Error(
          `the purchase never reached the expected state: ${JSON.stringify(await storedItem(pk))}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Waits (generously) until the stored expiry of `pk` is behind us: from then on it is due. */
  async function untilExpired(pk: string) {
    const expiresAt = (await storedItem(pk))?.expiresAt as number;
    while (Date.now() <= expiresAt)
      await new Promise((r) => setTimeout(r, Math.min(500, expiresAt - Date.now() + 5)));
  }

  /** A Google subscription with a short period, bought (its webhook not sent) and verified by a new user. */
  async function subscribed(periodMs: number) {
    const user = `rec-${++users}-${Date.now()}`;
    const { purchase } = await sandbox<{ purchase: SandboxPurchase }>('/purchases', {
      platform: 'google',
      productId: 'premium_monthly',
      periodMs,
      // No webhook in flight: a late one would re-read the token and heal the purchase itself.
      deliver: false,
    });
    const verified = await userCall(
      runtime.apiUrl,
      '/api/iap/verify/google',
      await devToken(runtime.apiUrl, user),
      {
        productId: 'premium_monthly',
        purchaseToken: purchase.token,
        type: 'subscription',
      },
    );
    expect(verified.body.valid).toBe(true);
    return { user, purchase, pk: purchaseKey('google', purchase.subjectKey) };
  }

  /** Ends a test's subscription through a delivered webhook, so later passes do not see it. */
  const retire = (purchase: SandboxPurchase) => sandbox(`/purchases/${purchase.id}/expire`, {});

  const reconciliations = async (pk: string) =>
    (await historyOfPurchase(pk)).records.filter((r) => r.cause.source === 'reconciliation');

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'iap-reconcile-e2e-'));
    process.env.RECONCILE_EVERY = '0';
    process.env.RECONCILE_MAX_CALLS = String(MAX_CALLS);
    ({ runtime } = await startRuntimeInMemory({ dataDir }));
    sandboxUrl = process.env.ATTESTO_URL as string;
  });
  afterAll(async () => {
    await runtime?.stop();
    delete process.env.RECONCILE_EVERY;
    delete process.env.RECONCILE_MAX_CALLS;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('a renewal whose webhook never arrived is applied by the next pass (npm run reconcile -- --json)', async () => {
    const { purchase, pk, user } = await subscribed(3_000);
    const renewed = await sandbox<{ purchase: SandboxPurchase }>(`/purchases/${purchase.id}/renew`, {
      deliver: false,
    });
    await untilExpired(pk);
    const { stdout } = await run(TSX, ['dev/local/reconcile.ts', '--json'], {
      env: { ...process.env, PORT: new URL(runtime.apiUrl).port },
    });
    const printed = JSON.parse(stdout) as Record<string, number>;
    expect(Object.keys(printed)).toEqual(['checked', 'changed', 'failed']);
    expect(printed.changed).toBeGreaterThanOrEqual(1);
    expect(printed.failed).toBe(0);
    expect((await storedItem(pk))?.expiresAt).toBe(Date.parse(renewed.purchase.expiresAt as string));
    expect((await storedItem(pk))?.userId).toBe(user);
    const [record, ...more] = await reconciliations(pk);
    expect(more).toEqual([]);
    expect(record?.after).toMatchObject({ expiresAt: Date.parse(renewed.purchase.expiresAt as string) });
    await retire(purchase);
  });

  it('an expiry with auto-renew off and no webhook ends access after the pass, not before the stored expiry', async () => {
    const { purchase, pk, user } = await subscribed(20_000);
    await sandbox(`/purchases/${purchase.id}/cancel`, {});
    await until(pk, (stored) => stored?.willRenew === false);
    await sandbox(`/purchases/${purchase.id}/expire`, { deliver: false });
    // Before the stored expiry the purchase is not due: a pass leaves it, and the access, alone.
    await pass();
    expect((await storedItem(pk))?.status).toBe('active');
    expect((await storedItem(pk))?.willRenew).toBe(false);
    if (Date.now() < ((await storedItem(pk))?.expiresAt as number)) {
      expect((await entitlementsOf(user)).map((e) => e.key)).toEqual(['premium']);
    }
    expect(await reconciliations(pk)).toEqual([]);

    await untilExpired(pk);
    const after = await pass();
    expect(after.changed).toBeGreaterThanOrEqual(1);
    expect((await storedItem(pk))?.status).toBe('expired');
    expect(await entitlementsOf(user)).toEqual([]);
    expect(await reconciliations(pk)).toHaveLength(1);
    // Nothing left to learn: out of the due index.
    expect((await storedItem(pk))?.checkAt).toBeUndefined();
  });

  it('an orphan purchase whose owner verified elsewhere is left consistent', async () => {
    // The webhook arrives before any verify: the purchase exists, owned by nobody, and is due.
    const { purchase } = await sandbox<{ purchase: SandboxPurchase }>('/purchases', {
      platform: 'apple',
      productId: 'premium_monthly',
    });
    const pk = purchaseKey('apple', purchase.subjectKey);
    await until(pk, (stored) => stored?.status === 'active');
    expect((await storedItem(pk))?.userId).toBeUndefined();
    expect((await storedItem(pk))?.checkAt).toBeDefined();
    await pass();
    expect((await storedItem(pk))?.userId).toBeUndefined();

    const owner = `orphan-owner-${Date.now()}`;
    const verified = await userCall(
      runtime.apiUrl,
      '/api/iap/verify/apple',
      await devToken(runtime.apiUrl, owner),
      {
        productId: 'premium_monthly',
        transactionId: purchase.token,
        type: 'subscription',
      },
    );
    expect(verified.body.valid).toBe(true);
    await pass();
    const stored = await storedItem(pk);
    expect(stored?.userId).toBe(owner);
    expect((await entitlementsOf(owner)).map((e) => e.key)).toEqual(['premium']);
    // Owned and active: due again only after its stored expiry.
    expect(Date.parse(stored?.checkAt as string)).toBeGreaterThanOrEqual(stored?.expiresAt as number);
    for (const record of await reconciliations(pk)) expect(record.ownerAfter ?? owner).toBe(owner);
    await retire(purchase);
  });

  afterEach(async () => {
    await sandbox('/knobs', { errorRate: 0, burst429: 0 });
  });

  it('Attesto answering 5xx or 429: nothing changes, the purchase stays due, the pass reports failures', async () => {
    const { purchase, pk } = await subscribed(3_000);
    await sandbox(`/purchases/${purchase.id}/renew`, { deliver: false });
    await untilExpired(pk);
    const before = await storedItem(pk);

    await sandbox('/knobs', { errorRate: 1 });
    const failing = await pass();
    expect(failing.failed).toBeGreaterThanOrEqual(1);
    expect(failing.changed).toBe(0);
    expect(failing.stillDue).toBeGreaterThanOrEqual(1);
    expect(await storedItem(pk)).toEqual(before);

    await sandbox('/knobs', { errorRate: 0, burst429: 50, retryAfterSeconds: 1 });
    const limited = await pass();
    expect(limited.failed).toBeGreaterThanOrEqual(1);
    expect(limited.changed).toBe(0);
    expect(await storedItem(pk)).toEqual(before);
    expect(await reconciliations(pk)).toEqual([]);

    await sandbox('/knobs', { burst429: 0 });
    const healed = await pass();
    expect(healed.changed).toBeGreaterThanOrEqual(1);
    expect(await reconciliations(pk)).toHaveLength(1);
    await retire(purchase);
  });

  it('two passes at once apply each change once', async () => {
    const subs = [await subscribed(3_000), await subscribed(3_000)];
    for (const s of subs) await sandbox(`/purchases/${s.purchase.id}/renew`, { deliver: false });
    for (const s of subs) await untilExpired(s.pk);
    const [one, two] = await Promise.all([pass(), pass()]);
    expect(one.failed + two.failed).toBe(0);
    for (const s of subs) expect(await reconciliations(s.pk)).toHaveLength(1);
    for (const s of subs) await retire(s.purchase);
  });

  it('never makes more Attesto calls in a pass than its budget (counted at the sandbox)', async () => {
    const subs = [];
    for (let i = 0; i < MAX_CALLS + 2; i++) subs.push(await subscribed(3_000));
    for (const s of subs) await untilExpired(s.pk);
    await fetch(`${sandboxUrl}/_sandbox/stats/reset`, { method: 'POST' });
    const summary = await pass();
    const stats = await sandboxGet<{ verify: { total: number } }>('/stats');
    expect(stats.verify.total).toBe(MAX_CALLS);
    expect(summary.attestoCalls).toBe(MAX_CALLS);
    expect(summary.stillDue).toBeGreaterThanOrEqual(2);
  });
});
