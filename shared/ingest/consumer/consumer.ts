// The webhook consumer (architecture §1, §4): each SQS record is one Attesto webhook, applied to its
// purchase together with its processed-events marker in one transaction, so it takes effect
// exactly once whatever the queue redelivers, and never moves a purchase backwards.
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { AppleJwsDecodeError } from '../../attesto/apple-jws';
import { type AttestoClient, attestoClientFromEnv } from '../../attesto/client';
import { type AttestoWebhook, attestoWebhookSchema } from '../../attesto/schemas';
import { keyReference } from '../../domain/purchase';
import { updateFor } from '../../domain/state-machine';
import { ServiceUnavailableError } from '../../http/errors';
import { logger } from '../../observability/logger';
import { countWebhookEvent } from '../../observability/metrics';
import { settings } from '../../settings';
import { OutboxSession } from '../../store/outbox';
import { applyEvent, markProcessed } from '../../store/processed-events';
import { getPurchase, resolveAlias, storedItem } from '../../store/purchases';
import { userIdOfUuid } from '../../store/user-ids';
import { ZodErrorBase } from '../../validation';
import { DIRECT_TENANT_ID, upstreamEventKey } from '../direct-envelope';
import { BODY_ENCODING_ATTRIBUTE, queuedBodyText } from '../queue-message';
import { actionForAttestoEvent } from './event-actions';
import { withCurrentEventName } from './legacy-event-names';
import { resolveWebhookEvent, UnmatchedEventError } from './webhook-events';

export type WebhookOutcome =
  /** The purchase took the event. */
  | 'applied'
  /** The purchase had something newer; only blank fields were filled. */
  | 'stale'
  /** Processed before (through Attesto or directly from the store). */
  | 'duplicate'
  /** test / unknown: nothing to do. */
  | 'acknowledged'
  /** A real event that changes no access (tier 3, price changes, …). */
  | 'recorded'
  /** A voided purchase no verify or event ever told us about. */
  | 'unmatched'
  /** An event without a purchase (no subject, nothing to decode). */
  | 'no-subject';

export interface ConsumerDeps {
  attesto?: () => AttestoClient;
  /** Epoch ms after which Attesto calls should not start (the Lambda's remaining time). */
  deadline?: number;
}

export interface ProcessedWebhook {
  outcome: WebhookOutcome;
  /** The processed-events key: `<source>:<externalId>`, else the eventId. */
  markerId: string;
  pk?: string;
}

/** The processed-events key: the upstream event's identity, so both delivery paths apply it once. */
function markerIdOf(webhook: Pick<AttestoWebhook, 'source' | 'externalId' | 'eventId'>): string {
  return upstreamEventKey(webhook) ?? webhook.eventId;
}

async function processWebhook(received: AttestoWebhook, deps: ConsumerDeps = {}): Promise<ProcessedWebhook> {
  const webhook = withCurrentEventName(received);
  const markerId = markerIdOf(webhook);
  const about = {
    eventId: webhook.eventId,
    event: webhook.event,
    platformEvent: webhook.platformEvent,
    // A name from before Attesto's renaming, read as the event its data says (legacy-event-names.ts).
    ...(webhook !== received ? { legacyEvent: received.event } : {}),
  };
  const mark = async (outcome: WebhookOutcome): Promise<ProcessedWebhook> => {
    const done = await markProcessed(markerId, outcome);
    return { outcome: done === 'duplicate' ? 'duplicate' : outcome, markerId };
  };

  const action = actionForAttestoEvent(webhook.event, webhook.reason, webhook.platformEvent);
  if (action.action === 'acknowledge') {
    logger.info('Webhook acknowledged without a state change', about);
    return mark('acknowledged');
  }
  if (action.action === 'record-only') {
    logger.info('Webhook recorded; it changes no access', about);
    return mark('recorded');
  }

  let resolved: Awaited<ReturnType<typeof resolveWebhookEvent>>;
  try {
    resolved = await resolveWebhookEvent(webhook, action.kind, {
      attesto: deps.attesto ?? attestoClientFromEnv,
      resolveAlias,
      purchase: getPurchase,
      ...(deps.deadline ? { callOptions: { deadline: deps.deadline } } : {}),
    });
  } catch (error) {
    if (!(error instanceof UnmatchedEventError)) throw error;
    // Kept as a record, not dropped: support can find it by its marker.
    logger.warn('Webhook matches no known purchase', { ...about, reason: error.message });
    return mark('unmatched');
  }
  if (!resolved) {
    logger.info('Webhook names no purchase', about);
    return mark('no-subject');
  }
  if ('record' in resolved) {
    logger.info('Webhook recorded; it changes no access', {
      ...about,
      rule: resolved.record,
      purchase: keyReference(resolved.pk),
    });
    return { ...(await mark('recorded')), pk: resolved.pk };
  }

  // The user the store named through appUserId; otherwise the purchase keeps (or waits for) its
  // owner. A family member's copy may carry the purchaser's appAccountToken, so it names nobody
  // (domain/ownership.ts): the member who verifies it claims it.
  const familyShared = resolved.event.fields.ownership === 'FAMILY_SHARED';
  const claimant = resolved.appUserId && !familyShared ? resolved.appUserId : undefined;
  // The purchase is read alongside the user lookup: the write needs it to know what it changes.
  // The user the event names is almost always the owner, so their outbox reads (holdings, outbox
  // item) start as soon as the lookup answers, beside the purchase read rather than after it; the
  // lookup has just told their UUID, so it is not read again. Another owner's are read later.
  const outbox = new OutboxSession();
  const [userId, stored] = await Promise.all([
    claimant
      ? userIdOfUuid(claimant).then((found) => {
          if (found) outbox.load(found, { appUserId: claimant });
          return found;
        })
      : undefined,
    storedItem(resolved.pk),
  ]);
  const { result } = await applyEvent({
    outbox,
    eventId: markerId,
    outcome: resolved.event.kind,
    pk: resolved.pk,
    update: updateFor(resolved.event),
    ...(userId ? { userId } : {}),
    aliases: resolved.aliases,
    stored: { item: stored },
    cause: {
      source: webhook.tenantId === DIRECT_TENANT_ID ? `${webhook.source}-direct` : 'attesto-webhook',
      eventId: webhook.eventId,
      markerId,
      event: resolved.event.kind,
    },
  });
  logger.info('Webhook processed', {
    ...about,
    kind: resolved.event.kind,
    outcome: result,
    purchase: keyReference(resolved.pk),
  });
  const sandbox = resolved.event.fields.environment === 'sandbox';
  if (sandbox && result !== 'duplicate' && !settings().entitlementPolicy.allowSandboxPurchases) {
    // Recorded all the same: the purchase keeps the store's state, entitlements leave it out.
    logger.info('Sandbox purchase recorded without granting access (ALLOW_SANDBOX_PURCHASES=false)', {
      ...about,
      purchase: keyReference(resolved.pk),
    });
  }
  return { outcome: result, markerId, pk: resolved.pk };
}

type ParsedRecord = { ok: true; webhook: AttestoWebhook } | { ok: false; problem: string };

function parseRecord(record: Pick<SQSRecord, 'body' | 'messageAttributes'>): ParsedRecord {
  const encoding = record.messageAttributes?.[BODY_ENCODING_ATTRIBUTE]?.stringValue;
  let json: unknown;
  try {
    json = JSON.parse(queuedBodyText(record.body, encoding));
  } catch {
    return { ok: false, problem: 'the body is not JSON' };
  }
  const parsed = attestoWebhookSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
      .join('; ');
    return { ok: false, problem: `not an Attesto webhook envelope: ${problems}` };
  }
  return { ok: true, webhook: parsed.data };
}

/** Errors that will recur on every delivery: the record goes to the DLQ after maxReceiveCount. */
function isPermanent(error: unknown): boolean {
  return error instanceof ZodErrorBase || error instanceof AppleJwsDecodeError;
}

/**
 * Processes a batch record by record. A failing record is reported in batchItemFailures and
 * retried by SQS (then dead-lettered); it never fails the others. Records about the same
 * purchase run one after another, different purchases in parallel.
 */
export async function processWebhookBatch(
  event: SQSEvent,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
  deps: ConsumerDeps = {},
): Promise<SQSBatchResponse> {
  const remaining = context?.getRemainingTimeInMillis?.();
  const effective: ConsumerDeps = {
    ...deps,
    ...(deps.deadline === undefined && remaining ? { deadline: Date.now() + remaining - 2_000 } : {}),
  };
  const failures: string[] = [];
  const groups = new Map<string, { record: SQSRecord; webhook: AttestoWebhook }[]>();

  for (const record of event.Records) {
    const parsed = parseRecord(record);
    if (!parsed.ok) {
      // Never deleted silently: after maxReceiveCount it sits in the DLQ for a person to look at.
      logger.error('Poison webhook record', {
        messageId: record.messageId,
        problem: parsed.problem,
        receiveCount: record.attributes?.ApproximateReceiveCount,
      });
      failures.push(record.messageId);
      countWebhookEvent('unknown', 'failed');
      continue;
    }
    const { webhook } = parsed;
    const group = webhook.subject ? `${webhook.source}#${webhook.subject.key}` : `record#${record.messageId}`;
    groups.set(group, [...(groups.get(group) ?? []), { record, webhook }]);
  }

  await Promise.all(
    [...groups.values()].map(async (items) => {
      for (const { record, webhook } of items) {
        try {
          const { outcome } = await processWebhook(webhook, effective);
          countWebhookEvent(webhook.source, outcome);
        } catch (error) {
          failures.push(record.messageId);
          // Per delivery: a record SQS retries counts once per failed attempt.
          countWebhookEvent(webhook.source, 'failed');
          const context = {
            messageId: record.messageId,
            eventId: webhook.eventId,
            event: webhook.event,
            platformEvent: webhook.platformEvent,
            receiveCount: record.attributes?.ApproximateReceiveCount,
          };
          if (error instanceof ServiceUnavailableError) {
            logger.warn('Webhook deferred: a dependency is unavailable; SQS retries it', {
              ...context,
              reason: error.message,
            });
          } else if (isPermanent(error)) {
            logger.error('Poison webhook record', { ...context, error: error as Error });
          } else {
            logger.error('Webhook failed', { ...context, error: error as Error });
          }
        }
      }
    }),
  );
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}
