// Outbound entitlement events on this machine, as deployed: the outbox table's stream in DynamoDB
// Local feeds the real publisher handler; its PutEvents reach a local bus that `npm run events --
// tail` reads (GET /_dev/events); with EVENTS_WEBHOOK_URL and EVENTS_WEBHOOK_SECRET set, the
// publisher also fills the FIFO delivery queue in fauxqs and the real events-webhook handler posts
// each event there, signed, retrying with the deployed backoff shortened to seconds.
import type { IncomingMessage } from 'node:http';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBStreamEvent, SQSEvent } from 'aws-lambda';
import { resetConfigCache } from '../../shared/config';
import { plainWebhookSecrets } from '../../shared/events/webhook-secrets';
import type { EventBusLocal } from './event-bus-local';
import type { HandlerResolver } from './function-handlers';
import { functionTimeoutSeconds } from './function-handlers';
import type { HttpResponse } from './http-api-result';
import type { LocalResources } from './provision';
import { startSqsPoller } from './sqs-poller';
import { startStreamPoller } from './stream-poller';

export const EVENTS_PATH = '/_dev/events';
export const LOCAL_BUS_NAME = 'iap-backend-local';
/** Local retries: 1 s doubling to 5 s, so a failed delivery is tried again within about 10 s. */
const LOCAL_RETRY = { base: '1', max: '5' };

export interface OutboundEventsLocal {
  bus: EventBusLocal;
  /** One line for the banner. */
  description: string;
  endpoint(req: IncomingMessage): HttpResponse | undefined;
  stop(): Promise<void>;
}

/**
 * Checks the webhook settings and sets the functions' variables; call before any handler is
 * imported. Returns the webhook URL when webhooks are on.
 */
export function configureOutboundEvents(
  env: NodeJS.ProcessEnv,
  resources: LocalResources,
  bus: EventBusLocal,
): string | undefined {
  env.EVENT_BUS_NAME = bus.name;
  env.AWS_ENDPOINT_URL_EVENTBRIDGE = bus.endpoint;
  delete env.EVENTS_WEBHOOK_SECRETS_ARN;
  const url = env.EVENTS_WEBHOOK_URL?.trim();
  if (!url) {
    delete env.EVENTS_DELIVERY_QUEUE_URL;
    return undefined;
  }
  if (!/^https?:\/\/\S+$/.test(url)) throw new Error('EVENTS_WEBHOOK_URL must be an http(s) URL');
  // fetch refuses a URL with credentials, and its error (which repeats the URL) is logged.
  const parsed = URL.parse(url);
  if (parsed?.username || parsed?.password)
    throw new Error('EVENTS_WEBHOOK_URL must not carry a user name or password');
  // Checks each value (whsec_ followed by base64) as the delivery function will.
  if (!plainWebhookSecrets(env))
    throw new Error('EVENTS_WEBHOOK_URL is set, so EVENTS_WEBHOOK_SECRET (a whsec_… value) must be set too');
  env.EVENTS_DELIVERY_QUEUE_URL = resources.eventsQueueUrl;
  env.EVENTS_WEBHOOK_RETRY_BASE_SECONDS ||= LOCAL_RETRY.base;
  env.EVENTS_WEBHOOK_RETRY_MAX_SECONDS ||= LOCAL_RETRY.max;
  return url;
}

export function startOutboundEventsLocal(options: {
  env: NodeJS.ProcessEnv;
  resources: LocalResources;
  bus: EventBusLocal;
  ddb: DynamoDBClient;
  streams: DynamoDBStreamsClient;
  sqs: SQSClient;
  resolveHandler: HandlerResolver;
  log: (line: string) => void;
  warn: (line: string) => void;
}): OutboundEventsLocal {
  const { env, resources, bus, resolveHandler, log, warn } = options;
  const webhookUrl = configureOutboundEvents(env, resources, bus);
  // The functions' variables changed: their configuration is read afresh.
  resetConfigCache();
  const report = (fn: string, error: unknown) => warn(`[${fn}] ${(error as Error)?.stack ?? String(error)}`);

  const publisher = startStreamPoller({
    ddb: options.ddb,
    streams: options.streams,
    tableName: resources.tableNames.ENTITLEMENT_EVENTS_TABLE,
    // Nothing in the stream is skipped, even what was written before this start: a receiver
    // ignores an event whose sequence it has already seen.
    startingPosition: 'TRIM_HORIZON',
    timeoutSeconds: functionTimeoutSeconds('events-publisher'),
    handler: async (event: DynamoDBStreamEvent, context) =>
      (await resolveHandler('events-publisher'))(event, context),
    onBatch: ({ records, failedAt, error, deadLettered }) => {
      if (error) report('events-publisher', error);
      if (deadLettered)
        warn(
          `events-publisher: gave up on shard ${deadLettered.shardId} from ${deadLettered.first} (the publisher DLQ on AWS)`,
        );
      else if (failedAt)
        warn(`events-publisher: ${records} record(s), failed at ${failedAt}; retrying from there`);
      else log(`events-publisher: ${records} record(s) published`);
    },
    onError: (error) => warn(`outbox stream poller: ${(error as Error).message}`),
  });

  const delivery = webhookUrl
    ? startSqsPoller({
        sqs: options.sqs,
        queueUrl: resources.eventsQueueUrl,
        functionName: 'events-webhook',
        timeoutSeconds: functionTimeoutSeconds('events-webhook'),
        batchSize: 1,
        maxBatchingWindowSeconds: 0,
        waitTimeSeconds: 1,
        handler: async (event: SQSEvent, context) => (await resolveHandler('events-webhook'))(event, context),
        onBatch: ({ failedMessageIds, error }) => {
          if (error) report('events-webhook', error);
          log(
            `events-webhook: ${failedMessageIds.length ? 'failed, retried after the backoff' : 'delivered'}`,
          );
        },
        onError: (error) => warn(`webhook delivery poller: ${(error as Error).message}`),
      })
    : undefined;

  return {
    bus,
    description: webhookUrl
      ? `bus + webhooks to ${webhookUrl}`
      : 'bus only (set EVENTS_WEBHOOK_URL for webhooks)',
    endpoint: (req) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method !== 'GET' || url.pathname !== EVENTS_PATH) return undefined;
      const after = Number(url.searchParams.get('after') ?? 0) || 0;
      return {
        statusCode: 200,
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify({ events: bus.after(after) })),
      };
    },
    stop: async () => {
      await Promise.all([publisher.stop(), delivery?.stop()]);
    },
  };
}
