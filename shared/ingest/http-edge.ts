// The HTTP edge every ingest endpoint shares (Attesto's webhook, Apple's and Google's direct
// notifications): the request bytes exactly as sent, a header lookup, the size limit, the few
// answers they give and the log lines that say why. Each source module only adds its own check.
// Kept apart from the client API's middy stack so these functions bundle little besides their
// verifier.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { logger } from '../observability/logger';
import { countWebhookReceipt } from '../observability/metrics';
import type { IngestAnswerBody } from './contract-schemas';
import { NotificationAuthError, NotificationCheckUnavailableError } from './errors';

/**
 * Everything an ingest endpoint accepts goes on the webhook queue, and SQS takes at most 256 KiB
 * per message. Attesto's webhooks, Apple's signed payloads and Pub/Sub pushes are a few KiB.
 */
export const MAX_INGEST_BODY_BYTES = 256 * 1024;

export type IngestResult = APIGatewayProxyStructuredResultV2;

/** How one ingest endpoint names, in its log lines and metrics, what it receives. */
export interface IngestSource {
  /** The endpoint's name in the WebhooksQueued / WebhooksRejected metrics. */
  endpoint: 'attesto' | 'apple' | 'google';
  /** 'Webhook', 'Apple notification', 'Pub/Sub push'. */
  label: string;
  /** Said when a dependency of the check is down: which one, and that the sender retries. */
  unavailable: string;
}

export function answer(
  statusCode: number,
  body: IngestAnswerBody,
  headers: Record<string, string> = {},
): IngestResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/** The request bytes exactly as received (API Gateway base64-encodes bodies it cannot pass as text). */
export function requestBodyBytes(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>): Buffer {
  if (!event.body) return Buffer.alloc(0);
  return Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
}

export function headerOf(event: Pick<APIGatewayProxyEventV2, 'headers'>, name: string): string | undefined {
  const headers = event.headers ?? {};
  // API Gateway v2 lower-cases header names; be lenient with other callers.
  const value = headers[name] ?? Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
  return value === undefined || value === '' ? undefined : value;
}

export const internalError = (): IngestResult => answer(500, { error: 'INTERNAL_ERROR' });
export const received = (): IngestResult => answer(200, { received: true });
const unavailable = (retryAfterSeconds: number): IngestResult =>
  answer(503, { error: 'SERVICE_UNAVAILABLE' }, { 'retry-after': String(retryAfterSeconds) });

/** The 413 for a body over the limit, or undefined when it fits. */
export function oversized(
  raw: Buffer,
  source: IngestSource,
  requestId: string | undefined,
): IngestResult | undefined {
  if (raw.length <= MAX_INGEST_BODY_BYTES) return undefined;
  logger.warn(`${source.label} body too large`, { bytes: raw.length, requestId });
  return answer(413, {
    error: 'PAYLOAD_TOO_LARGE',
    message: `Request body exceeds ${MAX_INGEST_BODY_BYTES} bytes`,
  });
}

/**
 * The 401 for a request that fails its source's check, counted as rejected. It deliberately says
 * nothing about which check failed: the caller logs the reason, the sender learns nothing.
 */
export function unauthorized(source: IngestSource): IngestResult {
  countWebhookReceipt(source.endpoint, 'rejected');
  return answer(401, { error: 'UNAUTHORIZED' });
}

/**
 * The answer to a notification that was not accepted: 401 when it fails a check, 503 when a
 * dependency of the check is down, 500 for anything else (invalid settings, a bug). The senders
 * retry the last two, so nothing is lost while they are fixed.
 */
export function refusal(error: unknown, source: IngestSource, requestId: string | undefined): IngestResult {
  if (error instanceof NotificationAuthError) {
    logger.warn(`${source.label} refused`, { rejection: error.rejection, detail: error.detail, requestId });
    return unauthorized(source);
  }
  if (error instanceof NotificationCheckUnavailableError) {
    logger.warn(`${source.label} not checked: ${source.unavailable}`, { detail: error.detail, requestId });
    return unavailable(error.retryAfterSeconds ?? 5);
  }
  logger.error(`${source.label} could not be checked`, { error: error as Error, requestId });
  return internalError();
}

/**
 * Puts a checked request on the webhook queue: 200 once SQS has it, 500 when it refuses (every
 * sender delivers a 5xx again: Attesto after 30 s … 6 h, Apple for three days, Pub/Sub for a week).
 */
export async function enqueueAndAnswer(
  source: IngestSource,
  send: () => Promise<void>,
  logged: Record<string, unknown>,
): Promise<IngestResult> {
  try {
    await send();
  } catch (error) {
    logger.error(`Enqueueing the ${source.label} failed`, { error: error as Error, ...logged });
    return internalError();
  }
  logger.info(`${source.label} enqueued`, logged);
  countWebhookReceipt(source.endpoint, 'queued');
  return received();
}
