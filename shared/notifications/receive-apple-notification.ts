// POST /webhooks/apple: an App Store Server Notification V2 straight from Apple. Everything Apple
// signed in it is verified (shared/notifications/apple-notification-verifier.ts) before it is
// wrapped in the envelope Attesto would have sent and queued; the consumer does the rest.
// Apple retries any answer but 200 for about three days, so: 401 for anything that fails a
// check (nothing queued, nothing said about why), 503 when Apple's OCSP responder cannot be
// asked, 500 when the queue refuses, 400 when the body is not a notification at all.
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { logger } from '../observability/logger';
import {
  type AppleNotificationConfig,
  type VerifiedAppleNotification,
  verifyAppleNotification,
} from './apple-notification-verifier';
import { normalizeAppleNotification } from './direct-envelope';
import { enqueueEnvelope } from './enqueue-notification';
import { NotificationAuthError, NotificationCheckUnavailableError } from './errors';
import {
  answer,
  internalError,
  MAX_NOTIFICATION_BODY_BYTES,
  type NotificationResult,
  rawBodyOf,
  received,
  tooLarge,
  unauthorized,
  unavailable,
} from './notification-http';

export interface ReceiveAppleDeps {
  sqs: SQSClient;
  queueUrl: () => string;
  config: () => AppleNotificationConfig;
  now?: () => Date;
}

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
): Promise<NotificationResult> {
  const requestId = event.requestContext?.requestId;
  const raw = rawBodyOf(event);
  if (raw.length > MAX_NOTIFICATION_BODY_BYTES) {
    logger.warn('Apple notification body too large', { bytes: raw.length, requestId });
    return tooLarge();
  }
  const signedPayload = signedPayloadOf(raw);
  if (!signedPayload) {
    logger.warn('Apple notification without a signedPayload', { bytes: raw.length, requestId });
    return answer(400, {
      error: 'INVALID_REQUEST',
      message: 'Expected a JSON body {"signedPayload": "<JWS>"}',
    });
  }

  let config: AppleNotificationConfig;
  try {
    config = deps.config();
  } catch (error) {
    logger.error('Apple notification settings are invalid', { error: error as Error, requestId });
    return internalError();
  }
  let verified: VerifiedAppleNotification;
  try {
    verified = await verifyAppleNotification(signedPayload, config);
  } catch (error) {
    if (error instanceof NotificationAuthError) {
      logger.warn('Apple notification refused', {
        rejection: error.rejection,
        detail: error.detail,
        requestId,
      });
      return unauthorized();
    }
    if (error instanceof NotificationCheckUnavailableError) {
      logger.warn('Apple notification not checked: a dependency is unavailable; Apple retries', {
        detail: error.detail,
        requestId,
      });
      return unavailable(error.retryAfterSeconds ?? 5);
    }
    // A bug or an unforeseen failure: Apple retries a 5xx, so nothing is lost while it is fixed.
    logger.error('Apple notification verification failed', { error: error as Error, requestId });
    return internalError();
  }

  const envelope = normalizeAppleNotification(verified, signedPayload, deps.now?.() ?? new Date());
  const labels = {
    eventId: envelope.eventId,
    event: envelope.event,
    platformEvent: envelope.platformEvent,
    environment: verified.environment,
    requestId,
  };
  try {
    await enqueueEnvelope(deps, envelope);
  } catch (error) {
    logger.error('Enqueueing the Apple notification failed', { error: error as Error, ...labels });
    return internalError();
  }
  logger.info('Apple notification enqueued', labels);
  return received();
}
