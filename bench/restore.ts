// Figure 3: restore of a 50-transaction iOS history (4 subscriptions × 12 transactions + 2
// one-time purchases) against the Attesto sandbox answering after 150 ms, next to what the public
// recipes do: verify every entry, one after another.
import { sandboxProductsFromCatalog } from '../dev/sandbox/catalog-products';
import { type AttestoSandbox, startAttestoSandbox } from '../dev/sandbox/server';
import { resetConfigCache } from '../shared/config';
import { APP_ID, ATTESTO_KEY, WEBHOOK_SECRET } from './local-stack';
import { httpEvent, lambdaContext, loadHandler } from './requests';

export const RESTORE_LATENCY_MS = 150;

export interface RestoreFigure {
  entries: number;
  latencyMs: number;
  restoreMs: number;
  restoreAttestoCalls: number;
  /** The SDK re-sending the same batch on a retry: everything is known, so Attesto is not asked. */
  againMs: number;
  againAttestoCalls: number;
  sequentialMs: number;
  sequentialAttestoCalls: number;
  speedup: number;
  entitlements: string[];
}

type AppleRecord = { originalTransactionId: string; transactions: { transactionId: string }[] };

/**
 * Apple's transaction ids grow with time; the sandbox draws them at random. Renumber a purchase's
 * transactions in the order they happened, in the sandbox's own world, so its answers agree.
 */
function renumberer() {
  let next = BigInt(Date.now()) * 10_000n;
  return (sandbox: AttestoSandbox, purchaseId: string) => {
    const record = sandbox.controller.world.get(purchaseId) as unknown as AppleRecord;
    for (const t of record.transactions) t.transactionId = String(next++);
    record.originalTransactionId = record.transactions[0]?.transactionId as string;
  };
}

async function iosHistory(sandbox: AttestoSandbox) {
  const renumber = renumberer();
  const entries: { platform: 'apple'; productId: string; transactionId: string }[] = [];
  for (const productId of ['premium_monthly', 'premium_yearly', 'extra_monthly', 'extra_weekly']) {
    const bought = (await sandbox.buy({ platform: 'apple', productId, deliver: false })).purchase;
    for (let i = 0; i < 11; i++) await sandbox.act(bought.id, 'renew', { deliver: false });
    renumber(sandbox, bought.id);
    const record = sandbox.controller.purchase(bought.id).record as unknown as AppleRecord;
    for (const t of record.transactions)
      entries.push({ platform: 'apple', productId, transactionId: t.transactionId });
  }
  for (const productId of ['remove_ads', 'coins_100']) {
    const bought = (await sandbox.buy({ platform: 'apple', productId, deliver: false })).purchase;
    renumber(sandbox, bought.id);
    entries.push({
      platform: 'apple',
      productId,
      transactionId: sandbox.controller.purchase(bought.id).token,
    });
  }
  // The device lists them in no particular order.
  entries.sort((a, b) => (a.transactionId.slice(-3) < b.transactionId.slice(-3) ? -1 : 1));
  return entries;
}

function bodyOf(result: unknown): { valid?: boolean; entitlements?: { key: string }[]; error?: string } {
  const r = result as { statusCode: number; body: string };
  if (r.statusCode !== 200) throw new Error(`restore answered ${r.statusCode}: ${r.body}`);
  return JSON.parse(r.body);
}

export async function measureRestore(): Promise<RestoreFigure> {
  const sandbox = await startAttestoSandbox({
    apiKey: ATTESTO_KEY,
    webhookSecret: WEBHOOK_SECRET,
    packageName: APP_ID,
    bundleId: APP_ID,
    latencyMs: RESTORE_LATENCY_MS,
    products: [
      ...sandboxProductsFromCatalog(),
      { productId: 'extra_monthly', type: 'subscription' },
      { productId: 'extra_weekly', type: 'subscription' },
    ],
  });
  const previousUrl = process.env.ATTESTO_URL;
  process.env.ATTESTO_URL = sandbox.url;
  resetConfigCache();
  try {
    const restore = await loadHandler('restore');
    const verify = await loadHandler('verify-apple');
    const entries = await iosHistory(sandbox);
    const stamp = Date.now();

    // Load both functions first: their cold start is figure 1, not this one.
    await restore(
      httpEvent('POST', '/api/iap/restore', { user: `warm-${stamp}`, body: { transactions: [] } }),
      lambdaContext('restore'),
    );

    sandbox.resetStats();
    let started = performance.now();
    const restored = bodyOf(
      await restore(
        httpEvent('POST', '/api/iap/restore', { user: `restore-${stamp}`, body: { transactions: entries } }),
        lambdaContext('restore'),
      ),
    );
    const restoreMs = performance.now() - started;
    const restoreAttestoCalls = sandbox.stats().verify.total;
    if (!restored.valid) throw new Error(`restore refused: ${restored.error}`);

    sandbox.resetStats();
    started = performance.now();
    const again = bodyOf(
      await restore(
        httpEvent('POST', '/api/iap/restore', { user: `restore-${stamp}`, body: { transactions: entries } }),
        lambdaContext('restore'),
      ),
    );
    const againMs = performance.now() - started;
    const againAttestoCalls = sandbox.stats().verify.total;
    if (JSON.stringify(again) !== JSON.stringify(restored))
      throw new Error('the retried restore answered differently');

    // The recipes' loop: every entry verified in turn, by another user so nothing is known yet.
    sandbox.resetStats();
    started = performance.now();
    for (const entry of entries) {
      const type =
        entry.productId === 'coins_100'
          ? 'consumable'
          : entry.productId === 'remove_ads'
            ? 'product'
            : 'subscription';
      const result = await verify(
        httpEvent('POST', '/api/iap/verify/apple', {
          user: `sequential-${stamp}`,
          body: { productId: entry.productId, transactionId: entry.transactionId, type },
        }),
        lambdaContext('verify-apple'),
      );
      if ((result as { statusCode: number }).statusCode !== 200) throw new Error('sequential verify failed');
    }
    const sequentialMs = performance.now() - started;
    return {
      entries: entries.length,
      latencyMs: RESTORE_LATENCY_MS,
      restoreMs,
      restoreAttestoCalls,
      againMs,
      againAttestoCalls,
      sequentialMs,
      sequentialAttestoCalls: sandbox.stats().verify.total,
      speedup: sequentialMs / restoreMs,
      entitlements: (restored.entitlements ?? []).map((e) => e.key),
    };
  } finally {
    process.env.ATTESTO_URL = previousUrl;
    resetConfigCache();
    await sandbox.stop();
  }
}
