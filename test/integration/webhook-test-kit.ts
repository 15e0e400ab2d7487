// Shared by the webhook pipeline tests: SQS events as Lambda receives them, and an Attesto
// sandbox whose webhooks and verify answers stand in for the real Attesto.
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { sqsRecord } from '../../dev/fixtures/sqs-event';
import { type AttestoSandbox, startAttestoSandbox } from '../../dev/sandbox/server';
import type { SandboxWebhook } from '../../dev/sandbox/world-types';
import { resetConfigCache } from '../../shared/config';
import { documentClient, tableName } from '../../shared/store/dynamo-client';

export const APP_ID = 'com.example.app';

export function sqsEvent(bodies: Array<string | SandboxWebhook>): SQSEvent {
  return { Records: bodies.map((b) => sqsRecord(typeof b === 'string' ? b : JSON.stringify(b))) };
}

/** A sandbox on a free loopback port, and the consumer's Attesto settings pointed at it. */
export async function startSandboxForConsumer(options: { errorRate?: number; seed?: number } = {}) {
  const sandbox: AttestoSandbox = await startAttestoSandbox({
    apiKey: 'attesto_test_consumer',
    webhookSecret: 'webhook-secret-for-tests-0123456789abcdef',
    packageName: APP_ID,
    bundleId: APP_ID,
    ...options,
  });
  Object.assign(process.env, {
    ATTESTO_URL: sandbox.url,
    ATTESTO_API_KEY: sandbox.apiKey,
    ATTESTO_WEBHOOK_SECRET: sandbox.webhookSecret,
    GOOGLE_PACKAGE_NAME: APP_ID,
    APPLE_BUNDLE_ID: APP_ID,
  });
  resetConfigCache();
  return sandbox;
}

export async function readMarker(
  markerId: string,
  client: DynamoDBDocumentClient = documentClient(),
): Promise<Record<string, unknown> | undefined> {
  const { Item } = await client.send(
    new GetCommand({
      TableName: tableName('PROCESSED_EVENTS_TABLE'),
      Key: { pk: markerId },
      ConsistentRead: true,
    }),
  );
  return Item;
}

export async function readItem(pk: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await documentClient().send(
    new GetCommand({ TableName: tableName('PURCHASES_TABLE'), Key: { pk }, ConsistentRead: true }),
  );
  return Item;
}

/** The same store event as the direct store endpoints wrap it (shared/ingest/direct-envelope.ts). */
export function asDirectEnvelope(webhook: SandboxWebhook): SandboxWebhook {
  return { ...webhook, eventId: `${webhook.source}_${webhook.externalId}`, tenantId: 'direct' };
}
