import { randomBytes } from 'node:crypto';
import { format } from 'node:util';
import { type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext } from '../../dev/fixtures/api-event';
import { toSqsRecord } from '../../dev/local/sqs-poller';
import { signAttestoPayload } from '../../shared/attesto/webhook-signature';
import { logger } from '../../shared/observability/logger';
import { type RawAnswer, sendRaw } from '../support/bad-input-corpus';
import { type ContractApi, startContractApi } from '../support/contract-api';
import { sdkVerifyOkSchema } from '../support/sdk-schemas';

// Everything the functions write while serving representative requests — verify, restore, the
// webhook with good and bad signatures, the consumer, Attesto refusing our key, an unexpected
// failure — captured at DEBUG from stdout, stderr and the console, and searched for the
// credentials that pass through them: users' bearer tokens, the Attesto API key, both webhook
// secrets, every X-Attesto-Signature value and every Google purchase token (with the app's Play
// credentials a token reads the purchase). None of them, nor a recognisable piece of one, may
// appear.

const API_KEY = `attesto_test_${randomBytes(24).toString('base64url')}`;
const WRONG_API_KEY = `attesto_test_${randomBytes(24).toString('base64url')}`;
const SECRET = randomBytes(32).toString('base64');
const PREVIOUS_SECRET = randomBytes(32).toString('base64');
const USER = 'log-user';

let api: ContractApi;
const captured: string[] = [];
const answers: RawAnswer[] = [];
const signatures: string[] = [];
const purchaseTokens: string[] = [];
let restore: (() => void) | undefined;

/** Swallows and records whatever reaches the process streams or the console. */
function captureOutput(): () => void {
  const streams = [process.stdout, process.stderr] as const;
  const writes = streams.map((s) => s.write);
  for (const stream of streams) {
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
  }
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const consoleOriginals = methods.map((m) => console[m]);
  for (const m of methods) console[m] = (...args: unknown[]) => void captured.push(format(...args));
  return () => {
    streams.forEach((s, i) => {
      s.write = writes[i] as typeof s.write;
    });
    methods.forEach((m, i) => {
      console[m] = consoleOriginals[i] as (typeof console)[typeof m];
    });
  };
}

async function call(
  method: 'GET' | 'POST',
  path: string,
  options: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<RawAnswer> {
  const token = options.token === undefined ? await api.token(USER) : options.token;
  const res = await sendRaw(api.url, {
    method,
    path,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...options.headers,
    },
    ...(options.raw !== undefined
      ? { body: options.raw }
      : options.body === undefined
        ? {}
        : { body: JSON.stringify(options.body) }),
  });
  answers.push(res);
  return res;
}

async function postWebhook(body: string, signature: string | undefined): Promise<RawAnswer> {
  if (signature) signatures.push(signature);
  return call('POST', '/attesto-webhook', {
    token: null,
    raw: body,
    headers: signature ? { 'x-attesto-signature': signature } : {},
  });
}

async function receiveAll(queueUrl: string): Promise<Message[]> {
  const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (!Messages.length) return all;
    all.push(...Messages);
  }
}

beforeAll(async () => {
  api = await startContractApi({ sandbox: { apiKey: API_KEY, webhookSecret: SECRET } });
  api.setEnv({
    ATTESTO_API_KEY: API_KEY,
    ATTESTO_WEBHOOK_SECRET: SECRET,
    ATTESTO_WEBHOOK_SECRET_PREVIOUS: PREVIOUS_SECRET,
  });
  await api.token(USER);
  // The bundles read the level at their cold start, during the flows; the sources' logger
  // (E2E_FUNCTIONS=sources) exists already.
  api.setEnv({ POWERTOOLS_LOG_LEVEL: 'DEBUG' });
  logger.setLogLevel('DEBUG');
  restore = captureOutput();
  try {
    await runFlows();
  } finally {
    restore();
    restore = undefined;
    api.setEnv({ POWERTOOLS_LOG_LEVEL: 'SILENT' });
    logger.setLogLevel('SILENT');
  }
}, 30_000);
afterAll(async () => {
  restore?.();
  await api?.stop();
});

async function runFlows() {
  const nowSeconds = () => Math.floor(Date.now() / 1000);
  const uuid = (await call('POST', '/api/iap/uuid')).json.uuid as string;

  // Verify (Apple and Google), a refused body, a missing token.
  const boughtApple = await api.sandbox.buy({
    platform: 'apple',
    productId: 'premium_monthly',
    appUserId: uuid,
  });
  const boughtGoogle = await api.sandbox.buy({
    platform: 'google',
    productId: 'premium_yearly',
    appUserId: uuid,
  });
  const apple = boughtApple.purchase;
  purchaseTokens.push(boughtGoogle.purchase.token);
  sdkVerifyOkSchema.parse(
    (
      await call('POST', '/api/iap/verify/apple', {
        body: { productId: 'premium_monthly', transactionId: apple.token },
      })
    ).json,
  );
  sdkVerifyOkSchema.parse(
    (
      await call('POST', '/api/iap/verify/google', {
        body: { productId: 'premium_yearly', purchaseToken: boughtGoogle.purchase.token },
      })
    ).json,
  );
  expect((await call('POST', '/api/iap/verify/apple', { body: { productId: 7 } })).status).toBe(400);
  expect((await call('POST', '/api/iap/verify/apple', { raw: '{"productId":' })).status).toBe(400);
  expect((await call('GET', '/api/iap/entitlements', { token: null })).status).toBe(401);

  // Restore, with entries that are skipped, rejected and verified.
  const restored = await call('POST', '/api/iap/restore', {
    body: {
      transactions: [
        { platform: 'apple', productId: 'premium_monthly', transactionId: apple.token },
        { platform: 'apple', productId: 'premium_monthly', transactionId: '999' },
        { platform: 'google', productId: 'remove_ads', purchaseToken: 'unknown-token' },
        { platform: 'google', productId: 'premium_yearly', purchaseToken: boughtGoogle.purchase.token },
        { nonsense: true },
      ],
    },
  });
  expect(restored.status).toBe(200);
  expect((await call('GET', '/api/iap/entitlements')).status).toBe(200);

  // Webhooks: signed with the current and the previous secret, then refused ones.
  const [webhook, secondWebhook] = [...boughtApple.webhooks, ...boughtGoogle.webhooks];
  if (!webhook || !secondWebhook) throw new Error('the sandbox sent no webhook for the purchases');
  const signed = api.sandbox.buildWebhookRequest(webhook);
  const header = Object.entries(signed.headers).find(([k]) => k.toLowerCase() === 'x-attesto-signature')?.[1];
  expect(header).toBeDefined();
  expect((await postWebhook(signed.body, header)).status).toBe(200);
  const second = JSON.stringify(secondWebhook);
  expect((await postWebhook(second, signAttestoPayload(second, PREVIOUS_SECRET, nowSeconds()))).status).toBe(
    200,
  );
  const tampered = signed.body.replace('premium_monthly', 'premium_yearly');
  expect((await postWebhook(tampered, header)).status).toBe(401);
  expect((await postWebhook(second, signAttestoPayload(second, SECRET, nowSeconds() - 900))).status).toBe(
    401,
  );
  expect((await postWebhook(second, signAttestoPayload(second, `${SECRET}x`, nowSeconds()))).status).toBe(
    401,
  );
  expect((await postWebhook(second, undefined)).status).toBe(401);

  // The consumer, fed what was queued plus a poison record.
  const consume = await api.handler('webhook-consumer');
  const messages = await receiveAll(api.resources.queueUrl);
  expect(messages).toHaveLength(2);
  const records = messages.map((m) => toSqsRecord(m, 'arn:aws:sqs:us-east-1:000000000000:q', 'us-east-1'));
  const poison = { ...(records[0] as SQSEvent['Records'][number]), messageId: 'poison-1', body: '{"event":' };
  const batch = (await consume(
    { Records: [...records, poison] },
    lambdaContext('webhook-consumer'),
  )) as SQSBatchResponse;
  expect(batch.batchItemFailures).toEqual([{ itemIdentifier: 'poison-1' }]);

  // Attesto busy (503 after a retry), then refusing our API key (502).
  api.sandbox.setKnobs({ errorRate: 1 });
  expect(
    (
      await call('POST', '/api/iap/verify/apple', {
        body: { productId: 'premium_monthly', transactionId: '1' },
      })
    ).status,
  ).toBe(503);
  api.sandbox.setKnobs({ errorRate: 0 });
  api.setEnv({ ATTESTO_API_KEY: WRONG_API_KEY });
  expect(
    (
      await call('POST', '/api/iap/verify/apple', {
        body: { productId: 'premium_monthly', transactionId: '1' },
      })
    ).status,
  ).toBe(502);
  expect(
    (
      await call('POST', '/api/iap/restore', {
        body: { transactions: [{ platform: 'apple', productId: 'premium_yearly', transactionId: '2' }] },
      })
    ).status,
  ).toBe(502);
  api.setEnv({ ATTESTO_API_KEY: API_KEY });

  // Unexpected failures: a table that does not exist (500), webhook secrets missing (500).
  const table = process.env.PURCHASES_TABLE;
  api.setEnv({ PURCHASES_TABLE: 'no-such-table' });
  const failed = await call('GET', '/api/iap/entitlements');
  api.setEnv({ PURCHASES_TABLE: table });
  expect(failed.status).toBe(500);
  expect(failed.json).toMatchObject({ error: 'INTERNAL_ERROR' });
  api.setEnv({ ATTESTO_WEBHOOK_SECRET: undefined, ATTESTO_WEBHOOK_SECRET_PREVIOUS: undefined });
  expect((await postWebhook(signed.body, header)).status).toBe(500);
  api.setEnv({ ATTESTO_WEBHOOK_SECRET: SECRET, ATTESTO_WEBHOOK_SECRET_PREVIOUS: PREVIOUS_SECRET });
}

/** A credential and the pieces of it that would still identify it in a log line. */
function pieces(name: string, value: string): [string, string][] {
  const out: [string, string][] = [[name, value]];
  if (value.length >= 24) {
    out.push([`${name} (first 12)`, value.slice(0, 12)], [`${name} (last 12)`, value.slice(-12)]);
    out.push([`${name} (middle 12)`, value.slice(value.length / 2 - 6, value.length / 2 + 6)]);
  }
  return out;
}

async function needles(): Promise<[string, string][]> {
  const token = await api.token(USER);
  const [, payload = '', signature = ''] = token.split('.');
  const randomPart = (key: string) => key.slice('attesto_test_'.length);
  return [
    ['bearer token', token],
    ...pieces('bearer token payload', payload),
    ...pieces('bearer token signature', signature),
    ...pieces('Attesto API key', randomPart(API_KEY)),
    ...pieces('wrong Attesto API key', randomPart(WRONG_API_KEY)),
    ...pieces('webhook secret', SECRET),
    ...pieces('previous webhook secret', PREVIOUS_SECRET),
    ...signatures.flatMap((s, i) => {
      const v1 = /v1=([0-9a-f]{64})/.exec(s)?.[1] ?? '';
      return [[`signature header ${i}`, s] as [string, string], ...pieces(`signature ${i} v1`, v1)];
    }),
  ];
}

/**
 * The logs' needles also hold the Google purchase tokens. The answers may carry those: a Google
 * verify answers the token the app sent as its transaction id (contract §1.6).
 */
async function logNeedles(): Promise<[string, string][]> {
  return [...(await needles()), ...purchaseTokens.flatMap((t, i) => pieces(`Google purchase token ${i}`, t))];
}

describe('logs at DEBUG during representative flows', () => {
  it('were captured: every kind of line the flows produce is there', () => {
    const text = captured.join('');
    for (const message of [
      'request rejected',
      'request failed',
      'restore entry skipped',
      'restore done',
      'Retrying Attesto',
      'Webhook enqueued',
      'Webhook signature refused',
      'Webhook processed',
      'Poison webhook record',
      'Webhook secrets unavailable',
    ]) {
      expect(text, message).toContain(message);
    }
    expect(signatures.length).toBeGreaterThanOrEqual(5);
    expect(purchaseTokens.length).toBeGreaterThanOrEqual(1);
  });

  it('hold no bearer or purchase token, API key, webhook secret or signature, nor a piece of one', async () => {
    const lines = captured.join('').split('\n');
    for (const [name, needle] of await logNeedles()) {
      expect(needle.length, name).toBeGreaterThanOrEqual(12);
      const hit = lines.find((line) => line.includes(needle));
      expect(hit, `${name} appears in the logs`).toBeUndefined();
    }
  });

  it('and neither do the answers', async () => {
    // Every answer of the flows was captured, of every kind: successes (uuid, verify, restore,
    // entitlements, accepted webhooks), refusals of bad input, of missing or bad credentials and
    // signatures, and the failures when Attesto is busy, refuses our key, or a setting is missing.
    const byStatus = new Map<number, number>();
    for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    expect(answers.length).toBeGreaterThanOrEqual(19);
    expect(byStatus.get(200)).toBeGreaterThanOrEqual(7);
    expect(byStatus.get(400)).toBeGreaterThanOrEqual(2);
    expect(byStatus.get(401)).toBeGreaterThanOrEqual(5);
    expect(byStatus.get(500)).toBeGreaterThanOrEqual(2);
    expect(byStatus.get(502)).toBeGreaterThanOrEqual(2);
    expect(byStatus.get(503)).toBeGreaterThanOrEqual(1);
    for (const a of answers) expect(a.text, `a ${a.status} answer has a body`).not.toBe('');
    const bodies = answers.map((a) => a.text).join('\n');
    // The bodies are what the app reads: the Google verify answer carries the token it was sent.
    expect(bodies).toContain(purchaseTokens[0]);
    for (const [name, needle] of await needles()) expect(bodies.includes(needle), name).toBe(false);
  });
});
