// Figure 4: the webhook consumer's throughput against DynamoDB Local. 10 000 Apple events (about
// 10% of them duplicates), shuffled, fed to the real consumer handler in batches of 10 with a few
// batches in flight, as Lambda's SQS event source would; then every purchase is compared with
// applying its events once, in upstream order (the pure state machine).
import { isDeepStrictEqual } from 'node:util';
import { appleReferenceEvent } from '../dev/fixtures/reference-events';
import type { AttestoSandbox } from '../dev/sandbox/server';
import type { SandboxWebhook } from '../dev/sandbox/world-types';
import { purchaseFactsOf, purchaseKey } from '../shared/domain/purchase';
import { applyInOrder, type PurchaseEvent } from '../shared/domain/state-machine';
import { getPurchase } from '../shared/store/purchases';
import type { LocalStack } from './local-stack';
import { consumeAll, loadHandler, seeded, shuffle } from './requests';

export interface ThroughputFigure {
  events: number;
  unique: number;
  duplicates: number;
  purchases: number;
  batchSize: number;
  concurrency: number;
  seconds: number;
  eventsPerSecond: number;
  failedRecords: number;
  /** Purchases whose stored state differs from in-order application. */
  mismatches: number;
}

/** Without undefined fields, as the stored item has none. */
const plain = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

/** One subscription's life: bought, renewed six times, cancelled, expired. */
async function lifecycle(sandbox: AttestoSandbox) {
  const webhooks: SandboxWebhook[] = [];
  const bought = await sandbox.buy({ platform: 'apple', productId: 'premium_monthly', deliver: false });
  webhooks.push(...bought.webhooks);
  const ref = bought.purchase.id;
  for (let i = 0; i < 6; i++)
    webhooks.push(...(await sandbox.act(ref, 'renew', { deliver: false })).webhooks);
  webhooks.push(...(await sandbox.act(ref, 'cancel', { deliver: false })).webhooks);
  webhooks.push(...(await sandbox.act(ref, 'expire', { deliver: false })).webhooks);
  return { webhooks, subjectKey: bought.purchase.subjectKey };
}

export async function measureThroughput(
  stack: LocalStack,
  options: { events?: number; duplicateShare?: number; batchSize?: number; concurrency?: number } = {},
): Promise<ThroughputFigure> {
  const total = options.events ?? 10_000;
  const duplicateShare = options.duplicateShare ?? 0.1;
  const batchSize = options.batchSize ?? 10;
  const concurrency = options.concurrency ?? 4;
  await stack.freshTables('throughput-');
  const random = seeded(7);

  const purchases: { subjectKey: string; webhooks: SandboxWebhook[] }[] = [];
  const unique: SandboxWebhook[] = [];
  const wantUnique = Math.round(total * (1 - duplicateShare));
  while (unique.length < wantUnique) {
    const life = await lifecycle(stack.sandbox);
    purchases.push(life);
    unique.push(...life.webhooks);
  }
  const delivery = [...unique];
  while (delivery.length < total)
    delivery.push(unique[Math.floor(random() * unique.length)] as SandboxWebhook);
  shuffle(delivery, random);

  const handler = await loadHandler('webhook-consumer');
  const started = performance.now();
  const failedRecords = await consumeAll(handler, delivery, batchSize, concurrency);
  const seconds = (performance.now() - started) / 1000;

  let mismatches = 0;
  for (const { subjectKey, webhooks } of purchases) {
    const pk = purchaseKey('apple', subjectKey);
    const stored = await getPurchase(pk);
    const events = webhooks.map(appleReferenceEvent).filter((e): e is PurchaseEvent => e !== undefined);
    const reference = applyInOrder(events, { pk, platform: 'apple', subjectKey });
    if (
      !stored ||
      !reference ||
      !isDeepStrictEqual(plain(purchaseFactsOf(stored)), plain(purchaseFactsOf(reference)))
    ) {
      mismatches += 1;
    }
  }
  return {
    events: delivery.length,
    unique: unique.length,
    duplicates: delivery.length - unique.length,
    purchases: purchases.length,
    batchSize,
    concurrency,
    seconds,
    eventsPerSecond: delivery.length / seconds,
    failedRecords,
    mismatches,
  };
}
