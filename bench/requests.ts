// Figure 2: AWS round trips and Attesto calls per request, counted while the real handlers serve
// requests against DynamoDB Local, fauxqs and the Attesto sandbox. Also the handlers' warm
// durations and DynamoDB capacity units, which the cost model (figure 5) uses.
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context, SQSEvent } from 'aws-lambda';
import { httpApiEvent, lambdaContext as testLambdaContext } from '../dev/fixtures/api-event';
import { sqsRecord } from '../dev/fixtures/sqs-event';
import type { AttestoSandbox } from '../dev/sandbox/server';
import type { SandboxWebhook } from '../dev/sandbox/world-types';
import { getOrMintUuid } from '../shared/store/user-ids';
import type { LocalStack } from './local-stack';
import { recordCalls, type SdkCall, sequentialRoundTrips } from './sdk-calls';
import { median } from './stats';

export interface RequestFigure {
  name: string;
  fn: string;
  dynamoCalls: number;
  dynamoSequential: number;
  dynamoCommands: string[];
  sqsCalls: number;
  attestoCalls: number;
  /** What no implementation can go below (or the brief's ceiling), in words for the table. */
  minimum: string;
  met: boolean;
  /** Median warm handler duration on this machine against the local emulators. */
  durationMs: number;
  readUnits: number;
  writeUnits: number;
  /** Of `writeUnits`, the history records' share: the write cost without history is the difference. */
  historyWriteUnits: number;
  runs: number;
}

// biome-ignore lint/suspicious/noExplicitAny: handlers of different event types behind one call
type AnyHandler = (event: any, context: Context) => Promise<any>;

export function lambdaContext(name: string, remainingMs = 10_000): Context {
  const deadline = Date.now() + remainingMs;
  return { ...testLambdaContext(name, () => deadline - Date.now()), awsRequestId: randomUUID() };
}

/** An HTTP API payload-2.0 event as API Gateway passes it after the JWT authorizer. */
export function httpEvent(
  method: string,
  path: string,
  options: { user?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): APIGatewayProxyEventV2 {
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  return httpApiEvent({
    method,
    path,
    ...(body === undefined ? {} : { body }),
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.user ? { claims: { sub: options.user } } : {}),
    requestId: randomUUID(),
    timeEpoch: Date.now(),
  });
}

export function sqsEvent(webhooks: readonly SandboxWebhook[]): SQSEvent {
  return { Records: webhooks.map((w) => sqsRecord(JSON.stringify(w))) };
}

export async function loadHandler(fn: string): Promise<AnyHandler> {
  const mod = (await import(`../functions/${fn}/handler.ts`)) as { handler: AnyHandler };
  return mod.handler;
}

interface Scenario {
  name: string;
  fn: string;
  minimum: string;
  /** Checks the counts against the minimum. */
  meets(c: { dynamo: number; sequential: number; sqs: number; attesto: number; commands: string[] }): boolean;
  /** Prepares one request (not measured) and returns the event to send. */
  prepare(i: number): Promise<unknown>;
  /** Throws when the answer is not the success the scenario expects. */
  check(result: unknown): void;
}

function expectStatus(status: number) {
  return (result: unknown) => {
    const r = result as { statusCode?: number; body?: string };
    if (r.statusCode !== status) throw new Error(`expected ${status}, got ${r.statusCode}: ${r.body}`);
  };
}

function expectNoFailures(result: unknown) {
  const r = result as { batchItemFailures?: unknown[] };
  if (r.batchItemFailures?.length) throw new Error(`batch failures: ${JSON.stringify(r.batchItemFailures)}`);
}

function expectValid(result: unknown) {
  expectStatus(200)(result);
  const body = JSON.parse((result as { body: string }).body) as { valid?: boolean; error?: string };
  if (body.valid !== true) throw new Error(`expected valid:true, got ${JSON.stringify(body)}`);
}

// The user's Attesto call is counted (one conditional update, docs/configuration.md) before
// Attesto is asked, so a limited user never spends the app's Attesto quota; after Attesto answers,
// the purchase work keeps its two sequential round trips.
const VERIFY_MINIMUM = '1 call-limit update, 1 Attesto, then ≤ 2 sequential DynamoDB';
const verifyMeets = (c: { attesto: number; sequential: number; commands: string[] }) =>
  c.attesto === 1 && c.commands.filter((x) => x === 'UpdateItemCommand').length === 1 && c.sequential <= 3;

function scenarios(sandbox: AttestoSandbox): Scenario[] {
  const user = (i: number, tag: string) => `bench-${tag}-${i}-${Date.now()}`;
  const buy = async (platform: 'apple' | 'google', productId = 'premium_monthly') =>
    (await sandbox.buy({ platform, productId, deliver: false })).purchase;
  const isTransaction = (c: string) => c === 'TransactWriteItemsCommand';
  // The reads: the purchase (history needs what the write changes) alongside the appUserId lookup.
  const consumerMeets = (attesto: number) => (c: { commands: string[]; attesto: number; sqs: number }) =>
    c.commands.filter(isTransaction).length === 1 &&
    c.commands.filter((x) => !isTransaction(x)).length <= 2 &&
    c.attesto === attesto &&
    c.sqs === 0;
  return [
    {
      name: 'verify Apple (new purchase)',
      fn: 'verify-apple',
      minimum: VERIFY_MINIMUM,
      meets: verifyMeets,
      async prepare(i) {
        const p = await buy('apple');
        return httpEvent('POST', '/api/iap/verify/apple', {
          user: user(i, 'va'),
          body: { productId: p.productId, transactionId: p.token, type: 'subscription' },
        });
      },
      check: expectValid,
    },
    {
      name: 'verify Google (new purchase)',
      fn: 'verify-google',
      minimum: VERIFY_MINIMUM,
      meets: verifyMeets,
      async prepare(i) {
        const p = await buy('google');
        return httpEvent('POST', '/api/iap/verify/google', {
          user: user(i, 'vg'),
          body: { productId: p.productId, purchaseToken: p.token, type: 'subscription' },
        });
      },
      check: expectValid,
    },
    {
      name: 'entitlements',
      fn: 'entitlements',
      minimum: '1 DynamoDB query, no Attesto',
      meets: (c) => c.dynamo <= 1 && c.attesto === 0,
      async prepare(i) {
        return httpEvent('GET', '/api/iap/entitlements', { user: user(i, 'en') });
      },
      check: expectStatus(200),
    },
    {
      name: 'uuid (already minted)',
      fn: 'uuid',
      minimum: '1 DynamoDB read',
      meets: (c) => c.dynamo <= 1 && c.attesto === 0,
      async prepare(i) {
        const event = httpEvent('POST', '/api/iap/uuid', { user: user(i, 'uu') });
        // Mint first (not measured): the common request is the repeat.
        await (await loadHandler('uuid'))(event, lambdaContext('uuid'));
        return event;
      },
      check: expectStatus(200),
    },
    {
      name: 'products',
      fn: 'products',
      minimum: 'no AWS call',
      meets: (c) => c.dynamo === 0 && c.sqs === 0 && c.attesto === 0,
      async prepare() {
        return httpEvent('GET', '/api/iap/products');
      },
      check: expectStatus(200),
    },
    {
      name: 'webhook acknowledge',
      fn: 'attesto-webhook',
      minimum: '1 SQS send, no DynamoDB',
      meets: (c) => c.sqs === 1 && c.dynamo === 0 && c.attesto === 0,
      async prepare() {
        const { webhooks } = await sandbox.buy({
          platform: 'apple',
          productId: 'premium_monthly',
          deliver: false,
        });
        const request = sandbox.buildWebhookRequest(webhooks[0] as SandboxWebhook);
        return httpEvent('POST', '/attesto-webhook', {
          rawBody: request.body,
          headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v])),
        });
      },
      check: expectStatus(200),
    },
    {
      name: 'consumer: Apple event',
      fn: 'webhook-consumer',
      minimum: '1 transaction + ≤ 2 reads, no Attesto',
      meets: consumerMeets(0),
      async prepare() {
        const { webhooks } = await sandbox.buy({
          platform: 'apple',
          productId: 'premium_monthly',
          deliver: false,
        });
        return sqsEvent(webhooks.slice(0, 1));
      },
      check: expectNoFailures,
    },
    {
      name: 'consumer: Google event',
      fn: 'webhook-consumer',
      minimum: '1 transaction + ≤ 2 reads, 1 Attesto',
      meets: consumerMeets(1),
      async prepare() {
        const { webhooks } = await sandbox.buy({
          platform: 'google',
          productId: 'premium_monthly',
          deliver: false,
        });
        return sqsEvent(webhooks.slice(0, 1));
      },
      check: expectNoFailures,
    },
    {
      // The owner's set changes, so the outbox derives it: the appUserId binding beside the
      // purchase, then the owner's holdings and outbox item, then the transaction.
      name: 'consumer: renewal of an owned purchase',
      fn: 'webhook-consumer',
      minimum: '1 transaction + ≤ 4 reads, ≤ 3 sequential, no Attesto',
      meets: (c) =>
        c.commands.filter(isTransaction).length === 1 &&
        c.commands.filter((x) => !isTransaction(x)).length <= 4 &&
        c.sequential <= 3 &&
        c.attesto === 0 &&
        c.sqs === 0,
      async prepare(i) {
        const uuid = await getOrMintUuid(user(i, 'owner'), randomUUID);
        const bought = await sandbox.buy({
          platform: 'apple',
          productId: 'premium_monthly',
          appUserId: uuid,
          deliver: false,
        });
        await (await loadHandler('webhook-consumer'))(sqsEvent(bought.webhooks), lambdaContext('bench'));
        const renewed = await sandbox.act(bought.purchase.id, 'renew', { deliver: false });
        return sqsEvent(renewed.webhooks);
      },
      check: expectNoFailures,
    },
  ];
}

function summarise(calls: SdkCall[]) {
  const dynamo = calls.filter((c) => c.service === 'DynamoDB');
  return {
    dynamo: dynamo.length,
    sequential: sequentialRoundTrips(
      calls.filter((c) => c.service === 'DynamoDB' || c.service === 'Attesto'),
    ),
    commands: dynamo.map((c) => c.command),
    sqs: calls.filter((c) => c.service === 'SQS').length,
    readUnits: dynamo.reduce((s, c) => s + c.readUnits, 0),
    writeUnits: dynamo.reduce((s, c) => s + c.writeUnits, 0),
    historyWriteUnits: dynamo.reduce((s, c) => s + c.historyWriteUnits, 0),
  };
}

/** Each scenario once to load its function (not counted), then `runs` measured requests. */
export async function measureRequests(stack: LocalStack, runs = 5): Promise<RequestFigure[]> {
  const { sandbox } = stack;
  const figures: RequestFigure[] = [];
  for (const scenario of scenarios(sandbox)) {
    const handler = await loadHandler(scenario.fn);
    scenario.check(await handler(await scenario.prepare(-1), lambdaContext(scenario.fn)));
    const samples: (ReturnType<typeof summarise> & { attesto: number; ms: number })[] = [];
    for (let i = 0; i < runs; i++) {
      const event = await scenario.prepare(i);
      sandbox.resetStats();
      const started = performance.now();
      const { result, calls } = await recordCalls(() => handler(event, lambdaContext(scenario.fn)));
      const ms = performance.now() - started;
      scenario.check(result);
      samples.push({ ...summarise(calls), attesto: sandbox.stats().verify.total, ms });
      if (process.env.BENCH_DEBUG)
        console.log(
          scenario.name,
          ms.toFixed(1),
          calls
            .map(
              (c) => `${c.command}@${(c.startedAt - started).toFixed(0)}-${(c.endedAt - started).toFixed(0)}`,
            )
            .join(' '),
        );
    }
    // Counts are the same on every run; the worst one is reported so a rare extra call shows.
    const worst = samples.reduce((a, b) =>
      b.dynamo + b.sqs + b.attesto > a.dynamo + a.sqs + a.attesto ? b : a,
    );
    figures.push({
      name: scenario.name,
      fn: scenario.fn,
      dynamoCalls: worst.dynamo,
      dynamoSequential: worst.sequential,
      dynamoCommands: worst.commands,
      sqsCalls: worst.sqs,
      attestoCalls: worst.attesto,
      minimum: scenario.minimum,
      met: samples.every((s) => scenario.meets(s)),
      durationMs: median(samples.map((s) => s.ms)),
      readUnits: median(samples.map((s) => s.readUnits)),
      writeUnits: median(samples.map((s) => s.writeUnits)),
      historyWriteUnits: median(samples.map((s) => s.historyWriteUnits)),
      runs,
    });
  }
  return figures;
}

/** A batch of 10 Apple events of different purchases, warm: what one consumer invocation costs. */
export async function measureConsumerBatch(
  stack: LocalStack,
  runs = 5,
): Promise<{ durationMs: number; readUnits: number; writeUnits: number; historyWriteUnits: number }> {
  const handler = await loadHandler('webhook-consumer');
  const samples: { ms: number; readUnits: number; writeUnits: number; historyWriteUnits: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const webhooks: SandboxWebhook[] = [];
    for (let j = 0; j < 10; j++) {
      webhooks.push(
        ...(
          await stack.sandbox.buy({ platform: 'apple', productId: 'premium_monthly', deliver: false })
        ).webhooks.slice(0, 1),
      );
    }
    const started = performance.now();
    const { result, calls } = await recordCalls(() =>
      handler(sqsEvent(webhooks), lambdaContext('webhook-consumer')),
    );
    const ms = performance.now() - started;
    expectNoFailures(result);
    const s = summarise(calls);
    samples.push({
      ms,
      readUnits: s.readUnits,
      writeUnits: s.writeUnits,
      historyWriteUnits: s.historyWriteUnits,
    });
  }
  return {
    durationMs: median(samples.map((s) => s.ms)),
    readUnits: median(samples.map((s) => s.readUnits)),
    writeUnits: median(samples.map((s) => s.writeUnits)),
    historyWriteUnits: median(samples.map((s) => s.historyWriteUnits)),
  };
}

/** A deterministic stream of numbers in [0, 1) (mulberry32): every run draws the same ones. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Shuffles `items` in place (Fisher–Yates) and answers them: the same order every run. `seed` is a
 * seed for `seeded`, or a stream of it already in use (so draws made before continue the sequence).
 */
export function shuffle<T>(items: T[], seed: number | (() => number)): T[] {
  const random = typeof seed === 'number' ? seeded(seed) : seed;
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** Deliveries of a failed record before a bench gives up on it. */
const DELIVERIES = 5;

/**
 * Feeds `delivery` to the webhook consumer as Lambda's SQS event source would: batches of
 * `batchSize`, `concurrency` of them in flight; a failed record comes back from SQS after its
 * visibility timeout, here at once. Answers how many records failed on the way; throws when one
 * still fails after the last delivery, so no figure counts an event that was never applied.
 */
export async function consumeAll(
  handler: AnyHandler,
  delivery: readonly SandboxWebhook[],
  batchSize: number,
  concurrency: number,
): Promise<number> {
  const batches: SandboxWebhook[][] = [];
  for (let i = 0; i < delivery.length; i += batchSize) batches.push(delivery.slice(i, i + batchSize));
  let failedRecords = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < batches.length) {
        let pending = batches[next++] as SandboxWebhook[];
        for (let attempt = 0; pending.length > 0 && attempt < DELIVERIES; attempt++) {
          const event = sqsEvent(pending);
          const result = (await handler(event, lambdaContext('webhook-consumer'))) as {
            batchItemFailures: { itemIdentifier: string }[];
          };
          const failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
          failedRecords += failed.size;
          pending = pending.filter((_, k) => failed.has(event.Records[k]?.messageId as string));
        }
        if (pending.length)
          throw new Error(`${pending.length} records still failing after ${DELIVERIES} deliveries`);
      }
    }),
  );
  return failedRecords;
}
