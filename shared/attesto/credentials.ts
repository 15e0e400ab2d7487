import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from '../config';
import { ServiceUnavailableError } from '../http/errors';
import { logger } from '../observability/logger';
import * as z from '../validation';

// Attesto credentials. On AWS two Secrets Manager secrets, each granted only to the functions that
// use it: the API key (ATTESTO_API_KEY_SECRET_ARN, verify/restore/consumer) and the webhook signing
// secrets (ATTESTO_WEBHOOK_SECRETS_ARN, the webhook function). Locally plain env. Values never
// appear in errors or logs; only the names of missing settings do.

const nonBlankString = z.string().check(z.trim(), z.minLength(1));
const apiKeySecretSchema = z.object({ attestoApiKey: nonBlankString });
// Current secret first, then the previous one while a rotation is under way.
const webhookSecretsSchema = z.object({
  webhookSecrets: z.array(nonBlankString).check(z.minLength(1), z.maxLength(5)),
});

const CREDENTIALS_TTL_MS = 5 * 60_000;
// After a failed refresh the last good value is served for this long before asking again, so
// a Secrets Manager blip neither breaks verification nor turns every request into a lookup.
const STALE_RETRY_MS = 30_000;
/**
 * How long past its refresh time a value that cannot be refreshed is still served. After it the
 * function fails closed (503; the webhook answers 5xx so Attesto retries), so a value is never
 * used more than TTL + this (15 minutes) after it was last read.
 */
export const MAX_STALE_MS = 10 * 60_000;

// Will not heal by retrying: the secret is gone, scheduled for deletion, undecryptable, or not
// ours to read. Failing at once is what makes removing a leaked secret take effect.
const CONFIGURATION_FAILURES = new Set([
  'ResourceNotFoundException',
  'AccessDeniedException',
  'AccessDeniedError',
  'InvalidRequestException',
  'DecryptionFailure',
]);

export interface AttestoCredentialsProviderOptions {
  env?: NodeJS.ProcessEnv;
  secretsManager?: () => SecretsManagerClient;
  now?: () => number;
  ttlMs?: number;
  maxStaleMs?: number;
}

export interface AttestoCredentialsProvider {
  apiKey(): Promise<string>;
  webhookSecrets(): Promise<string[]>;
  /** Forgets the cached secrets (tests, and after a rotation is known to have happened). */
  reset(): void;
}

function nonBlank(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

interface SecretSpec<T> {
  /** The variable holding the secret's ARN. */
  arnVariable: string;
  schema: z.ZodMiniType<T>;
  /** The expected JSON, for error messages. */
  shape: string;
}

async function fromSecretsManager<T>(
  client: SecretsManagerClient,
  arn: string,
  spec: SecretSpec<T>,
): Promise<T> {
  let secretString: string | undefined;
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    secretString = out.SecretString;
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    if (CONFIGURATION_FAILURES.has(name)) {
      throw new ConfigError(`${spec.arnVariable}: cannot read the secret ${arn} (${name})`);
    }
    throw new ServiceUnavailableError('Secrets Manager is unavailable', 1, error);
  }
  if (secretString === undefined) {
    throw new ConfigError(
      `${spec.arnVariable}: the secret ${arn} has no SecretString (binary secrets are not supported)`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    // JSON.parse's message quotes the input, which is the secret: never pass it on.
    throw new ConfigError(`${spec.arnVariable}: the secret ${arn} is not JSON; expected ${spec.shape}`);
  }
  const parsed = z.safeParse(spec.schema, json);
  if (!parsed.success) {
    // Zod issues name paths and expected types, never the values.
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new ConfigError(
      `${spec.arnVariable}: the secret ${arn} is malformed: ${problems}; expected ${spec.shape}`,
    );
  }
  return parsed.data as T;
}

interface CachedSecret<T> {
  /** The secret's value, or undefined when no ARN is configured (the caller falls back to env). */
  get(): Promise<T | undefined>;
  reset(): void;
}

function cachedSecret<T>(
  spec: SecretSpec<T>,
  options: {
    env: () => NodeJS.ProcessEnv;
    secretsManager: () => SecretsManagerClient;
    now: () => number;
    ttlMs: number;
    maxStaleMs: number;
  },
): CachedSecret<T> {
  const { now } = options;
  // `refreshAt` is when the value should be re-read; `servedUntil` the end of its stale bound.
  let cached: { arn: string; value: T; refreshAt: number; retryAt: number; servedUntil: number } | undefined;
  let inFlight: { arn: string; promise: Promise<T> } | undefined;

  return {
    async get() {
      const arn = nonBlank(options.env()[spec.arnVariable]);
      if (!arn) return undefined;
      const held = cached?.arn === arn ? cached : undefined;
      if (held && Math.max(held.refreshAt, held.retryAt) > now()) return held.value;
      // Concurrent callers on a cold start share one lookup.
      if (inFlight?.arn === arn) return inFlight.promise;
      const promise = fromSecretsManager(options.secretsManager(), arn, spec)
        .then((value) => {
          const at = now();
          const refreshAt = at + options.ttlMs;
          cached = { arn, value, refreshAt, retryAt: refreshAt, servedUntil: refreshAt + options.maxStaleMs };
          return value;
        })
        .catch((error: unknown) => {
          if (!held || !(error instanceof ServiceUnavailableError)) {
            if (held) cached = undefined;
            throw error;
          }
          if (now() >= held.servedUntil) {
            // Fail closed: the value may have been rotated away or revoked since it was read.
            cached = undefined;
            logger.error('The cached Attesto secret is past its bound and cannot be refreshed', {
              secret: spec.arnVariable,
              error: String(error.cause),
            });
            throw new ServiceUnavailableError(
              'Attesto credentials could not be refreshed; failing closed',
              Math.ceil(STALE_RETRY_MS / 1000),
              error.cause,
            );
          }
          logger.warn('Refreshing the Attesto secret failed; using the cached value', {
            secret: spec.arnVariable,
            error: String(error.cause),
          });
          held.retryAt = Math.min(now() + STALE_RETRY_MS, held.servedUntil);
          return held.value;
        })
        .finally(() => {
          if (inFlight?.promise === promise) inFlight = undefined;
        });
      inFlight = { arn, promise };
      return promise;
    },
    reset() {
      cached = undefined;
      inFlight = undefined;
    },
  };
}

export function createAttestoCredentialsProvider(
  options: AttestoCredentialsProviderOptions = {},
): AttestoCredentialsProvider {
  // Read lazily: tests and the local runtime may swap process.env after this module loads.
  const env = () => options.env ?? process.env;
  let client: SecretsManagerClient | undefined;
  const shared = {
    env,
    secretsManager: options.secretsManager ?? (() => (client ??= new SecretsManagerClient({}))),
    now: options.now ?? Date.now,
    ttlMs: options.ttlMs ?? CREDENTIALS_TTL_MS,
    maxStaleMs: options.maxStaleMs ?? MAX_STALE_MS,
  };
  const apiKeySecret = cachedSecret(
    { arnVariable: 'ATTESTO_API_KEY_SECRET_ARN', schema: apiKeySecretSchema, shape: '{"attestoApiKey":"…"}' },
    shared,
  );
  const webhookSecret = cachedSecret(
    {
      arnVariable: 'ATTESTO_WEBHOOK_SECRETS_ARN',
      schema: webhookSecretsSchema,
      shape: '{"webhookSecrets":["current","previous?"]}',
    },
    shared,
  );

  return {
    async apiKey() {
      const stored = await apiKeySecret.get();
      if (stored) return stored.attestoApiKey;
      const apiKey = nonBlank(env().ATTESTO_API_KEY);
      if (!apiKey)
        throw new ConfigError(
          'Invalid configuration: ATTESTO_API_KEY is not set (nor ATTESTO_API_KEY_SECRET_ARN)',
        );
      return apiKey;
    },
    async webhookSecrets() {
      const stored = await webhookSecret.get();
      if (stored) return [...stored.webhookSecrets];
      const current = nonBlank(env().ATTESTO_WEBHOOK_SECRET);
      const previous = nonBlank(env().ATTESTO_WEBHOOK_SECRET_PREVIOUS);
      if (!current) {
        throw new ConfigError(
          'Invalid configuration: ATTESTO_WEBHOOK_SECRET is not set (nor ATTESTO_WEBHOOK_SECRETS_ARN)',
        );
      }
      return [current, ...(previous ? [previous] : [])];
    },
    reset() {
      apiKeySecret.reset();
      webhookSecret.reset();
    },
  };
}

const defaultProvider = createAttestoCredentialsProvider();

/** The Attesto API key (`Authorization: Bearer …`): ATTESTO_API_KEY_SECRET_ARN's secret, or ATTESTO_API_KEY. */
export function attestoApiKey(): Promise<string> {
  return defaultProvider.apiKey();
}

/** Accepted webhook secrets, current first: ATTESTO_WEBHOOK_SECRETS_ARN's secret, or ATTESTO_WEBHOOK_SECRET(_PREVIOUS). */
export function attestoWebhookSecrets(): Promise<string[]> {
  return defaultProvider.webhookSecrets();
}

export function resetAttestoCredentialsCache(): void {
  defaultProvider.reset();
}
