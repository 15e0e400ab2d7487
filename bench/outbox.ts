// Figure 6: what the transactional outbox costs. Write units per change of a user's entitlement
// set with the outbox and without it (the same changes, the outbox's items taken out of the
// transaction on the way to DynamoDB), and the webhook consumer's throughput next to raw
// TransactWriteItems of the same shape at the same concurrency, against the same DynamoDB Local.
import { randomUUID } from 'node:crypto';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { SandboxWebhook } from '../dev/sandbox/world-types';
import { documentClient, tableName } from '../shared/store/dynamo-client';
import { getOrMintUuid } from '../shared/store/user-ids';
import type { LocalStack } from './local-stack';
import { lambdaContext, loadHandler, sqsEvent } from './requests';
import { recordCalls, type SdkCall } from './sdk-calls';

export interface OutboxFigure {
  changes: number;
  /** Write units per change (TransactWriteItems), with the outbox and without it. */
  writeUnitsWith: number;
  writeUnitsWithout: number;
  readUnitsWith: number;
  events: number;
  concurrency: number;
  consumerPerSecond: number;
  rawPerSecond: number;
  failedRecords: number;
}

/** Subscriptions owned by users (an appUserId each), every event a change of the owner's set. */
async function ownedLifecycles(stack: LocalStack, users: number): Promise<SandboxWebhook[][]> {
  const lives: SandboxWebhook[][] = [];
  for (let i = 0; i < users; i++) {
    const uuid = await getOrMintUuid(`bench-outbox-${randomUUID()}`, randomUUID);
    const bought = await stack.sandbox.buy({
      platform: 'apple',
      productId: 'premium_monthly',
      appUserId: uuid,
      deliver: false,
    });
    const webhooks = [...bought.webhooks];
    for (let r = 0; r < 3; r++)
      webhooks.push(...(await stack.sandbox.act(bought.purchase.id, 'renew', { deliver: false })).webhooks);
    webhooks.push(...(await stack.sandbox.act(bought.purchase.id, 'cancel', { deliver: false })).webhooks);
    lives.push(webhooks);
  }
  return lives;
}

/** Takes the outbox's items (its Put or check, and its pins) out of every transaction while `fn` runs. */
async function withoutOutbox<T>(fn: () => Promise<T>): Promise<T> {
  const stack = documentClient().middlewareStack;
  const events = tableName('ENTITLEMENT_EVENTS_TABLE');
  const name = `benchWithoutOutbox-${randomUUID()}`;
  stack.add(
    // biome-ignore lint/suspicious/noExplicitAny: middleware arguments are the SDK's untyped handler args
    (next: (args: any) => Promise<any>, context: any) => async (args: any) => {
      if (String(context.commandName).startsWith('TransactWrite')) {
        args.input.TransactItems = args.input.TransactItems.filter(
          (item: { Put?: { TableName?: string }; ConditionCheck?: unknown }) =>
            !item.ConditionCheck && item.Put?.TableName !== events,
        );
      }
      return next(args);
    },
    { step: 'initialize', name },
  );
  try {
    return await fn();
  } finally {
    stack.remove(name);
  }
}

const units = (calls: SdkCall[], pick: (c: SdkCall) => number) =>
  calls.filter((c) => c.service === 'DynamoDB').reduce((sum, c) => sum + pick(c), 0);

/** Each life's events in order, one at a time: every one a change of its owner's set. */
async function writeUnitsPerChange(lives: SandboxWebhook[][]) {
  const handler = await loadHandler('webhook-consumer');
  const { calls } = await recordCalls(async () => {
    for (const life of lives)
      for (const webhook of life) await handler(sqsEvent([webhook]), lambdaContext('bench'));
  });
  const changes = lives.reduce((n, l) => n + l.length, 0);
  const writes = calls.filter((c) => c.command === 'TransactWriteItemsCommand');
  return {
    changes,
    writeUnits: units(writes, (c) => c.writeUnits) / changes,
    readUnits: units(calls, (c) => c.readUnits) / changes,
    calls,
  };
}

export async function measureOutbox(
  stack: LocalStack,
  options: { users?: number; concurrency?: number; batchSize?: number } = {},
): Promise<OutboxFigure> {
  const batchSize = options.batchSize ?? 10;
  const concurrency = options.concurrency ?? 4;
  await stack.freshTables('outbox-');

  // Write units: 20 users' lives with the outbox, 20 more without it.
  const withLives = await ownedLifecycles(stack, 20);
  const withoutLives = await ownedLifecycles(stack, 20);
  const withIt = await writeUnitsPerChange(withLives);
  const without = await withoutOutbox(() => writeUnitsPerChange(withoutLives));

  // Throughput: every life's events, shuffled, in batches of 10 with `concurrency` in flight.
  const lives = await ownedLifecycles(stack, options.users ?? 150);
  const delivery = lives.flat();
  for (let i = delivery.length - 1; i > 0; i--) {
    const j = (i * 7919 + 13) % (i + 1);
    [delivery[i], delivery[j]] = [delivery[j] as SandboxWebhook, delivery[i] as SandboxWebhook];
  }
  const handler = await loadHandler('webhook-consumer');
  const batches: SandboxWebhook[][] = [];
  for (let i = 0; i < delivery.length; i += batchSize) batches.push(delivery.slice(i, i + batchSize));
  let failedRecords = 0;
  let next = 0;
  let started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < batches.length) {
        let pending = batches[next++] as SandboxWebhook[];
        for (let attempt = 0; pending.length > 0 && attempt < 5; attempt++) {
          const event = sqsEvent(pending);
          const result = (await handler(event, lambdaContext('webhook-consumer'))) as {
            batchItemFailures: { itemIdentifier: string }[];
          };
          const failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
          failedRecords += failed.size;
          pending = pending.filter((_, k) => failed.has(event.Records[k]?.messageId as string));
        }
      }
    }),
  );
  const consumerSeconds = (performance.now() - started) / 1000;

  // Raw baseline: the same number of transactions of the same shape as a consumer's change
  // (marker, purchase, history record, outbox item), no reads, as many in flight as the
  // consumer had records in flight.
  const tables = {
    marker: tableName('PROCESSED_EVENTS_TABLE'),
    purchases: tableName('PURCHASES_TABLE'),
    history: tableName('HISTORY_TABLE'),
    events: tableName('ENTITLEMENT_EVENTS_TABLE'),
  };
  const sample = JSON.stringify(delivery[0]);
  let remaining = delivery.length;
  started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency * batchSize }, async () => {
      while (remaining > 0) {
        remaining--;
        const id = randomUUID();
        await documentClient().send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: { TableName: tables.marker, Item: { pk: `raw#${id}`, outcome: 'renewed' } } },
              {
                Put: {
                  TableName: tables.purchases,
                  Item: { pk: `raw#${id}`, platform: 'apple', subjectKey: id, rev: 1 },
                },
              },
              { Put: { TableName: tables.history, Item: { pk: `raw#${id}`, sk: '000000000001', at: id } } },
              {
                Put: {
                  TableName: tables.events,
                  Item: { pk: `raw#${id}`, sequence: 1, event: sample },
                },
              },
            ],
          }),
        );
      }
    }),
  );
  const rawSeconds = (performance.now() - started) / 1000;

  return {
    changes: withIt.changes,
    writeUnitsWith: withIt.writeUnits,
    writeUnitsWithout: without.writeUnits,
    readUnitsWith: withIt.readUnits,
    events: delivery.length,
    concurrency: concurrency * batchSize,
    consumerPerSecond: delivery.length / consumerSeconds,
    rawPerSecond: delivery.length / rawSeconds,
    failedRecords,
  };
}

/** Consumer throughput at least this share of raw TransactWriteItems at the same concurrency. */
export const OUTBOX_THROUGHPUT_RATIO = 0.6;

/** The figure as table rows: what, measured, baseline, target, status. */
export function outboxRows(f: OutboxFigure): [string, string, string, string, string][] {
  const ratio = f.consumerPerSecond / f.rawPerSecond;
  return [
    [
      'write units per change of a set',
      `${f.writeUnitsWith.toFixed(1)} WRU with the outbox`,
      `${f.writeUnitsWithout.toFixed(1)} WRU without (same ${f.changes} changes)`,
      'reported',
      'info',
    ],
    [
      'read units per change (outbox reads included)',
      `${f.readUnitsWith.toFixed(1)} RRU`,
      '—',
      'reported',
      'info',
    ],
    [
      'consumer events per second',
      `${f.consumerPerSecond.toFixed(0)}/s (${f.events} events, ${f.failedRecords} redelivered)`,
      `raw TransactWriteItems ${f.rawPerSecond.toFixed(0)}/s, ${f.concurrency} in flight`,
      `≥ ${OUTBOX_THROUGHPUT_RATIO}×: ${ratio.toFixed(2)}×`,
      ratio >= OUTBOX_THROUGHPUT_RATIO ? 'met' : 'MISSED',
    ],
  ];
}
