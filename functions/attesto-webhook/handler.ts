// POST /attesto-webhook: Attesto's signed events, checked and queued (shared/webhooks/receive-webhook.ts).
// Deliberately small: no middy stack, no DynamoDB, no Attesto client in this bundle.
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { attestoWebhookSecrets } from '../../shared/attesto/credentials';
import { ConfigError } from '../../shared/config';
import { receiveAttestoWebhook } from '../../shared/webhooks/receive-webhook';

// Reused across invocations; queue URLs are not used as endpoints (the emulator's do not resolve).
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });

const queueUrl = (): string => {
  const url = process.env.WEBHOOK_QUEUE_URL;
  if (!url) throw new ConfigError('Invalid configuration: WEBHOOK_QUEUE_URL is not set');
  return url;
};

export const handler = (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> =>
  receiveAttestoWebhook(event, { sqs, queueUrl, secrets: attestoWebhookSecrets });
