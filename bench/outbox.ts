// Figure 6: what the transactional outbox costs. Write units per change of a user's entitlement
// set with the outbox and without it (the same changes, the outbox's items taken out of the
// transaction on the way to DynamoDB), and the webhook consumer's throughput next to raw
// TransactWriteItems of the same shape at the same concurrency, against the same DynamoDB Local.
import { randomUUID } from 'node:crypto';
import { GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { SandboxWebhook } from '../dev/sandbox/world-types';
import { checkDueShard } from '../shared/domain/check-schedule';
import { purchaseKey } from '../shared/domain/purchase';
import { documentClient, tableName } from '../shared/store/dynamo-client';
import { outboxPk, type TransactItem } from '../shared/store/outbox';
import { getOrMintUuid } from '../shared/store/user-ids';
import type { LocalStack } from './local-stack';
import { consumeAll, lambdaContext, loadHandler, shuffle, sqsEvent } from './requests';
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
  /** Raw transactions of the consumer's own items (`rawItems` of them), no reads. */
  rawPerSecond: number;
  rawItems: number;
  /** Raw transactions of four small items without index attributes (the earlier baseline). */
  minimalPerSecond: number;
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

/** Users whose events warm DynamoDB Local (and this process) up before anything is timed. */
const WARM_UP_USERS = 30;

/** The seed of the order the events are fed in: the same order every run. */
const SHUFFLE_SEED = 7919;

type RawShape = (id: string) => TransactItem[];

const ifAbsent = { ConditionExpression: 'attribute_not_exists(pk)' };

/**
 * What the consumer writes for one change of an owned subscription, as it wrote it in the
 * write-units run: its marker, the purchase item (all its attributes, its index keys included),
 * the history record, the transaction id's alias and the outbox item, each under a fresh key and
 * a fresh user (so the indexes spread as the consumer's users do), without reads.
 */
async function consumerShape(lives: SandboxWebhook[][]): Promise<RawShape> {
  const webhooks = lives[0] as SandboxWebhook[];
  const last = webhooks[webhooks.length - 1] as SandboxWebhook;
  const pk = purchaseKey('apple', last.subject?.key as string);
  const get = async (table: string, key: string) =>
    (
      await documentClient().send(
        new GetCommand({ TableName: table, Key: { pk: key }, ConsistentRead: true }),
      )
    ).Item as Record<string, unknown>;
  const tables = {
    marker: tableName('PROCESSED_EVENTS_TABLE'),
    purchases: tableName('PURCHASES_TABLE'),
    history: tableName('HISTORY_TABLE'),
    events: tableName('ENTITLEMENT_EVENTS_TABLE'),
  };
  const purchase = await get(tables.purchases, pk);
  const marker = await get(tables.marker, `${last.source}:${last.externalId}`);
  const outbox = await get(tables.events, outboxPk(purchase.userId as string));
  const { Items } = await documentClient().send(
    new QueryCommand({
      TableName: tables.history,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      ScanIndexForward: false,
      Limit: 1,
    }),
  );
  const history = Items?.[0] as Record<string, unknown>;
  if (!purchase || !marker || !outbox || !history)
    throw new Error('the write-units run left no change to copy');
  return (id) => {
    const user = `raw-${id}`;
    return [
      { Put: { TableName: tables.marker, Item: { ...marker, pk: `raw:${id}` }, ...ifAbsent } },
      {
        Put: {
          TableName: tables.purchases,
          Item: {
            ...purchase,
            pk: `raw#${id}`,
            userId: user,
            // Its own shard of the due index, as each purchase has.
            ...(purchase.checkDue ? { checkDue: checkDueShard(`raw#${id}`) } : {}),
          },
          ...ifAbsent,
        },
      },
      {
        Put: {
          TableName: tables.history,
          Item: { ...history, pk: `raw#${id}`, userId: user, ownerBefore: user, ownerAfter: user },
          ...ifAbsent,
        },
      },
      { Put: { TableName: tables.purchases, Item: { pk: `raw-alias#${id}`, target: `raw#${id}` } } },
      {
        Put: { TableName: tables.events, Item: { ...outbox, pk: outboxPk(user), userId: user }, ...ifAbsent },
      },
    ];
  };
}

/**
 * The earlier baseline: marker, purchase, history record and outbox item (`event`: a webhook's
 * body), without the purchase's other attributes, index keys, conditions or the alias.
 */
const minimalShape =
  (event: string): RawShape =>
  (id) => [
    {
      Put: { TableName: tableName('PROCESSED_EVENTS_TABLE'), Item: { pk: `min#${id}`, outcome: 'renewed' } },
    },
    {
      Put: {
        TableName: tableName('PURCHASES_TABLE'),
        Item: { pk: `min#${id}`, platform: 'apple', subjectKey: id, rev: 1 },
      },
    },
    { Put: { TableName: tableName('HISTORY_TABLE'), Item: { pk: `min#${id}`, sk: '000000000001', at: id } } },
    {
      Put: {
        TableName: tableName('ENTITLEMENT_EVENTS_TABLE'),
        Item: { pk: `min#${id}`, sequence: 1, event },
      },
    },
  ];

/** `count` transactions of `shape`, `inFlight` at a time. */
async function rawTransactions(count: number, inFlight: number, shape: RawShape): Promise<void> {
  let remaining = count;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (remaining > 0) {
        remaining--;
        await documentClient().send(new TransactWriteCommand({ TransactItems: shape(randomUUID()) }));
      }
    }),
  );
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

  // Throughput: every life's events, shuffled, in batches of 10 with `concurrency` in flight,
  // next to raw transactions with as many in flight as the consumer has records. DynamoDB Local
  // is a JVM: whichever side ran first would pay its warm-up, so both run once untimed first.
  const handler = await loadHandler('webhook-consumer');
  const inFlight = concurrency * batchSize;
  const consume = (delivery: SandboxWebhook[]) => consumeAll(handler, delivery, batchSize, concurrency);
  const shaped = await consumerShape(withLives);
  const warmUp = shuffle((await ownedLifecycles(stack, WARM_UP_USERS)).flat(), SHUFFLE_SEED);
  await consume(warmUp);
  await rawTransactions(warmUp.length, inFlight, shaped);
  await rawTransactions(warmUp.length, inFlight, minimalShape(JSON.stringify(warmUp[0])));

  const delivery = shuffle((await ownedLifecycles(stack, options.users ?? 150)).flat(), SHUFFLE_SEED);
  const minimal = minimalShape(JSON.stringify(delivery[0]));
  // Timed in two halves, in the order A B C C B A: the machine is shared and the JVM keeps
  // compiling, so whatever drifts during the run weighs on each side alike.
  const half = Math.ceil(delivery.length / batchSize / 2) * batchSize;
  const halves = [delivery.slice(0, half), delivery.slice(half)];
  const seconds = { consumer: 0, raw: 0, minimal: 0 };
  const timed = async (side: keyof typeof seconds, run: () => Promise<unknown>) => {
    const started = performance.now();
    await run();
    seconds[side] += (performance.now() - started) / 1000;
  };
  let failedRecords = 0;
  const [first, second] = halves as [SandboxWebhook[], SandboxWebhook[]];
  await timed('consumer', async () => {
    failedRecords += await consume(first);
  });
  await timed('raw', () => rawTransactions(first.length, inFlight, shaped));
  await timed('minimal', () => rawTransactions(first.length, inFlight, minimal));
  await timed('minimal', () => rawTransactions(second.length, inFlight, minimal));
  await timed('raw', () => rawTransactions(second.length, inFlight, shaped));
  await timed('consumer', async () => {
    failedRecords += await consume(second);
  });

  return {
    changes: withIt.changes,
    writeUnitsWith: withIt.writeUnits,
    writeUnitsWithout: without.writeUnits,
    readUnitsWith: withIt.readUnits,
    events: delivery.length,
    concurrency: concurrency * batchSize,
    consumerPerSecond: delivery.length / seconds.consumer,
    rawPerSecond: delivery.length / seconds.raw,
    rawItems: shaped('sample').length,
    minimalPerSecond: delivery.length / seconds.minimal,
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
      `raw TransactWriteItems of the consumer's ${f.rawItems} items ${f.rawPerSecond.toFixed(0)}/s, ${f.concurrency} in flight (4 minimal items: ${f.minimalPerSecond.toFixed(0)}/s, ${(f.consumerPerSecond / f.minimalPerSecond).toFixed(2)}×)`,
      `≥ ${OUTBOX_THROUGHPUT_RATIO}×: ${ratio.toFixed(2)}×`,
      ratio >= OUTBOX_THROUGHPUT_RATIO ? 'met' : 'MISSED',
    ],
  ];
}
