// POST /webhooks/apple: App Store Server Notifications V2 sent by Apple directly, verified and
// queued (shared/notifications/receive-apple-notification.ts). No DynamoDB, no Attesto here.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  AppleSettingsError,
  appleNotificationSettings,
} from '../../shared/notifications/apple-notification-settings';
import { webhookQueueFromEnv } from '../../shared/notifications/enqueue-notification';
import { receiveAppleNotification } from '../../shared/notifications/receive-apple-notification';
import { countWebhookReceipt, metrics } from '../../shared/observability/metrics';

const queue = webhookQueueFromEnv(AppleSettingsError);

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  try {
    const result = await receiveAppleNotification(event, {
      ...queue,
      config: () => appleNotificationSettings(),
    });
    // 200 is queued, 401 failed a check (notification-http.ts); the rest is retried by Apple.
    if (result.statusCode === 200) countWebhookReceipt('apple', 'queued');
    else if (result.statusCode === 401) countWebhookReceipt('apple', 'rejected');
    return result;
  } finally {
    metrics.publishStoredMetrics();
  }
};
