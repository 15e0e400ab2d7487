// The HTTP edge shared by the two store endpoints: the raw body as the store sent it, a header
// lookup, and the few answers they give. Kept apart from the client API's middy stack so the
// store functions bundle little besides their verifier.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

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

export const tooLarge = (): NotificationResult => answer(413, { error: 'PAYLOAD_TOO_LARGE' });
/** Deliberately says nothing about which check failed: the reason is logged, not returned. */
export const unauthorized = (): NotificationResult => answer(401, { error: 'UNAUTHORIZED' });
export const internalError = (): NotificationResult => answer(500, { error: 'INTERNAL_ERROR' });
export const received = (): NotificationResult => answer(200, { received: true });
export const unavailable = (retryAfterSeconds: number): NotificationResult =>
  answer(503, { error: 'SERVICE_UNAVAILABLE' }, { 'retry-after': String(retryAfterSeconds) });
