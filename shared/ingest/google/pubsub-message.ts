import { type GoogleDeveloperNotification, googleNotificationDataSchema } from '../../attesto/schemas';
import * as z from '../../validation';
import { MalformedNotificationError } from '../errors';

// The body of a Pub/Sub push: `{message: {data: <base64 JSON>, messageId, publishTime, …},
// subscription}`. `data` is Google Play's DeveloperNotification. Call this only after
// `verifyPubSubPush` has accepted the request.

export const pushBodySchema = z.looseObject({
  message: z.looseObject({
    data: z.string().check(z.minLength(1, 'message.data is empty')),
    messageId: z.string().check(z.minLength(1)),
    publishTime: z.optional(z.string().check(z.minLength(1))),
    attributes: z.optional(z.record(z.string(), z.string())),
  }),
  subscription: z.optional(z.string()),
});

export interface DecodedPubSubMessage {
  /** Pub/Sub's id of this message; Attesto passes the same id on as `externalId`. */
  messageId: string;
  publishTime: string | null;
  subscription: string | null;
  /** `message.data` exactly as received (base64). */
  data: string;
  notification: GoogleDeveloperNotification;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function decodePubSubMessage(body: unknown): DecodedPubSubMessage {
  let parsedBody = body;
  if (typeof body === 'string') {
    try {
      parsedBody = JSON.parse(body);
    } catch {
      throw new MalformedNotificationError('Push body is not JSON');
    }
  }
  const envelope = z.safeParse(pushBodySchema, parsedBody);
  if (!envelope.success) {
    throw new MalformedNotificationError('Push body is not a Pub/Sub message', issuesOf(envelope.error));
  }
  const { message, subscription } = envelope.data;

  // Pub/Sub sends standard base64; Buffer.from would silently skip anything else.
  const compact = message.data.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) {
    throw new MalformedNotificationError('message.data is not base64', [
      { path: 'message.data', message: 'not base64' },
    ]);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(compact, 'base64').toString('utf8'));
  } catch {
    throw new MalformedNotificationError('message.data does not decode to JSON', [
      { path: 'message.data', message: 'not JSON' },
    ]);
  }
  const notification = z.safeParse(googleNotificationDataSchema, json);
  if (!notification.success) {
    throw new MalformedNotificationError(
      'message.data is not a DeveloperNotification',
      issuesOf(notification.error, 'message.data'),
    );
  }
  return {
    messageId: message.messageId,
    publishTime: message.publishTime ?? null,
    subscription: subscription ?? null,
    data: message.data,
    notification: notification.data,
  };
}

function issuesOf(error: z.SchemaError, prefix?: string): { path: string; message: string }[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(body)',
    message: issue.message,
  }));
}
