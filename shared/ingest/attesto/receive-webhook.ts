// The webhook function's whole job (architecture §1): check Attesto's HMAC over the raw bytes, put the
// raw body on the queue, answer. No DynamoDB and no Attesto call here, so Attesto gets its 2xx
// fast and nothing that can be slow or flaky sits between a signed event and the queue.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { checkAttestoSignature } from '../../attesto/webhook-signature';
import { logger } from '../../observability/logger';
import { type EnqueueTarget, enqueueRawBody, type RawBodyLabels } from '../enqueue';
import {
  enqueueAndAnswer,
  headerOf,
  type IngestResult,
  type IngestSource,
  internalError,
  oversized,
  requestBodyBytes,
  unauthorized,
} from '../http-edge';
import { attributeText } from '../queue-message';

export interface ReceiveWebhookDeps extends EnqueueTarget {
  /** Accepted secrets, current first (attestoWebhookSecrets). */
  secrets: () => Promise<string[]>;
  nowSeconds?: () => number;
}

const ATTESTO: IngestSource = {
  endpoint: 'attesto',
  label: 'Webhook',
  unavailable: 'its secrets could not be read; Attesto retries',
};

/** eventId and event from the headers, else from a cheap look at the body; never validated here. */
function labelsOf(event: APIGatewayProxyEventV2, raw: Buffer): RawBodyLabels {
  let eventId = headerOf(event, 'x-attesto-event-id');
  let eventType = headerOf(event, 'x-attesto-event');
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
): Promise<IngestResult> {
  const requestId = event.requestContext?.requestId;
  const raw = requestBodyBytes(event);
  const tooLarge = oversized(raw, ATTESTO, requestId);
  if (tooLarge) return tooLarge;

  let secrets: string[];
  try {
    secrets = await deps.secrets();
  } catch (error) {
    // Missing configuration or Secrets Manager down: Attesto retries a 5xx later.
    logger.error('Webhook secrets unavailable', { error: error as Error, requestId });
    return internalError();
  }
  const check = checkAttestoSignature({
    rawBody: raw,
    header: headerOf(event, 'x-attesto-signature'),
    secrets,
    nowSeconds: deps.nowSeconds?.() ?? Date.now() / 1000,
  });
  if (!check.ok) {
    logger.warn('Webhook signature refused', { reason: check.reason, requestId });
    return unauthorized(ATTESTO);
  }

  const labels = labelsOf(event, raw);
  return enqueueAndAnswer(ATTESTO, () => enqueueRawBody(deps, raw, labels), { ...labels, requestId });
}
