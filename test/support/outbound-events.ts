// The outbound events pipeline of the local runtime, for tests: outbox items written with
// PutItem (as the write paths do, one item per user), the real publisher fed from DynamoDB Local's
// stream, the local bus, and the real webhook function posting to a receiver on 127.0.0.1 whose
// answers a test scripts per attempt.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SQSClient } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import { type EventBusLocal, startEventBusLocal } from '../../dev/local/event-bus-local';
import { functionHandlerResolver } from '../../dev/local/function-handlers';
import { type OutboundEventsLocal, startOutboundEventsLocal } from '../../dev/local/outbound-events-local';
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalResources } from '../../dev/local/provision';
import { resetConfigCache } from '../../shared/config';
import { useLocalAws } from './local-aws';

export const newWebhookSecret = () => `whsec_${randomBytes(24).toString('base64')}`;

/** What the receiver does with one attempt. */
export type Fault = 'ok' | '500' | 'hang' | 'crash';

export interface ReceivedRequest {
  headers: Record<string, string>;
  body: string;
  userId: string;
  sequence: number;
  answered: Fault;
}

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  /** Answers for the successive attempts of one event (`userId:sequence`); then 'ok'. */
  script(userId: string, sequence: number, faults: Fault[]): void;
  stop(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const scripts = new Map<string, Fault[]>();
  const hanging = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const data = (JSON.parse(body) as { data: { userId: string; sequence: number } }).data;
      const key = `${data.userId}:${data.sequence}`;
      const answered = scripts.get(key)?.shift() ?? 'ok';
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]),
      );
      requests.push({ headers, body, userId: data.userId, sequence: data.sequence, answered });
      if (answered === 'ok') res.writeHead(204).end();
      else if (answered === '500') res.writeHead(500).end('try later');
      // Received, then the connection drops without an answer.
      else if (answered === 'crash') req.socket.destroy();
      else {
        // Longer than the sender waits; answered 200 too late to count.
        const timer = setTimeout(() => {
          hanging.delete(timer);
          if (!res.writableEnded) res.writeHead(200).end();
        }, 5_000);
        hanging.add(timer);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/iap-events`,
    requests,
    script: (userId, sequence, faults) => scripts.set(`${userId}:${sequence}`, [...faults]),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const timer of hanging) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface OutboundPipeline {
  resources: LocalResources;
  bus: EventBusLocal;
  outbound: OutboundEventsLocal;
  /** Writes the user's next outbox item (the next sequence) and returns its event id and body. */
  change(userId: string, sequence: number): Promise<{ eventId: string; body: string }>;
  stop(): Promise<void>;
}

/** One entitlements.changed body, in the outbox's format. */
export function eventBody(userId: string, sequence: number, eventId: string): string {
  const occurredAt = new Date().toISOString();
  return JSON.stringify({
    type: 'entitlements.changed',
    timestamp: occurredAt,
    data: {
      eventId,
      appUserId: randomUUID(),
      userId,
      sequence,
      entitlements: [{ key: 'premium', sequenceMarker: sequence }],
      previous: [],
      cause: { source: 'test' },
      occurredAt,
    },
  });
}

export async function startOutboundPipeline(
  settings: Record<string, string> = {},
): Promise<OutboundPipeline> {
  const resources = await useLocalAws();
  const bus = await startEventBusLocal({ name: `bus-${randomUUID().slice(0, 8)}` });
  Object.assign(process.env, settings);
  resetConfigCache();
  const ddbEndpoint = inject('ddbEndpoint');
  const clients = {
    ddb: new DynamoDBClient({ endpoint: ddbEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
    streams: new DynamoDBStreamsClient({
      endpoint: ddbEndpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    }),
    sqs: new SQSClient({
      endpoint: inject('sqsEndpoint'),
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      useQueueUrlAsEndpoint: false,
    }),
  };
  const outbound = startOutboundEventsLocal({
    env: process.env,
    resources,
    bus,
    ...clients,
    resolveHandler: functionHandlerResolver(),
    log: () => {},
    warn: () => {},
  });
  return {
    resources,
    bus,
    outbound,
    change: async (userId, sequence) => {
      const eventId = randomUUID();
      const body = eventBody(userId, sequence, eventId);
      await clients.ddb.send(
        new PutItemCommand({
          TableName: resources.tableNames.ENTITLEMENT_EVENTS_TABLE,
          Item: {
            pk: { S: `user#${userId}` },
            userId: { S: userId },
            sequence: { N: String(sequence) },
            eventId: { S: eventId },
            event: { S: body },
            occurredAt: { S: new Date().toISOString() },
          },
        }),
      );
      return { eventId, body };
    },
    stop: async () => {
      await outbound.stop();
      await bus.stop();
      for (const client of Object.values(clients)) client.destroy();
    },
  };
}

/** Polls `check` until it holds; generous, since the machine is shared. */
export async function eventually(check: () => boolean, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`still not true after ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
