// POST /webhooks/google: Google Play real-time developer notifications over an authenticated
// Pub/Sub push, verified and queued (shared/ingest/google/receive-notification.ts).
// No DynamoDB, no Attesto here: the consumer re-reads the purchase through Attesto.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ConfigError } from '../../shared/config';
import { webhookQueueFromEnv } from '../../shared/ingest/enqueue';
import { googleNotificationSettings } from '../../shared/ingest/google/notification-settings';
import { receiveGoogleNotification } from '../../shared/ingest/google/receive-notification';
import { metrics } from '../../shared/observability/metrics';

const queue = webhookQueueFromEnv(ConfigError);

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  try {
    return await receiveGoogleNotification(event, {
      ...queue,
      settings: () => googleNotificationSettings(),
    });
  } finally {
    metrics.publishStoredMetrics();
  }
};
