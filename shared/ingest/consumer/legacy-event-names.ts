// Attesto once named its webhooks after the store's own identifiers (`apple.did_renew`,
// `apple.refund`, `google.subscription.2`; its docs also spoke of `google.subscription.renewed`,
// `…cancelled`), before it moved to the unified names of contract §3.6 and added `platformEvent`.
// Rows it stored before that renaming still go out, retries included, with the old name in `event`
// and `platformEvent` empty. Their `data` is the store notification itself, the same as today, so
// the current name is read from it with the tables the direct store endpoints use: one mapping,
// whatever the old name said.
import { type AttestoWebhook, isAttestoEvent } from '../../attesto/schemas';
import { unifiedAppleEvent, unifiedGoogleEvent } from '../event-mapping';

/** True for a webhook named in Attesto's vocabulary from before the unified event names. */
export function hasLegacyEventName(webhook: Pick<AttestoWebhook, 'event' | 'platformEvent'>): boolean {
  return webhook.platformEvent === '' && !isAttestoEvent(webhook.event);
}

/**
 * The webhook under its current name, reason and platformEvent. A webhook already named in the
 * current vocabulary comes back as it is. A legacy one whose data names no notification the
 * tables know becomes `unknown`, which the consumer acknowledges and logs.
 */
export function withCurrentEventName(webhook: AttestoWebhook): AttestoWebhook {
  if (!hasLegacyEventName(webhook)) return webhook;
  const unified =
    webhook.source === 'apple' ? unifiedAppleEvent(webhook.data) : unifiedGoogleEvent(webhook.data);
  return { ...webhook, event: unified.event, reason: unified.reason, platformEvent: unified.platformEvent };
}
