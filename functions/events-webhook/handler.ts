// The FIFO delivery queue → the app's webhook URL (EVENTS_WEBHOOK_URL), signed with the secrets of
// EVENTS_WEBHOOK_SECRETS_ARN (locally EVENTS_WEBHOOK_SECRET). Failed deliveries come back after an
// exponential backoff (shared/events/retry-schedule.ts), then go to the dead-letter queue.
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ConfigError } from '../../shared/config';
import { DEFAULT_RETRY_SCHEDULE, type RetrySchedule } from '../../shared/events/retry-schedule';
import { deliverWebhookBatch } from '../../shared/events/webhook-delivery';
import { webhookSecretsFromEnv } from '../../shared/events/webhook-secrets';

const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
const secrets = webhookSecretsFromEnv();

/** Seconds the receiver has to answer; the function's own timeout leaves room for the rest. */
const DEFAULT_TIMEOUT_SECONDS = 10;

function required(name: string): string {
  const value = process.env[name]?.trim();
  if (!value) throw new ConfigError(`Invalid configuration: ${name} is not set`);
  return value;
}

function positiveSeconds(name: string, fallback: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigError(`Invalid configuration: ${name} must be a positive number of seconds`);
  return value;
}

function scheduleFromEnv(): RetrySchedule {
  return {
    baseSeconds: positiveSeconds('EVENTS_WEBHOOK_RETRY_BASE_SECONDS', DEFAULT_RETRY_SCHEDULE.baseSeconds),
    maxSeconds: positiveSeconds('EVENTS_WEBHOOK_RETRY_MAX_SECONDS', DEFAULT_RETRY_SCHEDULE.maxSeconds),
  };
}

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> =>
  deliverWebhookBatch(event, {
    url: required('EVENTS_WEBHOOK_URL'),
    queueUrl: required('EVENTS_DELIVERY_QUEUE_URL'),
    secrets: () => secrets.secrets(),
    sqs,
    schedule: scheduleFromEnv(),
    timeoutMs: positiveSeconds('EVENTS_WEBHOOK_TIMEOUT_SECONDS', DEFAULT_TIMEOUT_SECONDS) * 1000,
    now: () => new Date(),
  });
