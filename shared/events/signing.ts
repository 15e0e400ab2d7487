// Standard Webhooks signatures (https://www.standardwebhooks.com) with the `standardwebhooks`
// package: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per secret. During a rotation both
// the new and the old secret sign, space-separated, so a receiver holding either one verifies.
import { Webhook } from 'standardwebhooks';

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

const SECRET_PREFIX = 'whsec_';

/** A `whsec_…` secret whose rest is base64: what the package and receivers expect. */
export function isWebhookSecret(value: string): boolean {
  if (!value.startsWith(SECRET_PREFIX)) return false;
  const key = value.slice(SECRET_PREFIX.length);
  return key.length >= 16 && /^[A-Za-z0-9+/]+={0,2}$/.test(key);
}

export function signedHeaders(
  secrets: readonly string[],
  webhookId: string,
  body: string,
  now: Date,
): SignedHeaders {
  if (secrets.length === 0) throw new Error('no webhook signing secret');
  const signatures = secrets.map((secret) => new Webhook(secret).sign(webhookId, now, body));
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  };
}
