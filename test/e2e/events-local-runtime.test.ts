import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../dev/local/local-runtime';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../dev/local/provision';
import { entitlementEventsTable } from '../../shared/store/tables';
import { startRuntimeInMemory } from '../support/local-runtime';
import {
  eventBody,
  eventually,
  newWebhookSecret,
  type Receiver,
  startReceiver,
} from '../support/outbound-events';

// npm start's runtime with EVENTS_WEBHOOK_URL and EVENTS_WEBHOOK_SECRET set: outbox items written
// to its DynamoDB Local appear in `npm run events -- tail` and at a receiver on 127.0.0.1.

const REPO = join(import.meta.dirname, '..', '..');
const secret = newWebhookSecret();
let runtime: LocalRuntime;
let receiver: Receiver;
let dataDir: string;
let ddb: DynamoDBClient;
const children: ChildProcess[] = [];

function tail(args: string[]): { lines: string[]; child: ChildProcess } {
  // Its own process group, so stopping it stops npm and the tsx process under it.
  const child = spawn('npm', ['run', '-s', 'events', '--', 'tail', '--api-url', runtime.apiUrl, ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.push(child);
  const lines: string[] = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  });
  return { lines, child };
}

async function change(userId: string, sequence: number): Promise<string> {
  const eventId = `evt-${userId}-${sequence}`;
  await ddb.send(
    new PutItemCommand({
      // The runtime's own name for the table (its prefix in the suite's DynamoDB Local).
      TableName: process.env[entitlementEventsTable.envVar],
      Item: {
        pk: { S: `user#${userId}` },
        userId: { S: userId },
        sequence: { N: String(sequence) },
        eventId: { S: eventId },
        event: { S: eventBody(userId, sequence, eventId) },
        occurredAt: { S: new Date().toISOString() },
      },
    }),
  );
  return eventId;
}

beforeAll(async () => {
  receiver = await startReceiver();
  process.env.EVENTS_WEBHOOK_URL = receiver.url;
  process.env.EVENTS_WEBHOOK_SECRET = secret;
  dataDir = mkdtempSync(join(tmpdir(), 'iap-events-e2e-'));
  ({ runtime } = await startRuntimeInMemory({ dataDir }));
  ddb = new DynamoDBClient({
    endpoint: runtime.ddb.endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
}, 60_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGTERM');
  ddb?.destroy();
  await runtime?.stop();
  await receiver?.stop();
  delete process.env.EVENTS_WEBHOOK_URL;
  delete process.env.EVENTS_WEBHOOK_SECRET;
  rmSync(dataDir, { recursive: true, force: true });
});

describe('entitlement events in the local runtime', () => {
  it('outbox changes show in `npm run events -- tail` as they happen and reach the webhook receiver, signed', async () => {
    const json = tail(['--json']);
    const human = tail([]);
    const ids = [await change('gus', 1), await change('gus', 2), await change('hal', 1)];

    await eventually(() => json.lines.length >= 3 && human.lines.length >= 3, 'three events tailed');
    const tailed = json.lines.map((line) => JSON.parse(line) as { type: string; data: { eventId: string } });
    expect(tailed.map((e) => e.data.eventId).sort()).toEqual([...ids].sort());
    expect(tailed.every((e) => e.type === 'entitlements.changed')).toBe(true);
    expect(human.lines.filter((l) => l.includes('user=gus')).map((l) => /seq=(\d+)/.exec(l)?.[1])).toEqual([
      '1',
      '2',
    ]);

    // Written after the tail started: it keeps following.
    const later = await change('hal', 2);
    await eventually(() => json.lines.some((l) => l.includes(later)), 'the later event tailed');

    await eventually(() => receiver.requests.length >= 4, 'four webhooks received');
    for (const request of receiver.requests) {
      expect(
        new Webhook(secret).verify(request.body, {
          'webhook-id': request.headers['webhook-id'] as string,
          'webhook-timestamp': request.headers['webhook-timestamp'] as string,
          'webhook-signature': request.headers['webhook-signature'] as string,
        }),
      ).toEqual(JSON.parse(request.body));
    }
    expect(receiver.requests.map((r) => r.headers['webhook-id']).sort()).toEqual([...ids, later].sort());
  });
});
