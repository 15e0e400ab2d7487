// POST /webhooks/google: Google Play real-time developer notifications over an authenticated
// Pub/Sub push subscription. The OIDC token Pub/Sub attaches is verified first
// (shared/ingest/google/pubsub-push-auth.ts); only then is the body read, wrapped in the envelope
// Attesto would have sent and queued. The consumer re-reads the purchase through Attesto's Google
// verify, so nothing here needs Play API access.
//
// Pub/Sub redelivers anything but a 2xx until the message expires (7 days by default), so:
// - 401: the token fails a check. Nothing is queued; the reason is logged, not returned.
// - 503: Google's key set could not be fetched (Pub/Sub retries with backoff).
// - 500: the queue refused the message.
// - 200 for a push that is authentic but cannot be read as a DeveloperNotification: answering
//   4xx would only make Pub/Sub hammer us with the same bytes for a week. The raw body is queued
//   instead, where the consumer dead-letters it (see enqueueUndecodable) and it is logged at
//   error level with its messageId, so nothing Google sent is lost silently.
// - 200 without queueing for a notification about another app (packageName): a shared topic is
//   legitimate, and that app's backend is the one that handles it.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { JWTVerifyGetKey } from 'jose';
import { logger } from '../../observability/logger';
import { countWebhookReceipt } from '../../observability/metrics';
import { envelopeLogFields } from '../direct-envelope';
import { type EnqueueTarget, enqueueEnvelope, enqueueUndecodable } from '../enqueue';
import { MalformedNotificationError } from '../errors';
import {
  enqueueAndAnswer,
  headerOf,
  type IngestResult,
  type IngestSource,
  internalError,
  oversized,
  received,
  refusal,
  requestBodyBytes,
} from '../http-edge';
import { normalizeGoogleNotification } from './envelope';
import type { GoogleNotificationSettings } from './notification-settings';
import { type DecodedPubSubMessage, decodePubSubMessage } from './pubsub-message';
import { verifyPubSubPush } from './pubsub-push-auth';

export interface ReceiveGoogleDeps extends EnqueueTarget {
  settings: () => GoogleNotificationSettings;
  /** Key set override (tests); by default Google's, fetched and cached per cold start. */
  jwks?: JWTVerifyGetKey;
  now?: () => Date;
}

const PUBSUB: IngestSource = {
  endpoint: 'google',
  label: 'Pub/Sub push',
  unavailable: "Google's key set could not be fetched; Pub/Sub retries",
};

/** The messageId of a push we could not decode, for the logs; never trusted for anything else. */
function messageIdOf(raw: Buffer): string | undefined {
  try {
    const id = (JSON.parse(raw.toString('utf8')) as { message?: { messageId?: unknown } } | null)?.message
      ?.messageId;
    return typeof id === 'string' && id !== '' ? id.slice(0, 128) : undefined;
  } catch {
    return undefined;
  }
}

export async function receiveGoogleNotification(
  event: APIGatewayProxyEventV2,
  deps: ReceiveGoogleDeps,
): Promise<IngestResult> {
  const requestId = event.requestContext?.requestId;
  const raw = requestBodyBytes(event);
  const tooLarge = oversized(raw, PUBSUB, requestId);
  if (tooLarge) return tooLarge;

  let settings: GoogleNotificationSettings;
  try {
    settings = deps.settings();
    await verifyPubSubPush(headerOf(event, 'authorization'), {
      ...settings.auth,
      ...(deps.jwks ? { jwks: deps.jwks } : {}),
      ...(deps.now ? { now: deps.now() } : {}),
    });
  } catch (error) {
    return refusal(error, PUBSUB, requestId);
  }

  let decoded: DecodedPubSubMessage;
  try {
    decoded = decodePubSubMessage(raw.toString('utf8'));
  } catch (error) {
    if (!(error instanceof MalformedNotificationError)) throw error;
    const messageId = messageIdOf(raw);
    logger.error('Authentic Pub/Sub push is not a DeveloperNotification; queued for the dead-letter queue', {
      messageId,
      problem: error.message,
      issues: error.issues,
      requestId,
    });
    try {
      await enqueueUndecodable(deps, raw, messageId);
    } catch (sendError) {
      logger.error('Enqueueing the undecodable push failed', {
        error: sendError as Error,
        messageId,
        requestId,
      });
      return internalError();
    }
    countWebhookReceipt('google', 'queued');
    return received();
  }

  const { notification, messageId } = decoded;
  if (notification.packageName !== settings.packageName) {
    logger.warn('Google notification for another app acknowledged and ignored', {
      messageId,
      packageName: notification.packageName,
      requestId,
    });
    return received();
  }

  const envelope = normalizeGoogleNotification(decoded, deps.now?.() ?? new Date());
  return enqueueAndAnswer(PUBSUB, () => enqueueEnvelope(deps, envelope), {
    ...envelopeLogFields(envelope),
    requestId,
  });
}
