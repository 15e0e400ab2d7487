import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  attestoApiKey,
  attestoWebhookSecrets,
  createAttestoCredentialsProvider,
  MAX_STALE_MS,
  resetAttestoCredentialsCache,
} from '../../shared/attesto/credentials';
import { signAttestoPayload } from '../../shared/attesto/webhook-signature';
import { ConfigError, resetConfigCache } from '../../shared/config';
import { ServiceUnavailableError } from '../../shared/http/errors';
import { errorResponse } from '../../shared/http/response';
import { receiveAttestoWebhook } from '../../shared/ingest/attesto/receive-webhook';

// There is no local Secrets Manager, so its answers are mocked (aws-sdk-client-mock).
const sm = mockClient(SecretsManagerClient);
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:iap-backend/attesto-AbCdEf';
const KEY = 'attesto_live_s3cr3t-api-key-value-0123456789abcdefghijklmno';
const CURRENT = 'Cur3ntSecretValue+base64/44chars0000000000=';
const PREVIOUS = 'Prev1ousSecretValue+base64/44chars000000000=';

function secretJson(value: unknown = { attestoApiKey: KEY, webhookSecrets: [CURRENT, PREVIOUS] }) {
  return { SecretString: typeof value === 'string' ? value : JSON.stringify(value) };
}

function provider(env: NodeJS.ProcessEnv, clock = { now: 1_000_000 }) {
  return createAttestoCredentialsProvider({
    env,
    now: () => clock.now,
    secretsManager: () => new SecretsManagerClient({ region: 'eu-west-1' }),
  });
}

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

function expectNoSecrets(error: Error) {
  for (const value of [KEY, CURRENT, PREVIOUS]) expect(error.message).not.toContain(value);
}

beforeEach(() => sm.reset());

describe('credentials from the environment', () => {
  it('reads the key and both webhook secrets, current first', async () => {
    const p = provider({
      ATTESTO_API_KEY: KEY,
      ATTESTO_WEBHOOK_SECRET: CURRENT,
      ATTESTO_WEBHOOK_SECRET_PREVIOUS: PREVIOUS,
    });
    expect(await p.apiKey()).toBe(KEY);
    expect(await p.webhookSecrets()).toEqual([CURRENT, PREVIOUS]);
    expect(sm.calls()).toHaveLength(0);
  });

  it('ignores a blank previous secret', async () => {
    const p = provider({ ATTESTO_WEBHOOK_SECRET: CURRENT, ATTESTO_WEBHOOK_SECRET_PREVIOUS: '  ' });
    expect(await p.webhookSecrets()).toEqual([CURRENT]);
  });

  it('names the missing setting and nothing else', async () => {
    const p = provider({ ATTESTO_WEBHOOK_SECRET: CURRENT });
    const error = await caught(p.apiKey());
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('ATTESTO_API_KEY');
    expectNoSecrets(error);

    const noSecret = await caught(provider({ ATTESTO_API_KEY: KEY }).webhookSecrets());
    expect(noSecret).toBeInstanceOf(ConfigError);
    expect(noSecret.message).toContain('ATTESTO_WEBHOOK_SECRET');
    expectNoSecrets(noSecret);
  });

  it('serves the module-level accessors from process.env', async () => {
    const saved = { ...process.env };
    try {
      delete process.env.ATTESTO_API_KEY_SECRET_ARN;
      delete process.env.ATTESTO_WEBHOOK_SECRETS_ARN;
      process.env.ATTESTO_API_KEY = KEY;
      process.env.ATTESTO_WEBHOOK_SECRET = CURRENT;
      delete process.env.ATTESTO_WEBHOOK_SECRET_PREVIOUS;
      resetConfigCache();
      resetAttestoCredentialsCache();
      expect(await attestoApiKey()).toBe(KEY);
      expect(await attestoWebhookSecrets()).toEqual([CURRENT]);
    } finally {
      process.env = saved;
    }
  });
});

describe('credentials from Secrets Manager', () => {
  afterEach(() => sm.reset());
  const KEY_ARN = ARN;
  const HOOKS_ARN =
    'arn:aws:secretsmanager:eu-west-1:123456789012:secret:iap-backend/attesto-webhooks-GhIjKl';
  const keyJson = (key = KEY) => secretJson({ attestoApiKey: key });
  const hooksJson = (secrets: unknown = [CURRENT, PREVIOUS]) => secretJson({ webhookSecrets: secrets });

  it('reads the API key and the webhook secrets from their own secrets, winning over plain env', async () => {
    sm.on(GetSecretValueCommand, { SecretId: KEY_ARN }).resolves(keyJson());
    sm.on(GetSecretValueCommand, { SecretId: HOOKS_ARN }).resolves(hooksJson());
    const p = provider({
      ATTESTO_API_KEY_SECRET_ARN: KEY_ARN,
      ATTESTO_WEBHOOK_SECRETS_ARN: HOOKS_ARN,
      ATTESTO_API_KEY: 'attesto_test_local',
      ATTESTO_WEBHOOK_SECRET: 'local',
    });
    expect(await p.apiKey()).toBe(KEY);
    expect(await p.webhookSecrets()).toEqual([CURRENT, PREVIOUS]);
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual([
      KEY_ARN,
      HOOKS_ARN,
    ]);
  });

  it('asks only for the secret a function is given: the webhook never asks for the API key', async () => {
    sm.on(GetSecretValueCommand, { SecretId: HOOKS_ARN }).resolves(hooksJson());
    const webhook = provider({ ATTESTO_WEBHOOK_SECRETS_ARN: HOOKS_ARN });
    expect(await webhook.webhookSecrets()).toEqual([CURRENT, PREVIOUS]);
    const error = await caught(webhook.apiKey());
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('ATTESTO_API_KEY_SECRET_ARN');
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual([HOOKS_ARN]);
  });

  it('caches for five minutes, then reads again', async () => {
    sm.on(GetSecretValueCommand)
      .resolvesOnce(keyJson())
      .resolves(keyJson(`${KEY}-rotated`));
    const clock = { now: 1_000_000 };
    const p = provider({ ATTESTO_API_KEY_SECRET_ARN: KEY_ARN }, clock);
    expect(await p.apiKey()).toBe(KEY);
    clock.now += 5 * 60_000 - 1;
    expect(await p.apiKey()).toBe(KEY);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    clock.now += 2;
    expect(await p.apiKey()).toBe(`${KEY}-rotated`);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('shares one lookup between concurrent callers', async () => {
    sm.on(GetSecretValueCommand).callsFake(
      () => new Promise((resolve) => setTimeout(() => resolve(keyJson()), 50)),
    );
    const p = provider({ ATTESTO_API_KEY_SECRET_ARN: KEY_ARN });
    const results = await Promise.all(Array.from({ length: 10 }, () => p.apiKey()));
    expect(results).toEqual(Array(10).fill(KEY));
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('refuses a secret that is not JSON without quoting it', async () => {
    sm.on(GetSecretValueCommand).resolves(secretJson(`${KEY} ${CURRENT}`));
    const error = await caught(provider({ ATTESTO_API_KEY_SECRET_ARN: KEY_ARN }).apiKey());
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/not JSON/);
    expect(error.message).toContain(KEY_ARN);
    expectNoSecrets(error);
  });

  it('refuses a secret of the wrong shape, naming the field but not the values', async () => {
    sm.on(GetSecretValueCommand).resolves(hooksJson(CURRENT));
    const error = await caught(provider({ ATTESTO_WEBHOOK_SECRETS_ARN: HOOKS_ARN }).webhookSecrets());
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('webhookSecrets');
    expectNoSecrets(error);

    sm.reset();
    sm.on(GetSecretValueCommand).resolves(hooksJson());
    const wrong = await caught(provider({ ATTESTO_API_KEY_SECRET_ARN: KEY_ARN }).apiKey());
    expect(wrong.message).toContain('attestoApiKey');
    expectNoSecrets(wrong);
  });

  it('treats a missing secret or permission as configuration', async () => {
    sm.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('Secrets Manager can’t find'), { name: 'ResourceNotFoundException' }),
    );
    const error = await caught(provider({ ATTESTO_API_KEY_SECRET_ARN: KEY_ARN }).apiKey());
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('ResourceNotFoundException');
  });

  it('treats throttling as transient and does not cache the failure', async () => {
    sm.on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .resolves(keyJson());
    const p = provider({ ATTESTO_API_KEY_SECRET_ARN: KEY_ARN });
    const error = await caught(p.apiKey());
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(await p.apiKey()).toBe(KEY);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('keeps serving the last good value when a refresh fails', async () => {
    sm.on(GetSecretValueCommand)
      .resolvesOnce(keyJson())
      .rejectsOnce(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }))
      .resolves(keyJson(`${KEY}-rotated`));
    const clock = { now: 1_000_000 };
    const p = provider({ ATTESTO_API_KEY_SECRET_ARN: KEY_ARN }, clock);
    expect(await p.apiKey()).toBe(KEY);
    clock.now += 6 * 60_000;
    expect(await p.apiKey()).toBe(KEY);
    // Not asked again at once after the failure...
    expect(await p.apiKey()).toBe(KEY);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    // ...but soon.
    clock.now += 31_000;
    expect(await p.apiKey()).toBe(`${KEY}-rotated`);
  });
});

describe('bounded use of a secret that cannot be refreshed', () => {
  afterEach(() => sm.reset());
  const unreachable = () => Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError' });

  it('serves the cached key until 10 minutes past its refresh time, then fails closed with a 503', async () => {
    expect(MAX_STALE_MS).toBe(10 * 60_000);
    sm.on(GetSecretValueCommand)
      .resolvesOnce(secretJson({ attestoApiKey: KEY }))
      .rejects(unreachable());
    const readAt = 1_000_000;
    const clock = { now: readAt };
    const p = provider({ ATTESTO_API_KEY_SECRET_ARN: ARN }, clock);
    expect(await p.apiKey()).toBe(KEY);
    // Refresh due at +5 min; every attempt fails. Served through +15 min (checked every 30 s)...
    for (clock.now = readAt + 5 * 60_000; clock.now < readAt + 15 * 60_000; clock.now += 30_000) {
      expect(await p.apiKey()).toBe(KEY);
    }
    // ...and not a moment past it.
    clock.now = readAt + 15 * 60_000;
    const error = await caught(p.apiKey());
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(errorResponse(error, 'req-1').statusCode).toBe(503);
    expectNoSecrets(error);
    // It stays closed until Secrets Manager answers again.
    clock.now += 60 * 60_000;
    expect(await caught(p.apiKey())).toBeInstanceOf(ServiceUnavailableError);
  });

  it('makes the webhook answer 5xx once its signing secrets are past the bound, so Attesto retries', async () => {
    sm.on(GetSecretValueCommand)
      .resolvesOnce(secretJson({ webhookSecrets: [CURRENT] }))
      .rejects(unreachable());
    const clock = { now: 1_000_000 };
    const p = provider({ ATTESTO_WEBHOOK_SECRETS_ARN: ARN }, clock);
    const sent: unknown[] = [];
    const deps = {
      sqs: { send: async (command: unknown) => sent.push(command) } as never,
      queueUrl: () => 'http://127.0.0.1:1/queue/attesto-events',
      secrets: () => p.webhookSecrets(),
      nowSeconds: () => Math.floor(clock.now / 1000),
    };
    const body = JSON.stringify({ eventId: 'evt_bound', event: 'test' });
    const signed = () => {
      const t = Math.floor(clock.now / 1000);
      return {
        body,
        isBase64Encoded: false,
        headers: {
          'x-attesto-signature': signAttestoPayload(body, CURRENT, t),
          'content-type': 'application/json',
        },
        requestContext: { requestId: 'req-hook' },
      } as never;
    };
    expect((await receiveAttestoWebhook(signed(), deps)).statusCode).toBe(200);
    clock.now += 14 * 60_000;
    expect((await receiveAttestoWebhook(signed(), deps)).statusCode).toBe(200);
    clock.now += 60_000;
    const closed = await receiveAttestoWebhook(signed(), deps);
    expect(closed.statusCode).toBeGreaterThanOrEqual(500);
    expect(sent).toHaveLength(2);
  });

  it.each([
    ['ResourceNotFoundException', 'deleted'],
    ['InvalidRequestException', 'scheduled for deletion'],
    ['AccessDeniedException', 'no longer granted'],
  ])(
    'stops using a secret at its next refresh once it is %s (%s), without serving the cache',
    async (name) => {
      sm.on(GetSecretValueCommand)
        .resolvesOnce(secretJson({ attestoApiKey: KEY }))
        .rejects(Object.assign(new Error('gone'), { name }));
      const clock = { now: 1_000_000 };
      const p = provider({ ATTESTO_API_KEY_SECRET_ARN: ARN }, clock);
      expect(await p.apiKey()).toBe(KEY);
      clock.now += 5 * 60_000;
      const error = await caught(p.apiKey());
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain(name);
      expectNoSecrets(error);
      expect(await caught(p.apiKey())).toBeInstanceOf(ConfigError);
    },
  );
});
