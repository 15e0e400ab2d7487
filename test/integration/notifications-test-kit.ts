// Shared by the direct store notification tests: requests as API Gateway hands them to the store
// endpoints, Apple notifications signed with the test PKI, and the real webhook queue (fauxqs)
// drained into the real consumer the way Lambda's SQS event source would.
import { randomUUID } from 'node:crypto';
import { DeleteMessageCommand, type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  SQSBatchResponse,
  SQSEvent,
  SQSRecord,
} from 'aws-lambda';
import { lambdaContext } from '../../dev/fixtures/api-event';
import { type AppleTestSigner, appleTestPki, signAppleJws } from '../support/apple-test-pki';

export type StoreHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
export type ConsumerHandler = (
  event: SQSEvent,
  context: ReturnType<typeof lambdaContext>,
) => Promise<SQSBatchResponse>;

export const BUNDLE_ID = 'com.example.app';
export const APP_APPLE_ID = 1_234_567_890;

/** A POST as API Gateway (payload 2.0) passes it to a public route. */
export function storeRequest(
  path: string,
  body: string,
  headers: Record<string, string> = {},
  base64 = false,
): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `POST ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...headers },
    requestContext: {
      accountId: '000000000000',
      apiId: 'test',
      domainName: 'test.local',
      domainPrefix: 'test',
      http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'store' },
      requestId: `req-${randomUUID()}`,
      routeKey: `POST ${path}`,
      stage: '$default',
      time: '21/Nov/2026:20:00:00 +0000',
      timeEpoch: Date.now(),
    },
    body: base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: base64,
  };
}

/** The environment the Apple endpoint reads: the test root, offline checks. */
export function appleEnv(environments = 'Sandbox'): Record<string, string> {
  return {
    APPLE_BUNDLE_ID: BUNDLE_ID,
    APPLE_ROOT_CERTIFICATES: appleTestPki().rootDer.toString('base64'),
    APPLE_ENVIRONMENTS: environments,
    APPLE_APP_APPLE_ID: String(APP_APPLE_ID),
    // Offline: certificate dates are checked at the notification's signedDate, and no OCSP.
    APPLE_ONLINE_CHECKS: 'false',
  };
}

export interface AppleFixture {
  type: string;
  subtype?: string;
  uuid?: string;
  signedDate: number;
  environment?: 'Sandbox' | 'Production';
  bundleId?: string;
  appAppleId?: number;
  /** The decoded transaction; null leaves signedTransactionInfo out. */
  transaction?: Record<string, unknown> | null;
  renewal?: Record<string, unknown> | null;
  /** Replaces `data` (e.g. `summary` or `externalPurchaseToken` notifications). */
  body?: Record<string, unknown>;
  signer?: AppleTestSigner;
  innerSigner?: AppleTestSigner;
}

/** The JSON body Apple POSTs: `{"signedPayload": "<JWS>"}`. */
export function appleBody(fixture: AppleFixture): string {
  const environment = fixture.environment ?? 'Sandbox';
  const inner = fixture.innerSigner ?? fixture.signer;
  const payload: Record<string, unknown> = {
    notificationType: fixture.type,
    ...(fixture.subtype ? { subtype: fixture.subtype } : {}),
    notificationUUID: fixture.uuid ?? randomUUID(),
    version: '2.0',
    signedDate: fixture.signedDate,
  };
  if (fixture.body) {
    Object.assign(payload, fixture.body);
  } else {
    const data: Record<string, unknown> = {
      appAppleId: fixture.appAppleId ?? APP_APPLE_ID,
      bundleId: fixture.bundleId ?? BUNDLE_ID,
      bundleVersion: '42',
      environment,
    };
    if (fixture.transaction)
      data.signedTransactionInfo = signAppleJws(
        { environment, signedDate: fixture.signedDate, ...fixture.transaction },
        inner,
      );
    if (fixture.renewal)
      data.signedRenewalInfo = signAppleJws(
        { environment, signedDate: fixture.signedDate, ...fixture.renewal },
        inner,
      );
    payload.data = data;
  }
  return JSON.stringify({ signedPayload: signAppleJws(payload, fixture.signer) });
}

export const uuidOf = (body: string): string =>
  JSON.parse(
    Buffer.from((JSON.parse(body).signedPayload as string).split('.')[1] ?? '', 'base64url').toString(),
  ).notificationUUID;

/** The webhook queue as the consumer's event source sees it. */
export class QueueTap {
  private readonly sqs: SQSClient;

  constructor(private readonly queueUrl: string = process.env.WEBHOOK_QUEUE_URL ?? '') {
    this.sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
  }

  /** Everything on the queue now (each message becomes invisible for a minute). */
  async receiveAll(): Promise<Message[]> {
    const all: Message[] = [];
    for (;;) {
      const { Messages = [] } = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          VisibilityTimeout: 60,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) return all;
      all.push(...Messages);
    }
  }

  /** Receives everything, runs the consumer on it as one batch, deletes what it processed. */
  async drainInto(consumer: ConsumerHandler): Promise<{ messages: Message[]; failed: string[] }> {
    const messages = await this.receiveAll();
    if (messages.length === 0) return { messages, failed: [] };
    const { batchItemFailures } = await consumer(
      { Records: messages.map(toRecord) },
      lambdaContext('webhook-consumer'),
    );
    const failed = batchItemFailures.map((f) => f.itemIdentifier);
    for (const m of messages) {
      if (!failed.includes(m.MessageId ?? ''))
        await this.sqs.send(
          new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: m.ReceiptHandle }),
        );
    }
    return { messages, failed };
  }

  /** Deletes whatever is on the queue. */
  async purge(): Promise<Message[]> {
    const messages = await this.receiveAll();
    for (const m of messages)
      await this.sqs.send(
        new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: m.ReceiptHandle }),
      );
    return messages;
  }
}

function toRecord(m: Message): SQSRecord {
  const attributes: SQSRecord['messageAttributes'] = {};
  for (const [name, value] of Object.entries(m.MessageAttributes ?? {})) {
    attributes[name] = { dataType: value.DataType ?? 'String', stringValue: value.StringValue };
  }
  return {
    messageId: m.MessageId ?? randomUUID(),
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
      SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: attributes,
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:attesto-events',
    awsRegion: 'us-east-1',
  };
}
