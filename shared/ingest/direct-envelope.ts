import type { AttestoWebhook } from '../attesto/schemas';
import type { UnifiedEvent } from './event-mapping';

// Wraps a verified store notification in the envelope Attesto would have sent for it (contract
// §3.4-§3.5), so the queue and the consumer see one shape whichever way the notification came.
// Differences from Attesto's envelope, on purpose:
// - `tenantId` is 'direct' and `eventId` is derived from the upstream id (`apple_<notificationUUID>`,
//   `google_<messageId>`), so a redelivery from the store gives the same eventId.
// - `externalId` is the upstream id, as Attesto sets it: the consumer dedupes on
//   (source, externalId), so the same store event arriving through Attesto and directly applies once.
// - Google `subject.key` is the notification's own purchaseToken: Attesto walks linkedPurchaseToken
//   to the root through the Play API, we leave that to the consumer, which resolves tokens to the
//   root purchase through its alias items. `appUserId` is null for Google (Attesto reads it from
//   the Play API; the consumer re-reads the purchase through Attesto's verify anyway).

export const DIRECT_TENANT_ID = 'direct';

/** The envelope fields both stores derive alike from the upstream id (see above). */
export function directEnvelopeHead(
  source: 'apple' | 'google',
  upstreamId: string,
  unified: UnifiedEvent,
  now: Date,
) {
  return {
    event: unified.event,
    reason: unified.reason,
    platformEvent: unified.platformEvent,
    eventId: `${source}_${upstreamId}`,
    externalId: upstreamId,
    timestamp: now.toISOString(),
    tenantId: DIRECT_TENANT_ID,
    source,
  };
}

/**
 * The identity of the store event behind an envelope, the same whether Attesto relayed it or the
 * store sent it directly: `apple:<notificationUUID>` / `google:<Pub/Sub messageId>`. Null for
 * envelopes without an upstream id (Attesto rows from before it recorded one).
 */
export function upstreamEventKey(webhook: Pick<AttestoWebhook, 'source' | 'externalId'>): string | null {
  return webhook.externalId ? `${webhook.source}:${webhook.externalId}` : null;
}

/** What the log line of a queued envelope says about it. */
export function envelopeLogFields(envelope: AttestoWebhook): Record<string, unknown> {
  return { eventId: envelope.eventId, event: envelope.event, platformEvent: envelope.platformEvent };
}
