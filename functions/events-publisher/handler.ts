// The entitlement-events table's stream → the EventBridge bus (EVENT_BUS_NAME) and, when the stage
// sends webhooks, the FIFO delivery queue (EVENTS_DELIVERY_QUEUE_URL). ReportBatchItemFailures:
// the first record that could not be handed on is retried with everything after it.
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { readConfig, requiredSetting, unlessBlank } from '../../shared/config';
import { publishStreamBatch } from '../../shared/events/publish';
import * as z from '../../shared/validation';

const eventBridge = new EventBridgeClient({});
// Queue URLs are not used as endpoints (the emulator's do not resolve).
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });

const publisherSchema = z.object({
  EVENT_BUS_NAME: requiredSetting,
  // Unset or blank on a stage that sends no webhooks.
  EVENTS_DELIVERY_QUEUE_URL: unlessBlank(z.optional(requiredSetting)),
});

export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const { EVENT_BUS_NAME: busName, EVENTS_DELIVERY_QUEUE_URL: queueUrl } = readConfig(publisherSchema);
  return publishStreamBatch(event.Records, {
    bus: { client: eventBridge, name: busName },
    deliveryQueue: queueUrl ? { client: sqs, url: queueUrl } : undefined,
  });
};
