// SQS → the webhook consumer (shared/ingest/consumer/consumer.ts), with ReportBatchItemFailures: a
// failing record is retried on its own and dead-lettered after maxReceiveCount, never the batch.
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { processWebhookBatch } from '../../shared/ingest/consumer/consumer';
import { metrics } from '../../shared/observability/metrics';

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  try {
    return await processWebhookBatch(event, context);
  } finally {
    metrics.publishStoredMetrics();
  }
};
