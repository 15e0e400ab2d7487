// The one DynamoDB document client of a function, its table names, and the mapping of DynamoDB
// failures onto the product's error contract.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { readConfig, requiredSetting } from '../config';
import { ServiceUnavailableError } from '../http/errors';
import type { AnySchema } from '../validation';
import * as z from '../validation';
import type { TableDef } from './tables';

let client: DynamoDBDocumentClient | undefined;

/**
 * Created on first use rather than at import, so the endpoint and region come from the
 * environment as it is when the first request runs (the local runtime and tests set it late).
 */
export function documentClient(): DynamoDBDocumentClient {
  client ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return client;
}

const tableSchemas = {
  PURCHASES_TABLE: z.object({ PURCHASES_TABLE: requiredSetting }),
  USER_IDS_TABLE: z.object({ USER_IDS_TABLE: requiredSetting }),
  PROCESSED_EVENTS_TABLE: z.object({ PROCESSED_EVENTS_TABLE: requiredSetting }),
  RATE_LIMITS_TABLE: z.object({ RATE_LIMITS_TABLE: requiredSetting }),
  HISTORY_TABLE: z.object({ HISTORY_TABLE: requiredSetting }),
  ENTITLEMENT_EVENTS_TABLE: z.object({ ENTITLEMENT_EVENTS_TABLE: requiredSetting }),
} satisfies Record<TableDef['envVar'], AnySchema>;

/** A table's physical name; each function is configured with only the tables it uses. */
export function tableName(envVar: TableDef['envVar']): string {
  const config = readConfig(tableSchemas[envVar]) as Record<string, string>;
  return config[envVar] as string;
}

const TRANSIENT_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TransactionInProgressException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/** Throttling, DynamoDB 5xx and network failures: worth retrying a moment later. */
function isTransientDynamoError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
  return (
    TRANSIENT_NAMES.has(e.name) ||
    (e.code !== undefined && TRANSIENT_CODES.has(e.code)) ||
    (e.$metadata?.httpStatusCode ?? 0) >= 500
  );
}

/** Transient failures become ServiceUnavailableError (HTTP 503, SQS retry); others pass unchanged. */
export function storeError(error: unknown): unknown {
  if (error instanceof ServiceUnavailableError) return error;
  const reasons = cancellationReasons(error);
  if (isTransientDynamoError(error) || (reasons && isThrottled(reasons))) {
    return new ServiceUnavailableError('The purchase store is briefly unavailable', 1, error);
  }
  return error;
}

export type CancellationCode =
  | 'None'
  | 'ConditionalCheckFailed'
  | 'TransactionConflict'
  | 'ThrottlingError'
  | 'ProvisionedThroughputExceeded'
  | string;

export interface CancellationReason {
  code: CancellationCode;
  /** The item as it was, when the operation asked for ALL_OLD on a failed condition. */
  item?: Record<string, unknown>;
}

/**
 * The per-operation reasons of a cancelled TransactWriteItems, in operation order, or undefined
 * when `error` is not a cancellation.
 */
function cancellationReasons(error: unknown): CancellationReason[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as { CancellationReasons?: { Code?: string; Item?: Record<string, unknown> }[] })
    .CancellationReasons;
  return (reasons ?? []).map((r) => ({
    code: r.Code ?? 'None',
    ...(r.Item ? { item: unmarshall(r.Item as Parameters<typeof unmarshall>[0]) } : {}),
  }));
}

/**
 * The reasons of a cancelled transaction, for the caller to judge; anything else (another error,
 * or a cancellation by throttling) is thrown on, for storeError to classify.
 */
export function cancellationOrThrow(error: unknown): CancellationReason[] {
  const reasons = cancellationReasons(error);
  if (!reasons || isThrottled(reasons)) throw error;
  return reasons;
}

/** A single write's condition did not hold (not a transaction's cancellation). */
export const isConditionFailure = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

/** The old item carried by a ConditionalCheckFailedException asked for with ALL_OLD. */
export function conditionFailureItem(error: unknown): Record<string, unknown> | undefined | false {
  if (!isConditionFailure(error)) return false;
  const item = (error as { Item?: Record<string, unknown> }).Item;
  return item ? unmarshall(item as Parameters<typeof unmarshall>[0]) : undefined;
}

/**
 * A cancellation caused only by contention (another transaction on the same items) is retried
 * here; DynamoDB does not retry those itself.
 */
export function isContention(reasons: CancellationReason[]): boolean {
  return reasons.some((r) => r.code === 'TransactionConflict');
}

function isThrottled(reasons: CancellationReason[]): boolean {
  return reasons.some((r) => r.code === 'ThrottlingError' || r.code === 'ProvisionedThroughputExceeded');
}

const MAX_CONTENTION_ATTEMPTS = 8;

/** Jittered exponential backoff for contention retries: up to ~10·2^attempt ms. */
function contentionPause(attempt: number): Promise<void> {
  const ms = Math.random() * 10 * 2 ** Math.min(attempt, 6);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function contentionError(what: string): ServiceUnavailableError {
  return new ServiceUnavailableError(`${what}: too much contention, retry shortly`, 1);
}

/**
 * What one try of a conditional write decided: finished with a value, try again at once (it
 * learnt something to merge against), or try again after a pause (only contention stopped it).
 */
export type WriteAttempt<T> = { done: T } | 'again' | 'contended';

/**
 * The loop around a conditional write: `attempt` runs up to MAX_CONTENTION_ATTEMPTS times and
 * waits a jittered moment after each 'contended' (DynamoDB does not retry transaction conflicts
 * itself). What it throws passes through storeError; running out of tries is a 503 about `what`.
 */
export async function retryingWrite<T>(
  what: string,
  attempt: (n: number) => Promise<WriteAttempt<T>>,
): Promise<T> {
  try {
    for (let n = 0; n < MAX_CONTENTION_ATTEMPTS; n++) {
      const outcome = await attempt(n);
      if (outcome === 'contended') await contentionPause(n);
      else if (outcome !== 'again') return outcome.done;
    }
  } catch (error) {
    throw storeError(error);
  }
  throw contentionError(what);
}
