// Stands in for the stack's EventBridge bus: answers PutEvents (the AWS JSON 1.1 protocol the
// SDK speaks) on 127.0.0.1 and keeps what was put, in order, for `npm run events -- tail`. The
// publisher's code is unchanged: AWS_ENDPOINT_URL_EVENTBRIDGE points its client here.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BusEvent {
  /** Position in this run, from 1: a reader asks for what came after the last one it saw. */
  index: number;
  id: string;
  receivedAt: string;
  eventBusName: string;
  source: string;
  detailType: string;
  /** The event itself, as the publisher put it. */
  detail: unknown;
}

export interface EventBusLocal {
  endpoint: string;
  name: string;
  /** Events after `index` (0: all kept). */
  after(index: number): BusEvent[];
  stop(): Promise<void>;
}

/** The newest events kept; older ones are dropped, a long `npm start` session stays small. */
const KEEP = 10_000;

interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
  res.end(JSON.stringify(body));
}

export async function startEventBusLocal(options: { name: string; port?: number }): Promise<EventBusLocal> {
  const events: BusEvent[] = [];
  let counter = 0;
  const server = createServer(async (req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const body = await readBody(req);
    if (target !== 'AWSEvents.PutEvents') {
      answer(res, 400, { __type: 'UnknownOperationException', message: `${target} is not served locally` });
      return;
    }
    let entries: PutEventsEntry[];
    try {
      entries = (JSON.parse(body) as { Entries?: PutEventsEntry[] }).Entries ?? [];
    } catch {
      answer(res, 400, { __type: 'SerializationException', message: 'body is not JSON' });
      return;
    }
    const results = entries.map((entry) => {
      let detail: unknown;
      try {
        detail = JSON.parse(entry.Detail ?? '');
      } catch {
        return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is not a JSON object' };
      }
      if (entry.EventBusName !== options.name)
        return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `no bus ${entry.EventBusName}` };
      const id = randomUUID();
      counter += 1;
      events.push({
        index: counter,
        id,
        receivedAt: new Date().toISOString(),
        eventBusName: entry.EventBusName,
        source: entry.Source ?? '',
        detailType: entry.DetailType ?? '',
        detail,
      });
      return { EventId: id };
    });
    if (events.length > KEEP) events.splice(0, events.length - KEEP);
    answer(res, 200, { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    name: options.name,
    after: (index) => events.filter((e) => e.index > index),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
