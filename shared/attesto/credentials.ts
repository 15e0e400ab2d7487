import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from '../config';
import { ServiceUnavailableError } from '../http/errors';
import { logger } from '../observability/logger';
import * as z from '../validation';

// Attesto credentials: on AWS one Secrets Manager secret (its ARN in ATTESTO_SECRET_ARN), locally
// plain env. Values never appear in errors or logs; only the names of missing settings do.

export interface AttestoCredentials {
  apiKey: string | undefined;
  webhookSecrets: string[];
}

const attestoSecretSchema = z.object({
  attestoApiKey: z.string().check(z.trim(), z.minLength(1)),
  // Current secret first, then the previous one while a rotation is under way.
  webhookSecrets: z.array(z.string().check(z.trim(), z.minLength(1))).check(z.minLength(1), z.maxLength(5)),
});

const CREDENTIALS_TTL_MS = 5 * 60_000;
// After a failed refresh the last good value is served for this long before asking again, so
// a Secrets Manager blip neither breaks verification nor turns every request into a lookup.
const STALE_RETRY_MS = 30_000;

export interface AttestoCredentialsProviderOptions {
  env?: NodeJS.ProcessEnv;
  secretsManager?: () => SecretsManagerClient;
  now?: () => number;
  ttlMs?: number;
}

export interface AttestoCredentialsProvider {
  apiKey(): Promise<string>;
  webhookSecrets(): Promise<string[]>;
  /** Forgets the cached secret (tests, and after a rotation is known to have happened). */
  reset(): void;
}

function nonBlank(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function fromEnv(env: NodeJS.ProcessEnv): AttestoCredentials {
  const current = nonBlank(env.ATTESTO_WEBHOOK_SECRET);
  const previous = nonBlank(env.ATTESTO_WEBHOOK_SECRET_PREVIOUS);
  return {
    apiKey: nonBlank(env.ATTESTO_API_KEY),
    webhookSecrets: current ? [current, ...(previous ? [previous] : [])] : [],
  };
}

async function fromSecretsManager(client: SecretsManagerClient, arn: string): Promise<AttestoCredentials> {
  let secretString: string | undefined;
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    secretString = out.SecretString;
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    // Missing secret or missing permission will not heal by retrying: that is configuration.
    if (
      name === 'ResourceNotFoundException' ||
      name === 'AccessDeniedException' ||
      name === 'AccessDeniedError'
    ) {
      throw new ConfigError(`ATTESTO_SECRET_ARN: cannot read the secret ${arn} (${name})`);
    }
    throw new ServiceUnavailableError('Secrets Manager is unavailable', 1, error);
  }
  if (secretString === undefined) {
    throw new ConfigError(
      `ATTESTO_SECRET_ARN: the secret ${arn} has no SecretString (binary secrets are not supported)`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    // JSON.parse's message quotes the input, which is the secret: never pass it on.
    throw new ConfigError(
      `ATTESTO_SECRET_ARN: the secret ${arn} is not JSON; expected {"attestoApiKey":"…","webhookSecrets":["…"]}`,
    );
  }
  const parsed = attestoSecretSchema.safeParse(json);
  if (!parsed.success) {
    // Zod issues name paths and expected types, never the values.
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new ConfigError(`ATTESTO_SECRET_ARN: the secret ${arn} is malformed: ${problems}`);
  }
  return { apiKey: parsed.data.attestoApiKey, webhookSecrets: parsed.data.webhookSecrets };
}

export function createAttestoCredentialsProvider(
  options: AttestoCredentialsProviderOptions = {},
): AttestoCredentialsProvider {
  // Read lazily: tests and the local runtime may swap process.env after this module loads.
  const envNow = () => options.env ?? process.env;
  const now = options.now ?? Date.now;
  const ttlMs = options.ttlMs ?? CREDENTIALS_TTL_MS;
  let client: SecretsManagerClient | undefined;
  const secretsManager = options.secretsManager ?? (() => (client ??= new SecretsManagerClient({})));

  let cached: { arn: string; value: AttestoCredentials; expiresAt: number } | undefined;
  let inFlight: { arn: string; promise: Promise<AttestoCredentials> } | undefined;

  async function load(): Promise<AttestoCredentials> {
    const env = envNow();
    const arn = nonBlank(env.ATTESTO_SECRET_ARN);
    if (!arn) return fromEnv(env);
    if (cached?.arn === arn && cached.expiresAt > now()) return cached.value;
    // Concurrent callers on a cold start share one lookup.
    if (inFlight?.arn === arn) return inFlight.promise;
    const stale = cached?.arn === arn ? cached.value : undefined;
    const promise = fromSecretsManager(secretsManager(), arn)
      .then((value) => {
        cached = { arn, value, expiresAt: now() + ttlMs };
        return value;
      })
      .catch((error: unknown) => {
        if (stale && error instanceof ServiceUnavailableError) {
          logger.warn('Refreshing the Attesto secret failed; using the cached value', {
            error: String(error.cause),
          });
          cached = { arn, value: stale, expiresAt: now() + STALE_RETRY_MS };
          return stale;
        }
        throw error;
      })
      .finally(() => {
        if (inFlight?.promise === promise) inFlight = undefined;
      });
    inFlight = { arn, promise };
    return promise;
  }

  const source = () =>
    nonBlank(envNow().ATTESTO_SECRET_ARN) ? 'the secret in ATTESTO_SECRET_ARN' : 'the environment';

  return {
    async apiKey() {
      const { apiKey } = await load();
      if (!apiKey)
        throw new ConfigError(`Invalid configuration: ATTESTO_API_KEY is not set (read from ${source()})`);
      return apiKey;
    },
    async webhookSecrets() {
      const { webhookSecrets } = await load();
      if (webhookSecrets.length === 0) {
        throw new ConfigError(
          `Invalid configuration: ATTESTO_WEBHOOK_SECRET is not set (read from ${source()})`,
        );
      }
      return [...webhookSecrets];
    },
    reset() {
      cached = undefined;
      inFlight = undefined;
    },
  };
}

const defaultProvider = createAttestoCredentialsProvider();

/** The Attesto API key (`Authorization: Bearer …`), from Secrets Manager or ATTESTO_API_KEY. */
export function attestoApiKey(): Promise<string> {
  return defaultProvider.apiKey();
}

/** Accepted webhook secrets, current first: Secrets Manager or ATTESTO_WEBHOOK_SECRET(_PREVIOUS). */
export function attestoWebhookSecrets(): Promise<string[]> {
  return defaultProvider.webhookSecrets();
}

export function resetAttestoCredentialsCache(): void {
  defaultProvider.reset();
}
