// Counts the AWS calls the product's code makes, with SDK middleware. The functions build their
// clients privately (module constants, lazily created document clients), so the counter is put on
// each client's middleware stack the first time that client sends: whatever client the code uses
// is counted, without reaching into it.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface SdkCall {
  service: string;
  command: string;
  startedAt: number;
  endedAt: number;
  /** DynamoDB capacity units the call consumed (ReturnConsumedCapacity TOTAL), when it reported them. */
  readUnits: number;
  writeUnits: number;
  /** Of `writeUnits`, those spent on the history table (its records and their index entries). */
  historyWriteUnits: number;
}

const calls: SdkCall[] = [];
const READS = new Set([
  'GetItemCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchGetItemCommand',
  'TransactGetItemsCommand',
]);
const instrumented = new WeakSet<object>();

type Stack = {
  add(middleware: unknown, options: Record<string, unknown>): void;
};

// biome-ignore lint/suspicious/noExplicitAny: middleware arguments are the SDK's untyped handler args
type Next = (args: any) => Promise<any>;

function instrument(stack: Stack, service: string): void {
  if (instrumented.has(stack)) return;
  instrumented.add(stack);
  // Asks DynamoDB to report what each call costs; the answers are otherwise unchanged.
  if (service === 'DynamoDB') {
    stack.add(
      // biome-ignore lint/suspicious/noExplicitAny: see Next
      (next: Next) => async (args: any) => {
        if (args.input && typeof args.input === 'object' && !('ReturnConsumedCapacity' in args.input)) {
          // INDEXES: the units per table, so the history table's share can be told apart.
          args.input.ReturnConsumedCapacity = 'INDEXES';
        }
        return next(args);
      },
      { step: 'initialize', name: 'benchConsumedCapacity', priority: 'high' },
    );
  }
  // finalizeRequest runs once per HTTP attempt (after the retry middleware): a round trip each.
  stack.add(
    // biome-ignore lint/suspicious/noExplicitAny: see Next
    (next: Next, context: any) => async (args: any) => {
      const call: SdkCall = {
        service,
        command: String(context.commandName ?? 'unknown'),
        startedAt: performance.now(),
        endedAt: Number.NaN,
        readUnits: 0,
        writeUnits: 0,
        historyWriteUnits: 0,
      };
      calls.push(call);
      try {
        const result = await next(args);
        const consumed = result?.output?.ConsumedCapacity;
        const perTable: { CapacityUnits?: number; TableName?: string }[] = Array.isArray(consumed)
          ? consumed
          : consumed
            ? [consumed]
            : [];
        const units = perTable.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
        if (READS.has(call.command)) call.readUnits = units;
        else {
          call.writeUnits = units;
          call.historyWriteUnits = perTable
            .filter((c) => /history$/.test(c.TableName ?? ''))
            .reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
        }
        return result;
      } finally {
        call.endedAt = performance.now();
      }
    },
    { step: 'finalizeRequest', name: 'benchRoundTrips', priority: 'low' },
  );
}

function hook(clientClass: { prototype: { send: (...args: unknown[]) => unknown } }, service: string) {
  const send = clientClass.prototype.send;
  clientClass.prototype.send = function (this: { middlewareStack: Stack }, ...args: unknown[]) {
    instrument(this.middlewareStack, service);
    return send.apply(this, args);
  };
}

let hooked = false;

/**
 * Attesto calls go through fetch; each is recorded with its timing, so a DynamoDB read that runs
 * while Attesto answers is seen as overlapped, not as a round trip of its own.
 */
function hookFetch(isAttesto: (url: string) => boolean): void {
  const original = globalThis.fetch;
  globalThis.fetch = async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!isAttesto(url)) return original(input, init);
    const call: SdkCall = {
      service: 'Attesto',
      command: new URL(url).pathname,
      startedAt: performance.now(),
      endedAt: Number.NaN,
      readUnits: 0,
      writeUnits: 0,
      historyWriteUnits: 0,
    };
    calls.push(call);
    try {
      const response = await original(input, init);
      // The client reads the body next; the answer has arrived once the headers have.
      return response;
    } finally {
      call.endedAt = performance.now();
    }
  };
}

/** Starts counting every AWS call made through the SDK clients of this process. */
export function countSdkCalls(): void {
  if (hooked) return;
  hooked = true;
  hookFetch((url) => /\/v1\/(apple|google)\/verify$/.test(new URL(url).pathname));
  hook(DynamoDBClient as never, 'DynamoDB');
  // The document client shares its DynamoDB client's middleware stack: one counter for both.
  hook(DynamoDBDocumentClient as never, 'DynamoDB');
  hook(SQSClient as never, 'SQS');
  hook(SecretsManagerClient as never, 'SecretsManager');
}

/** Runs fn and returns the calls it made. Not for overlapping measurements. */
export async function recordCalls<T>(fn: () => Promise<T>): Promise<{ result: T; calls: SdkCall[] }> {
  const from = calls.length;
  const result = await fn();
  return { result, calls: calls.slice(from) };
}

/**
 * DynamoDB round trips on the request's critical path: the longest chain of DynamoDB calls each
 * starting after the previous one ended. A call made while an Attesto call is in flight is left
 * out: it costs the request no time of its own.
 */
export function sequentialRoundTrips(list: readonly SdkCall[]): number {
  const attesto = list.filter((c) => c.service === 'Attesto');
  const overlapsAttesto = (c: SdkCall) =>
    attesto.some((a) => c.startedAt < a.endedAt && c.endedAt > a.startedAt);
  const dynamo = list
    .filter((c) => c.service === 'DynamoDB' && !overlapsAttesto(c))
    .sort((a, b) => a.endedAt - b.endedAt);
  const chain: number[] = [];
  dynamo.forEach((call, i) => {
    let longest = 0;
    for (let j = 0; j < i; j++) {
      const before = dynamo[j] as SdkCall;
      if (before.endedAt <= call.startedAt) longest = Math.max(longest, chain[j] as number);
    }
    chain.push(longest + 1);
  });
  return Math.max(0, ...chain);
}
