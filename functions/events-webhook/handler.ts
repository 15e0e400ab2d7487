// The FIFO delivery queue → the app's webhook URL (EVENTS_WEBHOOK_URL), signed with the secrets of
// EVENTS_WEBHOOK_SECRETS_ARN (locally EVENTS_WEBHOOK_SECRET). Failed deliveries come back after an
// exponential backoff (shared/events/retry-schedule.ts), then go to the dead-letter queue.
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { numberSetting, readConfig, requiredSetting, unlessBlank } from '../../shared/config';
import { DEFAULT_RETRY_SCHEDULE, type RetrySchedule } from '../../shared/events/retry-schedule';
import { deliverWebhookBatch } from '../../shared/events/webhook-delivery';
import { webhookSecretsFromEnv } from '../../shared/events/webhook-secrets';
import * as z from '../../shared/validation';

const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
const secrets = webhookSecretsFromEnv();

/** Seconds the receiver has to answer; the function's own timeout leaves room for the rest. */
const DEFAULT_TIMEOUT_SECONDS = 10;

/** Seconds, read from the environment; a blank value takes the default. */
const seconds = (fallback: number) =>
  unlessBlank(z._default(numberSetting(z.number().check(z.positive())), fallback));

const webhookSchema = z.object({
  EVENTS_WEBHOOK_URL: requiredSetting,
  EVENTS_DELIVERY_QUEUE_URL: requiredSetting,
  EVENTS_WEBHOOK_RETRY_BASE_SECONDS: seconds(DEFAULT_RETRY_SCHEDULE.baseSeconds),
  EVENTS_WEBHOOK_RETRY_MAX_SECONDS: seconds(DEFAULT_RETRY_SCHEDULE.maxSeconds),
  EVENTS_WEBHOOK_TIMEOUT_SECONDS: seconds(DEFAULT_TIMEOUT_SECONDS),
});

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const config = readConfig(webhookSchema);
  const schedule: RetrySchedule = {
    baseSeconds: config.EVENTS_WEBHOOK_RETRY_BASE_SECONDS,
    maxSeconds: config.EVENTS_WEBHOOK_RETRY_MAX_SECONDS,
  };
  return deliverWebhookBatch(event, {
    url: config.EVENTS_WEBHOOK_URL,
    queueUrl: config.EVENTS_DELIVERY_QUEUE_URL,
    secrets: () => secrets.secrets(),
    sqs,
    schedule,
    timeoutMs: config.EVENTS_WEBHOOK_TIMEOUT_SECONDS * 1000,
    now: () => new Date(),
  });
};
