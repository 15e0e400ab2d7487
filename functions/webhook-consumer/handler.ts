// SQS → the webhook consumer (shared/webhooks/consumer.ts), with ReportBatchItemFailures: a
// failing record is retried on its own and dead-lettered after maxReceiveCount, never the batch.
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { metrics } from '../../shared/observability/metrics';
import { processWebhookBatch } from '../../shared/webhooks/consumer';

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  try {
    return await processWebhookBatch(event, context);
  } finally {
    metrics.publishStoredMetrics();
  }
};
