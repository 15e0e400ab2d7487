// The HTTP edge shared by the two store endpoints: the raw body as the store sent it, a header
// lookup, the few answers they give and the log lines that say why. Kept apart from the client
// API's middy stack so the store functions bundle little besides their verifier.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { AttestoWebhook } from '../attesto/schemas';
import { logger } from '../observability/logger';
import { countWebhookReceipt } from '../observability/metrics';
import { type EnqueueTarget, enqueueEnvelope } from './enqueue';
import { NotificationAuthError, NotificationCheckUnavailableError } from './errors';

/** Store notifications are a few KiB (Apple's signed payload, Pub/Sub's RTDN); SQS takes 256 KiB. */
export const MAX_NOTIFICATION_BODY_BYTES = 256 * 1024;

export type NotificationResult = APIGatewayProxyStructuredResultV2;

export function answer(
  statusCode: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): NotificationResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/** The request bytes exactly as received (API Gateway base64-encodes bodies it cannot pass as text). */
export function rawBodyOf(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>): Buffer {
  if (!event.body) return Buffer.alloc(0);
  return Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
}

export function headerOf(event: Pick<APIGatewayProxyEventV2, 'headers'>, name: string): string | undefined {
  const headers = event.headers ?? {};
  // API Gateway v2 lower-cases header names; be lenient with other callers.
  const value = headers[name] ?? Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
  return value === undefined || value === '' ? undefined : value;
}

const tooLarge = (): NotificationResult => answer(413, { error: 'PAYLOAD_TOO_LARGE' });
/** Deliberately says nothing about which check failed: the reason is logged, not returned. */
const unauthorized = (): NotificationResult => answer(401, { error: 'UNAUTHORIZED' });
export const internalError = (): NotificationResult => answer(500, { error: 'INTERNAL_ERROR' });
export const received = (): NotificationResult => answer(200, { received: true });
const unavailable = (retryAfterSeconds: number): NotificationResult =>
  answer(503, { error: 'SERVICE_UNAVAILABLE' }, { 'retry-after': String(retryAfterSeconds) });

/** How one store endpoint names, in its log lines, what it receives. */
export interface NotificationSource {
  /** The endpoint's name in the WebhooksQueued / WebhooksRejected metrics. */
  endpoint: 'apple' | 'google';
  /** 'Apple notification', 'Pub/Sub push'. */
  label: string;
  /** Said when a dependency of the check is down: which one, and that the sender retries. */
  unavailable: string;
}

/** The 413 for a body over the limit, or undefined when it fits. */
export function oversized(
  raw: Buffer,
  source: NotificationSource,
  requestId: string | undefined,
): NotificationResult | undefined {
  if (raw.length <= MAX_NOTIFICATION_BODY_BYTES) return undefined;
  logger.warn(`${source.label} body too large`, { bytes: raw.length, requestId });
  return tooLarge();
}

/**
 * The answer to a notification that was not accepted: 401 when it fails a check, 503 when a
 * dependency of the check is down, 500 for anything else (invalid settings, a bug). The stores
 * retry the last two, so nothing is lost while they are fixed.
 */
export function refusal(
  error: unknown,
  source: NotificationSource,
  requestId: string | undefined,
): NotificationResult {
  if (error instanceof NotificationAuthError) {
    logger.warn(`${source.label} refused`, { rejection: error.rejection, detail: error.detail, requestId });
    countWebhookReceipt(source.endpoint, 'rejected');
    return unauthorized();
  }
  if (error instanceof NotificationCheckUnavailableError) {
    logger.warn(`${source.label} not checked: ${source.unavailable}`, { detail: error.detail, requestId });
    return unavailable(error.retryAfterSeconds ?? 5);
  }
  logger.error(`${source.label} could not be checked`, { error: error as Error, requestId });
  return internalError();
}

/** Queues a verified notification's envelope: 200 once SQS has it, 500 (retried) when it refuses. */
export async function enqueueAndAnswer(
  target: EnqueueTarget,
  envelope: AttestoWebhook,
  source: NotificationSource,
  labels: Record<string, unknown>,
): Promise<NotificationResult> {
  const logged = {
    eventId: envelope.eventId,
    event: envelope.event,
    platformEvent: envelope.platformEvent,
    ...labels,
  };
  try {
    await enqueueEnvelope(target, envelope);
  } catch (error) {
    logger.error(`Enqueueing the ${source.label} failed`, { error: error as Error, ...logged });
    return internalError();
  }
  logger.info(`${source.label} enqueued`, logged);
  countWebhookReceipt(source.endpoint, 'queued');
  return received();
}
