// POST /webhooks/apple: App Store Server Notifications V2 sent by Apple directly, verified and
// queued (shared/ingest/apple/receive-notification.ts). No DynamoDB, no Attesto here.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  AppleSettingsError,
  appleNotificationSettings,
} from '../../shared/ingest/apple/notification-settings';
import { receiveAppleNotification } from '../../shared/ingest/apple/receive-notification';
import { webhookQueueFromEnv } from '../../shared/ingest/enqueue';
import { metrics } from '../../shared/observability/metrics';

const queue = webhookQueueFromEnv(AppleSettingsError);

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  try {
    return await receiveAppleNotification(event, {
      ...queue,
      config: () => appleNotificationSettings(),
    });
  } finally {
    metrics.publishStoredMetrics();
  }
};
