import { signAttestoPayload } from '../../shared/attesto/webhook-signature';
import type { SandboxWebhook } from './world-types';

// Sends a webhook the way Attesto's delivery does: JSON.stringify the envelope once, sign exactly
// those bytes with a fresh `t`, POST with Attesto's headers, and count any 2xx as delivered.

export interface WebhookRequest {
  body: string;
  headers: Record<string, string>;
}

export interface DeliveryResult {
  eventId: string;
  event: string;
  url: string;
  /** HTTP status of the receiver, or null when it could not be reached / timed out. */
  status: number | null;
  delivered: boolean;
  /** First 256 characters of the receiver's answer, as Attesto keeps. */
  responseBody: string | null;
  error?: string;
  durationMs: number;
}

export function buildWebhookRequest(
  webhook: SandboxWebhook,
  secret: string,
  nowSeconds: number,
  version: string,
): WebhookRequest {
  const body = JSON.stringify(webhook);
  const t = Math.floor(nowSeconds);
  return {
    body,
    headers: {
      'Content-Type': 'application/json',
      'X-Attesto-Event': webhook.event,
      'X-Attesto-Event-Id': webhook.eventId,
      'X-Attesto-Timestamp': String(t),
      'X-Attesto-Signature': signAttestoPayload(body, secret, t),
      'X-Attesto-Version': version,
    },
  };
}

export interface DeliverOptions {
  url: string;
  secret: string;
  version: string;
  timeoutMs?: number;
  nowSeconds?: () => number;
  fetch?: typeof fetch;
}

export async function deliverWebhook(
  webhook: SandboxWebhook,
  options: DeliverOptions,
): Promise<DeliveryResult> {
  const started = performance.now();
  const nowSeconds = options.nowSeconds ?? (() => Date.now() / 1000);
  const request = buildWebhookRequest(webhook, options.secret, nowSeconds(), options.version);
  const result: DeliveryResult = {
    eventId: webhook.eventId,
    event: webhook.event,
    url: options.url,
    status: null,
    delivered: false,
    responseBody: null,
    durationMs: 0,
  };
  try {
    const response = await (options.fetch ?? fetch)(options.url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    result.status = response.status;
    result.delivered = response.status >= 200 && response.status < 300;
    result.responseBody = (await response.text().catch(() => '')).slice(0, 256);
  } catch (error) {
    result.error = (error instanceof Error ? error.message : String(error)).slice(0, 256);
  }
  result.durationMs = Math.round(performance.now() - started);
  return result;
}
