// The entitlement-events table's stream → the EventBridge bus (EVENT_BUS_NAME) and, when the stage
// sends webhooks, the FIFO delivery queue (EVENTS_DELIVERY_QUEUE_URL). ReportBatchItemFailures:
// the first record that could not be handed on is retried with everything after it.
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { ConfigError } from '../../shared/config';
import { publishStreamBatch } from '../../shared/events/publish';

const eventBridge = new EventBridgeClient({});
// Queue URLs are not used as endpoints (the emulator's do not resolve).
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });

export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const busName = process.env.EVENT_BUS_NAME?.trim();
  if (!busName) throw new ConfigError('Invalid configuration: EVENT_BUS_NAME is not set');
  const queueUrl = process.env.EVENTS_DELIVERY_QUEUE_URL?.trim();
  return publishStreamBatch(event.Records, {
    bus: { client: eventBridge, name: busName },
    deliveryQueue: queueUrl ? { client: sqs, url: queueUrl } : undefined,
  });
};
