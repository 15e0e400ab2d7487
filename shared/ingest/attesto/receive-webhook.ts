// The webhook function's whole job (DESIGN §1): check Attesto's HMAC over the raw bytes, put the
// raw body on the queue, answer. No DynamoDB and no Attesto call here, so Attesto gets its 2xx
// fast and nothing that can be slow or flaky sits between a signed event and the queue.
import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { checkAttestoSignature } from '../../attesto/webhook-signature';
import { logger } from '../../observability/logger';
import { countWebhookReceipt } from '../../observability/metrics';
import {
  attributeText,
  BODY_ENCODING_ATTRIBUTE,
  EVENT_ID_ATTRIBUTE,
  EVENT_TYPE_ATTRIBUTE,
  messageBodyOf,
} from '../queue-message';

/** Attesto's bodies are a few KiB; SQS takes at most 256 KiB. */
export const MAX_WEBHOOK_BODY_BYTES = 256 * 1024;

export interface ReceiveWebhookDeps {
  sqs: SQSClient;
  queueUrl: () => string;
  /** Accepted secrets, current first (attestoWebhookSecrets). */
  secrets: () => Promise<string[]>;
  nowSeconds?: () => number;
}

type Result = APIGatewayProxyStructuredResultV2;

function answer(statusCode: number, body: Record<string, unknown>): Result {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function header(event: Pick<APIGatewayProxyEventV2, 'headers'>, name: string): string | undefined {
  const headers = event.headers ?? {};
  // API Gateway v2 lower-cases header names; be lenient with other callers.
  const value = headers[name] ?? Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
  return value === undefined || value === '' ? undefined : value;
}

/** eventId and event from the headers, else from a cheap look at the body; never validated here. */
function labelsOf(event: APIGatewayProxyEventV2, raw: Buffer): { eventId?: string; eventType?: string } {
  let eventId = header(event, 'x-attesto-event-id');
  let eventType = header(event, 'x-attesto-event');
  if (!eventId || !eventType) {
    try {
      const parsed = JSON.parse(raw.toString('utf8')) as { eventId?: unknown; event?: unknown };
      if (!eventId && typeof parsed?.eventId === 'string' && parsed.eventId) eventId = parsed.eventId;
      if (!eventType && typeof parsed?.event === 'string' && parsed.event) eventType = parsed.event;
    } catch {
      // A signed body that is not JSON still goes on the queue; the consumer records it.
    }
  }
  return {
    ...(eventId ? { eventId: attributeText(eventId) } : {}),
    ...(eventType ? { eventType: attributeText(eventType) } : {}),
  };
}

export async function receiveAttestoWebhook(
  event: APIGatewayProxyEventV2,
  deps: ReceiveWebhookDeps,
): Promise<Result> {
  const requestId = event.requestContext?.requestId;
  const raw = event.body
    ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8')
    : Buffer.alloc(0);
  if (raw.length > MAX_WEBHOOK_BODY_BYTES) {
    logger.warn('Webhook body too large', { bytes: raw.length, requestId });
    return answer(413, {
      error: 'PAYLOAD_TOO_LARGE',
      message: `Request body exceeds ${MAX_WEBHOOK_BODY_BYTES} bytes`,
    });
  }

  let secrets: string[];
  try {
    secrets = await deps.secrets();
  } catch (error) {
    // Missing configuration or Secrets Manager down: Attesto retries a 5xx later.
    logger.error('Webhook secrets unavailable', { error: error as Error, requestId });
    return answer(500, { error: 'INTERNAL_ERROR' });
  }
  const check = checkAttestoSignature({
    rawBody: raw,
    header: header(event, 'x-attesto-signature'),
    secrets,
    nowSeconds: deps.nowSeconds?.() ?? Date.now() / 1000,
  });
  if (!check.ok) {
    // The reason is for our logs only: the caller learns nothing about why.
    logger.warn('Webhook signature refused', { reason: check.reason, requestId });
    countWebhookReceipt('attesto', 'rejected');
    return answer(401, { error: 'UNAUTHORIZED' });
  }

  const labels = labelsOf(event, raw);
  const { body, base64 } = messageBodyOf(raw);
  const attributes: Record<string, MessageAttributeValue> = {};
  if (labels.eventId) attributes[EVENT_ID_ATTRIBUTE] = { DataType: 'String', StringValue: labels.eventId };
  if (labels.eventType)
    attributes[EVENT_TYPE_ATTRIBUTE] = { DataType: 'String', StringValue: labels.eventType };
  if (base64) attributes[BODY_ENCODING_ATTRIBUTE] = { DataType: 'String', StringValue: 'base64' };
  try {
    await deps.sqs.send(
      new SendMessageCommand({ QueueUrl: deps.queueUrl(), MessageBody: body, MessageAttributes: attributes }),
    );
  } catch (error) {
    // A 5xx makes Attesto deliver again (30 s, 2 min, 10 min, 1 h, 6 h).
    logger.error('Enqueueing the webhook failed', { error: error as Error, ...labels, requestId });
    return answer(500, { error: 'INTERNAL_ERROR' });
  }
  logger.info('Webhook enqueued', { ...labels, requestId });
  countWebhookReceipt('attesto', 'queued');
  return answer(200, { received: true });
}
