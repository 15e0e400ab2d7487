// POST /webhooks/apple: App Store Server Notifications V2 sent by Apple directly, verified and
// queued (shared/notifications/receive-apple-notification.ts). No DynamoDB, no Attesto here.
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  AppleSettingsError,
  appleNotificationSettings,
} from '../../shared/notifications/apple-notification-settings';
import { receiveAppleNotification } from '../../shared/notifications/receive-apple-notification';

// Reused across invocations; queue URLs are not used as endpoints (the emulator's do not resolve).
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });

const queueUrl = (): string => {
  const url = process.env.WEBHOOK_QUEUE_URL;
  if (!url) throw new AppleSettingsError('Invalid configuration: WEBHOOK_QUEUE_URL is not set');
  return url;
};

export const handler = (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> =>
  receiveAppleNotification(event, { sqs, queueUrl, config: () => appleNotificationSettings() });
