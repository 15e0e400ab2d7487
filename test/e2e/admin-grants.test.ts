import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../dev/local/local-runtime';
import type { AdminTarget } from '../../ops/admin-request';
import { startRuntimeInMemory } from '../support/local-runtime';
import { devToken, userCall } from '../support/local-runtime-calls';
import { adminCall, adminCli, localAdminTarget } from '../support/operator-calls';
import { sdkEntitlementsResponseSchema } from '../support/sdk-schemas';

// Promotional grants through the local runtime (what `npm start` serves): an operator grants an
// entitlement key, and every answer the app gets (verify, restore, entitlements) and the customer
// view carry it until it expires or is revoked; each change leaves a history record.

interface Entitlement {
  key: string;
  productId: string;
  expiresAt: string | null;
  source?: string;
}

describe('promotional grants through the local runtime', () => {
  let runtime: LocalRuntime;
  let dataDir: string;
  let target: AdminTarget;
  const stamp = Date.now();
  const bob = `bob-${stamp}`;
  let bobToken: string;
  let bobTransactionId: string;

  const tokenFor = (sub: string) => devToken(runtime.apiUrl, sub);

  const userApi = (path: string, token: string, body?: unknown) =>
    userCall(runtime.apiUrl, path, token, body);

  const admin = (method: 'GET' | 'POST', path: string, payload?: unknown, query?: Record<string, string>) =>
    adminCall(target, method, path, payload, query);

  /** The three answers the app gets, each checked against the SDK's own schema. */
  async function everyAnswer(user: string, token: string): Promise<Record<string, Entitlement[]>> {
    const verify = await userApi('/api/iap/verify/apple', token, {
      productId: 'premium_monthly',
      transactionId: bobTransactionId,
      type: 'subscription',
    });
    const restore = await userApi('/api/iap/restore', token, { transactions: [] });
    const entitlements = await userApi('/api/iap/entitlements', token);
    const customer = await admin('GET', '/admin/customer', undefined, { ref: user });
    for (const answer of [verify, restore, entitlements]) {
      expect(answer.status).toBe(200);
      sdkEntitlementsResponseSchema.parse(answer.body);
    }
    expect(customer.status).toBe(200);
    return {
      verify: verify.body.entitlements as Entitlement[],
      restore: restore.body.entitlements as Entitlement[],
      entitlements: entitlements.body.entitlements as Entitlement[],
      customer: customer.json.entitlements as Entitlement[],
    };
  }

  const cli = (...args: string[]) => adminCli(runtime, ...args);

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'iap-grants-e2e-'));
    ({ runtime } = await startRuntimeInMemory({ dataDir }));
    target = localAdminTarget(runtime);
    bobToken = await tokenFor(bob);
    const uuid = (await userApi('/api/iap/uuid', bobToken, {})).body as unknown as { uuid: string };
    const res = await fetch(`${process.env.ATTESTO_URL}/_sandbox/purchases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ platform: 'apple', productId: 'premium_monthly', appUserId: uuid.uuid }),
    });
    bobTransactionId = ((await res.json()) as { purchase: { token: string } }).purchase.token;
  }, 90_000);

  afterAll(async () => {
    await runtime?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows a grant in verify, restore, entitlements and the customer view, and revocation removes it', async () => {
    const until = new Date(Date.now() + 30 * 24 * 60 * 60 * 1000).toISOString();
    const granted = await admin('POST', '/admin/grants', {
      userId: bob,
      key: 'no_ads',
      until,
      reason: 'goodwill month after outage',
    });
    expect(granted.status).toBe(200);

    const expected = { key: 'no_ads', productId: 'grant:no_ads', expiresAt: until, source: 'grant' };
    const answers = await everyAnswer(bob, bobToken);
    for (const [name, entitlements] of Object.entries(answers)) {
      expect(entitlements, name).toContainEqual(expect.objectContaining(expected));
      // The purchase's own entitlement is still there beside the grant.
      expect(
        entitlements.map((e) => e.key),
        name,
      ).toEqual(['no_ads', 'premium']);
    }

    const view = await admin('GET', '/admin/customer', undefined, { ref: bob });
    expect(view.json.grants).toEqual([
      expect.objectContaining({
        key: 'no_ads',
        expiresAt: until,
        reason: 'goodwill month after outage',
        live: true,
      }),
    ]);
    // The explanation agrees with the answers: the grant gives no_ads.
    const explained = (
      view.json.explanation as Array<{ key: string; granted: boolean; grant: object | null }>
    ).find((e) => e.key === 'no_ads');
    expect(explained).toEqual(
      expect.objectContaining({
        granted: true,
        grant: expect.objectContaining({ key: 'no_ads', live: true }),
      }),
    );
    const history = view.json.history as Array<{ pk: string; cause: Record<string, unknown>; after: object }>;
    expect(history).toContainEqual(
      expect.objectContaining({
        pk: `grant#${bob}#no_ads`,
        cause: expect.objectContaining({
          source: 'operator',
          reason: 'goodwill month after outage',
          operator: expect.stringMatching(/^arn:aws:iam::/),
        }),
        after: expect.objectContaining({ key: 'no_ads', expiresAt: Date.parse(until) }),
      }),
    );

    const revoked = await admin('POST', '/admin/grants/revoke', {
      userId: bob,
      key: 'no_ads',
      reason: 'sent by mistake',
    });
    expect(revoked.status).toBe(200);
    expect(revoked.json.changed).toBe(true);
    for (const [name, entitlements] of Object.entries(await everyAnswer(bob, bobToken))) {
      expect(
        entitlements.map((e) => e.key),
        name,
      ).toEqual(['premium']);
    }
    const after = await admin('GET', '/admin/customer', undefined, { ref: bob });
    const records = after.json.history as Array<{ pk: string; cause: { reason?: string } }>;
    expect(records.filter((r) => r.pk === `grant#${bob}#no_ads`).map((r) => r.cause.reason)).toEqual([
      'sent by mistake',
      'goodwill month after outage',
    ]);

    // Revoking again changes nothing and writes no record.
    const again = await admin('POST', '/admin/grants/revoke', { userId: bob, key: 'no_ads' });
    expect(again.status).toBe(200);
    expect(again.json.changed).toBe(false);
    const still = await admin('GET', '/admin/customer', undefined, { ref: bob });
    expect(
      (still.json.history as Array<{ pk: string }>).filter((r) => r.pk === `grant#${bob}#no_ads`),
    ).toHaveLength(2);
  }, 90_000);

  it('honours the expiry: a grant until a past time grants nothing', async () => {
    const carol = `carol-${stamp}`;
    const token = await tokenFor(carol);
    const past = await admin('POST', '/admin/grants', {
      userId: carol,
      key: 'premium',
      until: new Date(Date.now() - 60_000).toISOString(),
      reason: 'already over',
    });
    expect(past.status).toBe(200);
    expect((await userApi('/api/iap/entitlements', token)).body.entitlements).toEqual([]);
    const view = await admin('GET', '/admin/customer', undefined, { ref: carol });
    expect(view.json.entitlements).toEqual([]);
    expect(view.json.grants).toEqual([expect.objectContaining({ key: 'premium', live: false })]);

    const forever = await admin('POST', '/admin/grants', {
      userId: carol,
      key: 'premium',
      until: 'never',
      reason: 'lifetime',
    });
    expect(forever.status).toBe(200);
    expect((await userApi('/api/iap/entitlements', token)).body.entitlements).toEqual([
      expect.objectContaining({
        key: 'premium',
        productId: 'grant:premium',
        expiresAt: null,
        source: 'grant',
      }),
    ]);
  });

  it('refuses a key the catalog does not define with 400 naming the known keys', async () => {
    const res = await admin('POST', '/admin/grants', {
      userId: bob,
      key: 'gold',
      until: 'never',
      reason: 'x',
    });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('INVALID_REQUEST');
    expect(res.json.message).toContain('"gold"');
    expect(res.json.message).toContain('no_ads, premium');
  });

  it('refuses a grant without a reason, and a revocation of a grant that never existed with 404', async () => {
    const noReason = await admin('POST', '/admin/grants', { userId: bob, key: 'premium', until: 'never' });
    expect(noReason.status).toBe(400);
    expect(noReason.json.issues).toEqual([expect.objectContaining({ path: 'reason' })]);
    const missing = await admin('POST', '/admin/grants/revoke', { userId: bob, key: 'premium' });
    expect(missing.status).toBe(404);
    expect(missing.json.message).toContain(`No grant of "premium" to user "${bob}"`);
  });

  it('refuses an unsigned grant with 403', async () => {
    const res = await fetch(`${runtime.apiUrl}/admin/grants`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bobToken}` },
      body: JSON.stringify({ userId: bob, key: 'premium', until: 'never', reason: 'self-service' }),
    });
    expect(res.status).toBe(403);
    const view = await admin('GET', '/admin/customer', undefined, { ref: bob });
    expect((view.json.grants as Array<{ key: string }>).map((g) => g.key)).not.toContain('premium');
  });

  describe('npm run admin -- grant / revoke-grant', () => {
    it('grants and revokes, printing what it did', async () => {
      const dave = `dave-${stamp}`;
      const granted = await cli('grant', dave, 'no_ads', '--until', 'never', '--reason', 'support ticket 42');
      expect(granted.stdout).toContain(`Granted no_ads to ${dave} for good (support ticket 42)`);
      const view = JSON.parse((await cli('customer', dave, '--json')).stdout) as {
        entitlements: Entitlement[];
      };
      expect(view.entitlements).toEqual([expect.objectContaining({ key: 'no_ads', source: 'grant' })]);
      const revoked = await cli('revoke-grant', dave, 'no_ads');
      expect(revoked.stdout).toContain(`Revoked the grant of no_ads to ${dave}`);
    });

    it('exits non-zero naming the known keys for an unknown key', async () => {
      const failed = await cli('grant', bob, 'gold', '--until', 'never', '--reason', 'x').then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toContain(
        'Unknown entitlement key "gold"; the catalog defines: no_ads, premium',
      );
    });

    it('exits 2 with the usage when the reason is missing', async () => {
      const failed = await cli('grant', bob, 'premium', '--until', 'never').then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failed?.code).toBe(2);
      expect(failed?.stderr).toContain('grant needs --reason');
    });
  });
});
