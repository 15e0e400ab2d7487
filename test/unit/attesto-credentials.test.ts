import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  attestoApiKey,
  attestoWebhookSecrets,
  createAttestoCredentialsProvider,
  resetAttestoCredentialsCache,
} from '../../shared/attesto/credentials';
import { ConfigError, resetConfigCache } from '../../shared/config';
import { ServiceUnavailableError } from '../../shared/http/errors';

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
      delete process.env.ATTESTO_SECRET_ARN;
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

  it('wins over plain env when ATTESTO_SECRET_ARN is set', async () => {
    sm.on(GetSecretValueCommand, { SecretId: ARN }).resolves(secretJson());
    const p = provider({
      ATTESTO_SECRET_ARN: ARN,
      ATTESTO_API_KEY: 'attesto_test_local',
      ATTESTO_WEBHOOK_SECRET: 'local',
    });
    expect(await p.apiKey()).toBe(KEY);
    expect(await p.webhookSecrets()).toEqual([CURRENT, PREVIOUS]);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('caches for five minutes, then reads again', async () => {
    sm.on(GetSecretValueCommand)
      .resolvesOnce(secretJson())
      .resolves(secretJson({ attestoApiKey: `${KEY}-rotated`, webhookSecrets: [CURRENT] }));
    const clock = { now: 1_000_000 };
    const p = provider({ ATTESTO_SECRET_ARN: ARN }, clock);
    expect(await p.apiKey()).toBe(KEY);
    clock.now += 5 * 60_000 - 1;
    expect(await p.apiKey()).toBe(KEY);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    clock.now += 2;
    expect(await p.apiKey()).toBe(`${KEY}-rotated`);
    expect(await p.webhookSecrets()).toEqual([CURRENT]);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('shares one lookup between concurrent callers', async () => {
    sm.on(GetSecretValueCommand).callsFake(
      () => new Promise((resolve) => setTimeout(() => resolve(secretJson()), 50)),
    );
    const p = provider({ ATTESTO_SECRET_ARN: ARN });
    const results = await Promise.all([
      ...Array.from({ length: 10 }, () => p.apiKey()),
      ...Array.from({ length: 5 }, () => p.webhookSecrets()),
    ]);
    expect(results.slice(0, 10)).toEqual(Array(10).fill(KEY));
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('refuses a secret that is not JSON without quoting it', async () => {
    sm.on(GetSecretValueCommand).resolves(secretJson(`${KEY} ${CURRENT}`));
    const error = await caught(provider({ ATTESTO_SECRET_ARN: ARN }).apiKey());
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/not JSON/);
    expect(error.message).toContain(ARN);
    expectNoSecrets(error);
  });

  it('refuses a secret of the wrong shape, naming the field but not the values', async () => {
    sm.on(GetSecretValueCommand).resolves(secretJson({ attestoApiKey: KEY, webhookSecrets: CURRENT }));
    const error = await caught(provider({ ATTESTO_SECRET_ARN: ARN }).webhookSecrets());
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('webhookSecrets');
    expectNoSecrets(error);

    sm.reset();
    sm.on(GetSecretValueCommand).resolves(secretJson({ webhookSecrets: [] }));
    const both = await caught(provider({ ATTESTO_SECRET_ARN: ARN }).apiKey());
    expect(both.message).toContain('attestoApiKey');
    expect(both.message).toContain('webhookSecrets');
  });

  it('treats a missing secret or permission as configuration', async () => {
    sm.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('Secrets Manager can’t find'), { name: 'ResourceNotFoundException' }),
    );
    const error = await caught(provider({ ATTESTO_SECRET_ARN: ARN }).apiKey());
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('ResourceNotFoundException');
  });

  it('treats throttling as transient and does not cache the failure', async () => {
    sm.on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .resolves(secretJson());
    const p = provider({ ATTESTO_SECRET_ARN: ARN });
    const error = await caught(p.apiKey());
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(await p.apiKey()).toBe(KEY);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('keeps serving the last good value when a refresh fails', async () => {
    sm.on(GetSecretValueCommand)
      .resolvesOnce(secretJson())
      .rejectsOnce(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }))
      .resolves(secretJson({ attestoApiKey: `${KEY}-rotated`, webhookSecrets: [CURRENT] }));
    const clock = { now: 1_000_000 };
    const p = provider({ ATTESTO_SECRET_ARN: ARN }, clock);
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
