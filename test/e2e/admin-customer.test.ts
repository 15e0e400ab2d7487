import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../dev/local/local-runtime';
import { type AdminTarget, signAdminRequest } from '../../ops/admin-request';
import { startRuntimeInMemory } from '../support/local-runtime';
import { devToken, sandboxCall, userCall } from '../support/local-runtime-calls';
import { adminCall, localAdminTarget } from '../support/operator-calls';
import { rawRequest } from '../support/raw-request';

// The operator API through the local runtime (what `npm start` serves): only a request signed
// with this run's own admin credential reaches the handler, and the customer lookup finds the
// same customer from every identifier a support ticket may carry. The CLI is run as a developer
// runs it, as a child process finding the runtime by PORT.

const run = promisify(execFile);
const TSX = join(process.cwd(), 'node_modules/.bin/tsx');

interface SandboxPurchase {
  id: string;
  subjectKey: string;
  token: string;
  productId: string;
  expiresAt: string | null;
  record: { orderId?: string };
}

interface CustomerAnswer {
  reference: string;
  matchedBy: string;
  user: { userId: string; appUserId: string | null } | null;
  entitlements: Array<{ key: string; productId: string; expiresAt: string | null }>;
  purchases: Array<Record<string, unknown>>;
  history: Array<{
    pk: string;
    at: string;
    cause: { source: string };
    ownerBefore: string | null;
    ownerAfter: string | null;
  }>;
  explanation: Array<{
    key: string;
    granted: boolean;
    text: string;
    grantedBy: { platform: string; subjectKey: string; lastChange: { source: string } | null } | null;
    reasons: Array<{ code: string; text: string }>;
  }>;
}

describe('operator API through the local runtime', () => {
  let runtime: LocalRuntime;
  let dataDir: string;
  let sandboxUrl: string;
  let target: AdminTarget;
  const alice = `alice-${Date.now()}`;
  let aliceUuid: string;
  let apple: SandboxPurchase;
  let appleRenewed: SandboxPurchase;
  let google: SandboxPurchase;

  const tokenFor = (sub: string) => devToken(runtime.apiUrl, sub);

  const userApi = (path: string, token: string, body?: unknown) =>
    userCall(runtime.apiUrl, path, token, body);

  const sandbox = <T>(path: string, body: unknown) => sandboxCall<T>(sandboxUrl, path, body);

  const lookup = (ref: string, signer: AdminTarget = target) =>
    adminCall<unknown>(signer, 'GET', '/admin/customer', undefined, { ref });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'iap-admin-e2e-'));
    ({ runtime } = await startRuntimeInMemory({ dataDir }));
    sandboxUrl = process.env.ATTESTO_URL as string;
    target = localAdminTarget(runtime);

    // alice: an Apple subscription (then renewed) and a Google one, both bound to her uuid.
    const token = await tokenFor(alice);
    aliceUuid = (await userApi('/api/iap/uuid', token, {})).body.uuid as string;
    apple = (
      await sandbox<{ purchase: SandboxPurchase }>('/purchases', {
        platform: 'apple',
        productId: 'premium_monthly',
        appUserId: aliceUuid,
      })
    ).purchase;
    appleRenewed = (await sandbox<{ purchase: SandboxPurchase }>(`/purchases/${apple.id}/renew`, {}))
      .purchase;
    expect(appleRenewed.token).not.toBe(apple.subjectKey);
    const verifiedApple = await userApi('/api/iap/verify/apple', token, {
      productId: 'premium_monthly',
      transactionId: appleRenewed.token,
      type: 'subscription',
    });
    expect(verifiedApple.body.valid).toBe(true);
    google = (
      await sandbox<{ purchase: SandboxPurchase }>('/purchases', {
        platform: 'google',
        productId: 'premium_monthly',
        appUserId: aliceUuid,
      })
    ).purchase;
    const verifiedGoogle = await userApi('/api/iap/verify/google', token, {
      productId: 'premium_monthly',
      purchaseToken: google.token,
      packageName: 'com.example.app',
      type: 'subscription',
    });
    expect(verifiedGoogle.body.valid).toBe(true);
  }, 90_000);

  afterAll(async () => {
    await runtime?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  describe('IAM (SigV4) on /admin/', () => {
    it('lets a request signed with the runtime’s admin credential through', async () => {
      const res = await lookup(alice);
      expect(res.status).toBe(200);
    });

    it('refuses an unsigned request with 403', async () => {
      const res = await fetch(`${runtime.apiUrl}/admin/customer?ref=${encodeURIComponent(alice)}`);
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ message: 'Forbidden' });
    });

    it("refuses a user's JWT with 403: it is never an operator credential", async () => {
      const res = await fetch(`${runtime.apiUrl}/admin/customer?ref=${encodeURIComponent(alice)}`, {
        headers: { authorization: `Bearer ${await tokenFor(alice)}` },
      });
      expect(res.status).toBe(403);
    });

    it('refuses a request signed with the right key id but the wrong secret', async () => {
      const wrong = {
        ...target,
        credentials: { accessKeyId: runtime.adminCredentials.accessKeyId, secretAccessKey: 'not-the-secret' },
      };
      expect((await lookup(alice, wrong)).status).toBe(403);
    });

    it('refuses another access key, even with the right secret', async () => {
      const other = {
        ...target,
        credentials: { ...runtime.adminCredentials, accessKeyId: 'AKIAOTHEROPERATOR000' },
      };
      expect((await lookup(alice, other)).status).toBe(403);
    });

    it('refuses a signature dated more than 5 minutes ago', async () => {
      const sixMinutesAgo = new Date(Date.now() - 6 * 60 * 1000);
      const { url, headers } = await signAdminRequest(
        target,
        { method: 'GET', path: '/admin/customer', query: { ref: alice } },
        sixMinutesAgo,
      );
      expect((await rawRequest(url, 'GET', headers)).status).toBe(403);
    });

    it('refuses a request whose body was changed after signing', async () => {
      const { url, headers } = await signAdminRequest(target, {
        method: 'GET',
        path: '/admin/customer',
        query: { ref: alice },
        body: '{"reason":"signed"}',
      });
      const signed = await rawRequest(url, 'GET', headers, '{"reason":"signed"}');
      expect(signed, JSON.stringify(signed.json)).toEqual(expect.objectContaining({ status: 200 }));
      expect((await rawRequest(url, 'GET', headers, '{"reason":"altered"}')).status).toBe(403);
      // Dropping the signed hash does not help: the signature covers it.
      const { 'x-amz-content-sha256': _hash, ...withoutHash } = headers;
      expect((await rawRequest(url, 'GET', withoutHash, '{"reason":"altered"}')).status).toBe(403);
    });

    it('refuses a request whose query was changed after signing', async () => {
      const { url, headers } = await signAdminRequest(target, {
        method: 'GET',
        path: '/admin/customer',
        query: { ref: alice },
      });
      const altered = url.replace(encodeURIComponent(alice), 'someone-else');
      expect((await rawRequest(altered, 'GET', headers)).status).toBe(403);
    });
  });

  describe('customer lookup', () => {
    function expectAlice(view: CustomerAnswer, matchedBy: string) {
      expect(view.matchedBy).toBe(matchedBy);
      expect(view.user).toEqual({ userId: alice, appUserId: aliceUuid });
      expect(view.entitlements.map((e) => e.key)).toEqual(['premium']);
      expect(view.purchases).toHaveLength(2);
      // The timeline: the change that gave her each purchase is on the record, newest first.
      for (const p of view.purchases) {
        expect(
          view.history.some((h) => h.pk === `${p.platform}#${p.subjectKey}` && h.ownerAfter === alice),
          `${p.platform} purchase's history`,
        ).toBe(true);
      }
      const times = view.history.map((h) => h.at);
      expect(times).toEqual([...times].sort().reverse());
      // Why: premium by one of her purchases, with the change that last touched it; no_ads, which
      // she never bought, not granted for want of a purchase.
      const [noAds, premium] = view.explanation;
      expect(premium).toEqual(
        expect.objectContaining({
          key: 'premium',
          granted: true,
          reasons: [],
          text: expect.stringMatching(
            /^granted by (apple|google) premium_monthly, active until \S+ \(last change \S+, /,
          ),
        }),
      );
      const by = premium?.grantedBy;
      expect(view.purchases.some((p) => p.platform === by?.platform && p.subjectKey === by?.subjectKey)).toBe(
        true,
      );
      expect(by?.lastChange).not.toBeNull();
      expect(noAds).toEqual({
        key: 'no_ads',
        granted: false,
        grant: null,
        text: 'not granted: no purchase of remove_ads',
        grantedBy: null,
        reasons: [{ code: 'no_purchase', text: 'no purchase of remove_ads', purchase: null }],
      });
    }

    it('finds the customer by app user id, with ids, entitlements and every purchase', async () => {
      const res = await lookup(alice);
      expect(res.status).toBe(200);
      const view = res.json as CustomerAnswer;
      expectAlice(view, 'userId');
      const byPlatform = Object.fromEntries(view.purchases.map((p) => [p.platform, p]));
      expect(byPlatform.apple).toEqual(
        expect.objectContaining({
          subjectKey: apple.subjectKey,
          productId: 'premium_monthly',
          status: 'active',
          owner: alice,
          environment: expect.any(String),
          expiresAt: appleRenewed.expiresAt,
        }),
      );
      expect(byPlatform.google).toEqual(
        expect.objectContaining({
          subjectKey: google.subjectKey,
          productId: 'premium_monthly',
          status: 'active',
          owner: alice,
          environment: expect.any(String),
        }),
      );
    });

    it('finds the same customer by the appUserId uuid', async () => {
      expectAlice((await lookup(aliceUuid)).json as CustomerAnswer, 'appUserId');
    });

    it('finds the same customer by the Apple original transaction id', async () => {
      expectAlice((await lookup(apple.subjectKey)).json as CustomerAnswer, 'appleOriginalTransactionId');
    });

    it("finds the same customer by a renewal's Apple transaction id", async () => {
      expectAlice((await lookup(appleRenewed.token)).json as CustomerAnswer, 'appleTransactionId');
    });

    it('finds the same customer by the Google purchase token', async () => {
      expectAlice((await lookup(google.token)).json as CustomerAnswer, 'googlePurchaseToken');
    });

    it('finds the same customer by the Google order id', async () => {
      const view = (await lookup(alice)).json as CustomerAnswer;
      const orderId = view.purchases.find((p) => p.platform === 'google')?.latestTransactionId as string;
      expect(orderId).toMatch(/\S/);
      expect(orderId).not.toBe(google.token);
      expectAlice((await lookup(orderId)).json as CustomerAnswer, 'googleOrderId');
    });

    it('shows a purchase nobody holds yet, with no user and no entitlement', async () => {
      const orphan = (
        await sandbox<{ purchase: SandboxPurchase }>('/purchases', {
          platform: 'apple',
          productId: 'premium_monthly',
        })
      ).purchase;
      // The webhook creates it through the queue; wait until the consumer has written it.
      const deadline = Date.now() + 15_000;
      let res = await lookup(orphan.subjectKey);
      while (res.status === 404 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        res = await lookup(orphan.subjectKey);
      }
      expect(res.status).toBe(200);
      const view = res.json as CustomerAnswer;
      expect(view.user).toBeNull();
      expect(view.entitlements).toEqual([]);
      // Nobody holds it, so it gives nobody premium, and the explanation says so.
      expect(view.explanation.find((e) => e.key === 'premium')).toEqual(
        expect.objectContaining({
          granted: false,
          reasons: [
            expect.objectContaining({
              code: 'no_owner',
              text: expect.stringMatching(
                /^apple premium_monthly is held by nobody: no user has verified or restored it/,
              ),
            }),
          ],
        }),
      );
      expect(view.purchases).toEqual([
        expect.objectContaining({ subjectKey: orphan.subjectKey, owner: null }),
      ]);
      // Its own timeline: the webhook that created it, with nobody as its owner.
      expect(view.history).toEqual([
        expect.objectContaining({
          pk: `apple#${orphan.subjectKey}`,
          cause: expect.objectContaining({ source: 'attesto-webhook' }),
          ownerAfter: null,
        }),
      ]);
    });

    it('answers 404 naming every kind of reference searched for an unknown one', async () => {
      const res = await lookup('nobody-knows-this-ref');
      expect(res.status).toBe(404);
      const body = res.json as { error: string; message: string };
      expect(body.error).toBe('NOT_FOUND');
      expect(body.message).toContain('"nobody-knows-this-ref"');
      for (const kind of [
        'app user id',
        'appUserId uuid',
        'Apple original transaction id',
        'Apple transaction id',
        'Google purchase token',
        'Google order id',
      ])
        expect(body.message).toContain(kind);
    });

    it('answers 400 naming the parameter when no reference is given', async () => {
      const { url, headers } = await signAdminRequest(target, { method: 'GET', path: '/admin/customer' });
      const res = await rawRequest(url, 'GET', headers);
      expect(res.status).toBe(400);
      expect(res.json).toEqual(
        expect.objectContaining({
          error: 'INVALID_REQUEST',
          issues: [expect.objectContaining({ path: 'ref' })],
        }),
      );
    });
  });

  describe('npm run admin -- customer', () => {
    const cli = (...args: string[]) =>
      run(TSX, ['ops/admin-cli.ts', ...args], {
        env: { ...process.env, PORT: String(runtime.apiUrl.split(':').pop()) },
      });

    it('prints the readable view of the customer found by any reference', async () => {
      const { stdout } = await cli('customer', apple.subjectKey);
      expect(stdout).toContain(`Customer ${alice}`);
      expect(stdout).toContain('found by Apple original transaction id');
      expect(stdout).toContain(`appUserId  ${aliceUuid}`);
      expect(stdout).toMatch(/Entitlements \(1\)\n {2}premium {2}until \S+ {2}active/);
      expect(stdout).toMatch(/\n {2}premium {2}granted by (apple|google) premium_monthly, active until \S+/);
      expect(stdout).toContain('\n  no_ads   not granted: no purchase of remove_ads\n');
      expect(stdout).toContain('Purchases (2)');
      expect(stdout).toContain(`original transaction ${apple.subjectKey}`);
      // The timeline: one line per change, naming its cause and the owner it gave the purchase.
      expect(stdout).toMatch(/History \(\d+, newest first\)/);
      expect(stdout).toMatch(new RegExp(`\\n {2}\\S+ {2}apple {2}\\S+.*owner \\(nobody\\) → ${alice}`));
    });

    it('prints the API answer with --json', async () => {
      const { stdout } = await cli('customer', aliceUuid, '--json');
      const view = JSON.parse(stdout) as CustomerAnswer;
      expect(view.matchedBy).toBe('appUserId');
      expect(view.user).toEqual({ userId: alice, appUserId: aliceUuid });
    });

    it('exits non-zero with the "not found" message for an unknown reference', async () => {
      const failed = await cli('customer', 'nobody-knows-this-ref').then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toContain('No customer or purchase found for "nobody-knows-this-ref"');
      expect(failed?.stderr).toContain('Google order id');
    });

    it('exits 2 with the usage for a missing reference', async () => {
      const failed = await cli('customer').then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failed?.code).toBe(2);
      expect(failed?.stderr).toContain('usage: npm run admin');
    });
  });
});
