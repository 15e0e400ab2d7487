// POST /webhooks/apple: an App Store Server Notification V2 straight from Apple. Everything Apple
// signed in it is verified (shared/ingest/apple/notification-verifier.ts) before it is
// wrapped in the envelope Attesto would have sent and queued; the consumer does the rest.
// Apple retries any answer but 200 for about three days, so: 401 for anything that fails a
// check (nothing queued, nothing said about why), 503 when Apple's OCSP responder cannot be
// asked, 500 when the queue refuses, 400 when the body is not a notification at all.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { logger } from '../../observability/logger';
import { envelopeLogFields } from '../direct-envelope';
import { type EnqueueTarget, enqueueEnvelope } from '../enqueue';
import {
  answer,
  enqueueAndAnswer,
  type IngestResult,
  type IngestSource,
  oversized,
  refusal,
  requestBodyBytes,
} from '../http-edge';
import { normalizeAppleNotification } from './envelope';
import {
  type AppleNotificationConfig,
  type VerifiedAppleNotification,
  verifyAppleNotification,
} from './notification-verifier';

export interface ReceiveAppleDeps extends EnqueueTarget {
  config: () => AppleNotificationConfig;
  now?: () => Date;
}

const APPLE: IngestSource = {
  endpoint: 'apple',
  label: 'Apple notification',
  unavailable: "Apple's OCSP responder did not answer; Apple retries",
};

function signedPayloadOf(raw: Buffer): string | undefined {
  try {
    const body = JSON.parse(raw.toString('utf8')) as { signedPayload?: unknown } | null;
    const value = body?.signedPayload;
    return typeof value === 'string' && value !== '' ? value : undefined;
  } catch {
    return undefined;
  }
}

export async function receiveAppleNotification(
  event: APIGatewayProxyEventV2,
  deps: ReceiveAppleDeps,
): Promise<IngestResult> {
  const requestId = event.requestContext?.requestId;
  const raw = requestBodyBytes(event);
  const tooLarge = oversized(raw, APPLE, requestId);
  if (tooLarge) return tooLarge;
  const signedPayload = signedPayloadOf(raw);
  if (!signedPayload) {
    logger.warn('Apple notification without a signedPayload', { bytes: raw.length, requestId });
    return answer(400, {
      error: 'INVALID_REQUEST',
      message: 'Expected a JSON body {"signedPayload": "<JWS>"}',
    });
  }

  let verified: VerifiedAppleNotification;
  try {
    verified = await verifyAppleNotification(signedPayload, deps.config());
  } catch (error) {
    return refusal(error, APPLE, requestId);
  }

  const envelope = normalizeAppleNotification(verified, signedPayload, deps.now?.() ?? new Date());
  return enqueueAndAnswer(APPLE, () => enqueueEnvelope(deps, envelope), {
    ...envelopeLogFields(envelope),
    environment: verified.environment,
    requestId,
  });
}
