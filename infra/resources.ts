// The queue shape, defined once. The CDK stack builds its Queues from this and the local runtime
// creates the same queues in fauxqs, so the two can never drift apart. The tables live in
// shared/store/tables.ts: the functions read them too.

export interface QueueDef {
  id: 'WebhookQueue';
  envVar: 'WEBHOOK_QUEUE_URL';
  localName: string;
  dlqLocalName: string;
  /** Seconds a received message stays invisible; ≥ 6× the consumer's timeout (AWS guidance). */
  visibilityTimeoutSeconds: number;
  /** Receives before a message moves to the DLQ. */
  maxReceiveCount: number;
  retentionSeconds: number;
  dlqRetentionSeconds: number;
  batchSize: number;
  maxBatchingWindowSeconds: number;
}

export const CONSUMER_TIMEOUT_SECONDS = 30;

export const webhookQueue: QueueDef = {
  id: 'WebhookQueue',
  envVar: 'WEBHOOK_QUEUE_URL',
  localName: 'attesto-events',
  dlqLocalName: 'attesto-events-dlq',
  visibilityTimeoutSeconds: 6 * CONSUMER_TIMEOUT_SECONDS,
  maxReceiveCount: 5,
  retentionSeconds: 4 * 24 * 60 * 60,
  dlqRetentionSeconds: 14 * 24 * 60 * 60,
  batchSize: 10,
  maxBatchingWindowSeconds: 1,
};

/** The outbox stream → events-publisher mapping (infra/constructs/outbound-events.ts, dev/local/stream-poller.ts). */
export const PUBLISHER_STREAM = {
  batchSize: 100,
  /** Then the batch's description goes to the publisher DLQ and the shard moves on (alarmed). */
  retryAttempts: 10,
} as const;
