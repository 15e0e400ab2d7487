// POST /webhooks/google: Google Play real-time developer notifications over an authenticated
// Pub/Sub push, verified and queued (shared/notifications/receive-google-notification.ts).
// No DynamoDB, no Attesto here: the consumer re-reads the purchase through Attesto.
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ConfigError } from '../../shared/config';
import { googleNotificationSettings } from '../../shared/notifications/google-notification-settings';
import { receiveGoogleNotification } from '../../shared/notifications/receive-google-notification';

// Reused across invocations; queue URLs are not used as endpoints (the emulator's do not resolve).
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });

const queueUrl = (): string => {
  const url = process.env.WEBHOOK_QUEUE_URL;
  if (!url) throw new ConfigError('Invalid configuration: WEBHOOK_QUEUE_URL is not set');
  return url;
};

export const handler = (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> =>
  receiveGoogleNotification(event, { sqs, queueUrl, settings: () => googleNotificationSettings() });
