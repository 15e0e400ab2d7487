import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { apiEvent } from '../../dev/fixtures/api-event';
import type { LocalResources } from '../../dev/local/provision';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../dev/local/provision';
import { type AttestoSandbox, startAttestoSandbox } from '../../dev/sandbox/server';
import { useLocalAws } from '../support/local-aws';
import { opensslSignature } from '../support/openssl-signature';

// The webhook function end to end against a real (emulated) queue. Signatures are computed by
// openssl, outside the code under test: HMAC-SHA256 keyed with the secret's UTF-8 bytes over
// `${t}.` + the raw body bytes (contract §3.2).

const SECRET = 'q0Zk3Vt1c8yR2mO9xWb4Hn7LpJf6Ds5Ae+Gi/Uo1TzA=';
const PREVIOUS = 'Mv8Yd2Kp4Qs6Rt1Wx3Zb5Nc7Fg9Hj0Lk+Pm/Oe2Ia4U=';

type Handler = (event: ReturnType<typeof apiEvent>) => Promise<APIGatewayProxyStructuredResultV2>;

describe('POST /attesto-webhook (signature, size, enqueue)', () => {
  let aws: LocalResources;
  let sqs: SQSClient;
  let sandbox: AttestoSandbox;
  let handler: Handler;
  let body: string;
  let eventId: string;
  let eventName: string;

  beforeAll(async () => {
    aws = await useLocalAws();
    process.env.ATTESTO_WEBHOOK_SECRET = SECRET;
    process.env.ATTESTO_WEBHOOK_SECRET_PREVIOUS = PREVIOUS;
    sqs = new SQSClient({
      endpoint: process.env.AWS_ENDPOINT_URL_SQS,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      useQueueUrlAsEndpoint: false,
    });
    sandbox = await startAttestoSandbox({
      apiKey: 'attesto_test_key',
      webhookSecret: SECRET,
      packageName: 'com.example.app',
      bundleId: 'com.example.app',
    });
    const bought = await sandbox.buy({ platform: 'apple', productId: 'premium_monthly', deliver: false });
    const webhook = bought.webhooks[0];
    if (!webhook) throw new Error('the sandbox produced no webhook');
    body = JSON.stringify(webhook);
    eventId = webhook.eventId;
    eventName = webhook.event;
    // Like Lambda: the environment is complete before the module (and its SQS client) loads.
    ({ handler } = (await import('../../functions/attesto-webhook/handler')) as { handler: Handler });
  });

  afterAll(async () => {
    await sandbox?.stop();
    sqs?.destroy();
  });

  async function drain(): Promise<Message[]> {
    const all: Message[] = [];
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: aws.queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          MessageAttributeNames: ['All'],
        }),
      );
      if (!Messages.length) return all;
      all.push(...Messages);
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: aws.queueUrl,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
        }),
      );
    }
  }

  afterEach(async () => {
    await drain();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const sign = (t: number, secret = SECRET, raw = body) => `t=${t},v1=${opensslSignature(secret, t, raw)}`;
  const post = (
    headers: Record<string, string>,
    options: { raw?: string; base64?: boolean } = {},
  ): Promise<APIGatewayProxyStructuredResultV2> =>
    handler(
      apiEvent({
        path: '/attesto-webhook',
        sub: null,
        body: options.raw ?? body,
        base64: options.base64 ?? false,
        headers: { 'x-attesto-event-id': eventId, 'x-attesto-event': eventName, ...headers },
      }),
    );

  it('accepts a valid signature: 200, and the raw body is queued with the event id and type', async () => {
    const res = await post({ 'x-attesto-signature': sign(now()) });
    expect(res.statusCode).toBe(200);
    const messages = await drain();
    expect(messages).toHaveLength(1);
    expect(messages[0]?.Body).toBe(body);
    expect(messages[0]?.MessageAttributes?.eventId?.StringValue).toBe(eventId);
    expect(messages[0]?.MessageAttributes?.eventType?.StringValue).toBe(eventName);
  });

  it('reads the event id and type from the body when the headers are absent', async () => {
    const res = await handler(
      apiEvent({
        path: '/attesto-webhook',
        sub: null,
        body,
        headers: { 'x-attesto-signature': sign(now()) },
      }),
    );
    expect(res.statusCode).toBe(200);
    const [message] = await drain();
    expect(message?.MessageAttributes?.eventId?.StringValue).toBe(eventId);
    expect(message?.MessageAttributes?.eventType?.StringValue).toBe(eventName);
  });

  it('accepts the previous secret during a rotation', async () => {
    expect((await post({ 'x-attesto-signature': sign(now(), PREVIOUS) })).statusCode).toBe(200);
    expect(await drain()).toHaveLength(1);
  });

  it('accepts a header with two v1 values when either matches the current or previous secret', async () => {
    const t = now();
    const theirs = opensslSignature('a-secret-this-backend-never-had-0123', t, body);
    for (const ours of [opensslSignature(SECRET, t, body), opensslSignature(PREVIOUS, t, body)]) {
      expect((await post({ 'x-attesto-signature': `t=${t},v1=${theirs},v1=${ours}` })).statusCode).toBe(200);
    }
    expect(await drain()).toHaveLength(2);
  });

  it('verifies the decoded bytes of a base64-encoded body and queues the decoded body', async () => {
    const res = await post({ 'x-attesto-signature': sign(now()) }, { base64: true });
    expect(res.statusCode).toBe(200);
    const [message] = await drain();
    expect(message?.Body).toBe(body);
  });

  it('queues a signed body that is not JSON, so the consumer can record it', async () => {
    const raw = 'not json at all';
    const res = await handler(
      apiEvent({
        path: '/attesto-webhook',
        sub: null,
        body: raw,
        headers: { 'x-attesto-signature': sign(now(), SECRET, raw) },
      }),
    );
    expect(res.statusCode).toBe(200);
    const [message] = await drain();
    expect(message?.Body).toBe(raw);
    expect(message?.MessageAttributes?.eventId).toBeUndefined();
  });

  const refused: Array<[string, () => Record<string, string>, { tamper?: boolean }?]> = [
    ['the wrong secret', () => ({ 'x-attesto-signature': sign(now(), 'some-other-secret-entirely') })],
    ['a tampered body', () => ({ 'x-attesto-signature': sign(now()) }), { tamper: true }],
    ['a timestamp 301 s old', () => ({ 'x-attesto-signature': sign(now() - 301) })],
    ['a timestamp 301 s in the future', () => ({ 'x-attesto-signature': sign(now() + 301) })],
    ['no signature header', () => ({})],
    ['an empty signature header', () => ({ 'x-attesto-signature': '' })],
    ['a garbled header', () => ({ 'x-attesto-signature': 'garbage' })],
    ['a header without v1', () => ({ 'x-attesto-signature': `t=${now()}` })],
    ['a truncated v1', () => ({ 'x-attesto-signature': sign(now()).slice(0, -2) })],
    [
      'two v1 values, neither ours',
      () => {
        const t = now();
        const v1 = (secret: string) => opensslSignature(secret, t, body);
        return {
          'x-attesto-signature': `t=${t},v1=${v1('not-ours-0123456789')},v1=${v1('nor-this-9876543210')}`,
        };
      },
    ],
    ['a valid v1 next to a malformed one', () => ({ 'x-attesto-signature': `${sign(now())},v1=abc` })],
  ];

  it.each(refused)(
    'answers 401 with no detail and queues nothing for %s',
    async (_name, headers, options) => {
      const raw = options?.tamper ? body.replace('premium_monthly', 'premium_yearly') : body;
      if (options?.tamper) expect(raw).not.toBe(body);
      const res = await post(headers(), { raw });
      expect(res.statusCode).toBe(401);
      expect(JSON.parse(res.body as string)).toEqual({ error: 'UNAUTHORIZED' });
      expect(await drain()).toHaveLength(0);
    },
  );

  it('accepts timestamps up to 300 s either side', async () => {
    expect((await post({ 'x-attesto-signature': sign(now() - 290) })).statusCode).toBe(200);
    expect((await post({ 'x-attesto-signature': sign(now() + 290) })).statusCode).toBe(200);
    expect(await drain()).toHaveLength(2);
  });

  it('answers 413 to a body over 256 KiB, and queues nothing', async () => {
    const raw = JSON.stringify({ event: 'test', padding: 'x'.repeat(256 * 1024) });
    const res = await handler(
      apiEvent({
        path: '/attesto-webhook',
        sub: null,
        body: raw,
        headers: { 'x-attesto-signature': sign(now(), SECRET, raw) },
      }),
    );
    expect(res.statusCode).toBe(413);
    expect(await drain()).toHaveLength(0);
  });

  it('answers 500 when the queue refuses the message, so Attesto delivers again', async () => {
    const mock = mockClient(SQSClient);
    try {
      mock
        .on(SendMessageCommand)
        .rejects(Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable' }));
      const res = await post({ 'x-attesto-signature': sign(now()) });
      expect(res.statusCode).toBe(500);
      expect(mock.commandCalls(SendMessageCommand)).toHaveLength(1);
    } finally {
      mock.restore();
    }
  });
});
