// POST /attesto-webhook: Attesto's signed events, checked and queued (shared/ingest/attesto/receive-webhook.ts).
// Deliberately small: no middy stack, no DynamoDB, no Attesto client in this bundle.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { attestoWebhookSecrets } from '../../shared/attesto/credentials';
import { ConfigError } from '../../shared/config';
import { receiveAttestoWebhook } from '../../shared/ingest/attesto/receive-webhook';
import { webhookQueueFromEnv } from '../../shared/ingest/enqueue';
import { metrics } from '../../shared/observability/metrics';

const queue = webhookQueueFromEnv(ConfigError);

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  try {
    return await receiveAttestoWebhook(event, { ...queue, secrets: attestoWebhookSecrets });
  } finally {
    metrics.publishStoredMetrics();
  }
};
