// The signing secrets of outbound webhooks. On AWS a Secrets Manager secret
// (EVENTS_WEBHOOK_SECRETS_ARN) holding `{"webhookSecrets":["whsec_new","whsec_old?"]}`, re-read
// every 5 minutes so a rotation takes effect without a deploy; locally EVENTS_WEBHOOK_SECRET (one
// `whsec_…` value, or several separated by spaces during a rotation). Values never reach a log or
// an error; only the names of settings do.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from '../config';
import { isWebhookSecret } from './signing';

const TTL_MS = 5 * 60_000;
const MAX_SECRETS = 5;

function checked(values: unknown, where: string): string[] {
  if (!Array.isArray(values) || values.length === 0 || values.length > MAX_SECRETS)
    throw new ConfigError(`${where}: expected 1 to ${MAX_SECRETS} secrets`);
  values.forEach((value, i) => {
    if (typeof value !== 'string' || !isWebhookSecret(value))
      throw new ConfigError(`${where}: secret ${i + 1} is not a whsec_… value (whsec_ followed by base64)`);
  });
  return values as string[];
}

/**
 * The secrets of EVENTS_WEBHOOK_SECRET (one `whsec_…` value, or several separated by spaces or
 * commas), checked; undefined when the variable is unset or blank.
 */
export function plainWebhookSecrets(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const values = (env.EVENTS_WEBHOOK_SECRET ?? '')
    .trim()
    .split(/[\s,]+/)
    .filter(Boolean);
  return values.length ? checked(values, 'EVENTS_WEBHOOK_SECRET') : undefined;
}

export interface WebhookSecretsProvider {
  secrets(): Promise<string[]>;
}

export function webhookSecretsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  options: { client?: () => SecretsManagerClient; now?: () => number } = {},
): WebhookSecretsProvider {
  let cached: { values: string[]; at: number } | undefined;
  let client: SecretsManagerClient | undefined;
  const now = options.now ?? Date.now;
  return {
    async secrets() {
      const arn = env.EVENTS_WEBHOOK_SECRETS_ARN?.trim();
      if (!arn) {
        const plain = plainWebhookSecrets(env);
        if (!plain) throw new ConfigError('EVENTS_WEBHOOK_SECRET or EVENTS_WEBHOOK_SECRETS_ARN must be set');
        return plain;
      }
      if (cached && now() - cached.at < TTL_MS) return cached.values;
      client ??= options.client?.() ?? new SecretsManagerClient({});
      const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
      let json: { webhookSecrets?: unknown };
      try {
        json = JSON.parse(out.SecretString ?? '');
      } catch {
        // JSON.parse's message quotes its input, which is the secret.
        throw new ConfigError(
          `EVENTS_WEBHOOK_SECRETS_ARN: the secret is not JSON; expected {"webhookSecrets":["whsec_…"]}`,
        );
      }
      const values = checked(json?.webhookSecrets, 'EVENTS_WEBHOOK_SECRETS_ARN webhookSecrets');
      cached = { values, at: now() };
      return values;
    },
  };
}
