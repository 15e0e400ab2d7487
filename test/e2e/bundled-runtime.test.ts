import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FunctionBundles, synthFunctionBundles } from '../../dev/local/function-bundles';
import type { LocalRuntime } from '../../dev/local/local-runtime';
import { type FunctionName, functions } from '../../infra/functions';
import { runSmokeCli } from '../../ops/smoke-cli';
import { startRuntimeInMemory } from '../support/local-runtime';
import { devToken, sandboxCall, userCall } from '../support/local-runtime-calls';

// `npm start -- --bundled`: the functions as CDK bundles them for the dev stage (esbuild, ESM
// banner, node-fetch alias, minified), imported by Node itself from the cloud assembly, behind
// the same local HTTP API and SQS poller. A representative path through the client API and the
// webhook pipeline, so a bundling mistake fails here instead of in a deployment.

interface SandboxPurchase {
  id: string;
  subjectKey: string;
  token: string;
  productId: string;
  expiresAt: string | null;
}
interface BuyAnswer {
  purchase: SandboxPurchase;
  deliveries: Array<{ status: number | null; delivered: boolean }>;
}
interface Entitlement {
  key: string;
  productId: string;
  expiresAt: string | null;
}

describe('npm start -- --bundled', () => {
  let bundles: FunctionBundles;
  let runtime: LocalRuntime;
  let dataDir: string;
  let sandboxUrl: string;
  /** Every function the runtime asked the bundle map for. */
  const served = new Set<string>();

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'iap-bundled-e2e-'));
    bundles = synthFunctionBundles({ stage: 'dev', outdir: join(dataDir, 'cdk.out') });
    console.info(
      `synth + esbuild of the dev stage (${Object.keys(bundles.entries).length} functions): ${(bundles.synthMs / 1000).toFixed(1)} s`,
    );
    const entries = new Proxy(bundles.entries, {
      get(target, fn) {
        served.add(String(fn));
        return target[fn as FunctionName];
      },
    });
    ({ runtime } = await startRuntimeInMemory({ dataDir, bundleEntries: entries }));
    sandboxUrl = process.env.ATTESTO_URL as string;
  }, 900_000);

  afterAll(async () => {
    await runtime?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const api = (path: string, token: string, body?: unknown) => userCall(runtime.apiUrl, path, token, body);
  const sandbox = <T>(path: string, body: unknown) => sandboxCall<T>(sandboxUrl, path, body);

  async function entitlementsWhen(
    token: string,
    done: (list: Entitlement[]) => boolean,
    timeoutMs = 20_000,
  ): Promise<Entitlement[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const list = (await api('/api/iap/entitlements', token)).body.entitlements as Entitlement[];
      if (done(list) || Date.now() > deadline) return list;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('maps every function to an index.mjs in its own asset folder of the synthesized stage', () => {
    const urls = Object.values(bundles.entries);
    // Every function the product defines, each from its own bundle.
    expect(Object.keys(bundles.entries).sort()).toEqual(Object.keys(functions).sort());
    for (const url of urls) expect(url).toMatch(/\/cdk\.out\/asset\.[0-9a-f]{64}\/index\.mjs$/);
    expect(new Set(urls).size).toBe(urls.length);
  });

  it('client API: products, uuid, verify, entitlements and restore, served by the bundles', async () => {
    const token = await devToken(runtime.apiUrl, 'alice');
    const products = await api('/api/iap/products', token);
    expect(products.status).toBe(200);
    expect((products.body.products as unknown[]).length).toBeGreaterThan(0);
    const uuid = (await api('/api/iap/uuid', token, {})).body.uuid as string;
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);

    const bought = await sandbox<BuyAnswer>('/purchases', {
      platform: 'apple',
      productId: 'premium_monthly',
      appUserId: uuid,
      deliver: false,
    });
    const verified = await api('/api/iap/verify/apple', token, {
      productId: 'premium_monthly',
      transactionId: bought.purchase.token,
      type: 'subscription',
    });
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({
      valid: true,
      entitlements: [{ key: 'premium', productId: 'premium_monthly', expiresAt: bought.purchase.expiresAt }],
    });
    expect((await api('/api/iap/entitlements', token)).body.entitlements).toEqual([
      expect.objectContaining({ key: 'premium', expiresAt: bought.purchase.expiresAt }),
    ]);

    const restored = await api('/api/iap/restore', token, {
      transactions: [
        { platform: 'apple', productId: 'premium_monthly', transactionId: bought.purchase.token },
      ],
    });
    expect(restored.status).toBe(200);
    expect(restored.body.entitlements).toEqual([expect.objectContaining({ key: 'premium' })]);

    const unauthenticated = await fetch(`${runtime.apiUrl}/api/iap/entitlements`);
    expect(unauthenticated.status).toBe(401);
  });

  it('webhook lifecycle: purchase, renewal and refund reach the user through the bundled webhook and consumer', async () => {
    const token = await devToken(runtime.apiUrl, 'bob');
    const uuid = (await api('/api/iap/uuid', token, {})).body.uuid as string;
    const bought = await sandbox<BuyAnswer>('/purchases', {
      platform: 'apple',
      productId: 'premium_monthly',
      appUserId: uuid,
    });
    expect(bought.deliveries).toEqual([expect.objectContaining({ status: 200, delivered: true })]);
    const granted = await entitlementsWhen(token, (list) => list.length > 0);
    expect(granted).toEqual([
      expect.objectContaining({ key: 'premium', expiresAt: bought.purchase.expiresAt }),
    ]);

    const renewed = await sandbox<{ purchase: SandboxPurchase }>(
      `/purchases/${bought.purchase.id}/renew`,
      {},
    );
    expect(Date.parse(renewed.purchase.expiresAt as string)).toBeGreaterThan(
      Date.parse(bought.purchase.expiresAt as string),
    );
    const extended = await entitlementsWhen(
      token,
      (list) => list[0]?.expiresAt === renewed.purchase.expiresAt,
    );
    expect(extended).toEqual([
      expect.objectContaining({ key: 'premium', expiresAt: renewed.purchase.expiresAt }),
    ]);

    await sandbox(`/purchases/${bought.purchase.id}/refund`, {});
    expect(await entitlementsWhen(token, (list) => list.length === 0)).toEqual([]);
  });

  it('npm run smoke -- --local passes against the bundles', async () => {
    const out: string[] = [];
    const env = { PORT: new URL(runtime.apiUrl).port };
    const code = await runSmokeCli(['--local', '--timeout', '60'], {
      out: (line) => out.push(line),
      err: (line) => out.push(line),
      env,
    });
    expect(out.at(-1)).toBe('6 passed, 0 failed, 1 skipped');
    expect(code).toBe(0);
  }, 90_000);

  it('served every function it used from its bundle, never from the sources', () => {
    for (const fn of [
      'products',
      'uuid',
      'verify-apple',
      'entitlements',
      'restore',
      'attesto-webhook',
      'webhook-consumer',
    ])
      expect(served).toContain(fn);
  });
});
