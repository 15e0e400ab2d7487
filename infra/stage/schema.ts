// The shape of a stage's settings and the rules they must meet, checked at synth on the merged
// result (./values.ts with the -c overrides of ./overrides.ts applied). Settings the functions
// also read share their definition with them (shared/setting-definitions.ts), so synth refuses
// exactly what a function would refuse at cold start.
import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { z } from 'zod';
import {
  attestoCallsPerUser,
  attestoCallWindowSeconds,
  billingRetryMaxDays,
  historyRetentionDays,
  type OWNERSHIP_POLICIES,
  ownershipPolicy,
  reconcileConcurrency,
  reconcileDelaySeconds,
  reconcileLookBackDays,
  reconcileMaxCalls,
} from '../../shared/setting-definitions';
import { overrideOf } from './overrides';

export const STAGES = ['dev', 'staging', 'prod'] as const;
export type Stage = (typeof STAGES)[number];

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export interface StageConfig {
  stage: Stage;
  auth: {
    /** Your identity provider's issuer URL, exactly as in the `iss` claim of the app's tokens. */
    issuer: string;
    /** Accepted `aud` values of those tokens. */
    audience: string[];
  };
  attesto: {
    /** Base URL, no trailing slash. */
    url: string;
    /** ARN of an existing secret holding `{"attestoApiKey":"..."}`. Unset: the stack creates one. */
    existingApiKeySecretArn?: string;
    /**
     * ARN of an existing secret holding `{"webhookSecrets":["current","previous?"]}`. Unset: the
     * stack creates one.
     */
    existingWebhookSecretsArn?: string;
    /**
     * Attesto calls one user may cause through verify and restore per window (every call counts,
     * a restore's too). Past it the API answers 429 with Retry-After.
     */
    callLimit: { calls: number; windowSeconds: number };
  };
  store: {
    googlePackageName: string;
    appleBundleId: string;
  };
  policies: {
    /** What happens when a second account verifies a purchase another account owns. */
    ownershipPolicy: (typeof OWNERSHIP_POLICIES)[number];
    allowSandboxPurchases: boolean;
    billingRetryEntitled: boolean;
    billingRetryMaxDays: number;
    productsRequireAuth: boolean;
  };
  /** The stores' own notifications, received directly (besides or instead of Attesto's webhook). */
  notifications: {
    apple: AppleNotificationSettings;
    google: GoogleNotificationSettings;
  };
  /**
   * Origins allowed to call the API cross-origin; methods and headers are fixed in infra/cors.ts.
   * The SDK runs in a Capacitor WebView: iOS sends `capacitor://localhost` (`ionic://localhost`
   * in Ionic apps), Android `https://localhost` (or `http://localhost` with cleartext on).
   */
  corsAllowOrigins: string[];
  alarms: {
    /** Receives alarm notifications; unset: alarms go to the SNS topic with no subscriber. */
    email?: string;
    /** Percentage of API requests answered 5xx over 5 minutes that raises the alarm. */
    api5xxRatePercent: number;
  };
  logRetention: RetentionDays;
  logLevel: LogLevel;
  /** Steady-state requests per second and burst of each user route (the stage default). */
  throttling: Throttle;
  /**
   * Each public route's own limits, so a flood of one is refused there and never spends what
   * users' routes or Attesto's deliveries need.
   */
  publicRouteThrottling: Record<PublicFunction, Throttle>;
  /**
   * Concurrency kept for a function alone, which is also its ceiling (0: none). The consumer's
   * keeps it running when a flood of verifies takes the account's shared pool, and the webhook's
   * keeps Attesto's deliveries answered.
   */
  reservedConcurrency: { webhookConsumer: number; attestoWebhook: number };
  /** RETAIN keeps tables, the created secret and log groups when the stack is deleted. */
  removalPolicy: RemovalPolicy.RETAIN | RemovalPolicy.DESTROY;
  deletionProtection: boolean;
  /**
   * Upper bound on concurrent consumer invocations (SQS event source maxConcurrency, 2–1000).
   * Each invocation may call Attesto for Google events, so this keeps webhook bursts under
   * Attesto's per-tenant rate limit.
   */
  consumerMaxConcurrency: number;
  /** Days each history record is kept; unset: forever (the default of every stage). */
  historyRetentionDays?: number;
  /** Outbound `entitlements.changed` events (docs/events.md): always on the bus, webhooks optional. */
  events: EventSettings;
  /** Re-verifying purchases whose notifications may have gone missing (docs/reconciliation.md). */
  reconciliation: ReconciliationSettings;
}

export interface EventSettings {
  /** The app's https endpoint that receives signed webhooks; unset: no webhooks (the default). */
  webhookUrl?: string;
  /**
   * ARN of an existing secret holding `{"webhookSecrets":["whsec_…","whsec_previous?"]}`. Unset
   * (with a webhook URL): the stack creates one with a fresh `whsec_` secret.
   */
  existingWebhookSecretsArn?: string;
}

export interface ReconciliationSettings {
  /** Run the scheduled passes; off, the schedule exists but is disabled. */
  enabled: boolean;
  /** Minutes between passes. */
  everyMinutes: number;
  /** Attesto calls one pass may make, retries included: keep it well inside the tenant's quota. */
  maxCalls: number;
  /** Attesto calls one pass makes at once. */
  concurrency: number;
  /** Seconds after a subscription's stored expiry before it is checked. */
  delaySeconds: number;
  /** Days after expiry a purchase is still checked. */
  lookBackDays: number;
}

export type AppleNotificationEnvironment = 'Production' | 'Sandbox';

export interface Throttle {
  rateLimit: number;
  burstLimit: number;
}

/** The functions behind routes without the JWT authorizer (the catalog only by default). */
export const PUBLIC_FUNCTIONS = [
  'attesto-webhook',
  'products',
  'apple-notifications',
  'google-notifications',
] as const;
export type PublicFunction = (typeof PUBLIC_FUNCTIONS)[number];

export interface AppleNotificationSettings {
  /** Serve POST /webhooks/apple. */
  enabled: boolean;
  /**
   * Apple's root certificates the notifications must chain to: paths (relative to the project
   * root) of `.cer` (DER) or PEM files, or base64 DER. Download Apple Root CA - G3 from
   * https://www.apple.com/certificateauthority/ (e.g. into certs/AppleRootCA-G3.cer).
   */
  rootCertificates: string[];
  /** Accepted App Store environments: Production for the live app; add Sandbox for TestFlight. */
  environments: AppleNotificationEnvironment[];
  /** The app's numeric Apple ID (App Store Connect → App Information); required for Production. */
  appAppleId?: number;
  /** OCSP revocation checks and clock-based certificate dates. Required in prod. */
  onlineChecks: boolean;
}

export interface GoogleNotificationSettings {
  /** Serve POST /webhooks/google. */
  enabled: boolean;
  /**
   * The Audience set on the authenticated push subscription. Unset: the endpoint URL,
   * `<ApiUrl>webhooks/google` (set it when the API is behind a custom domain).
   */
  audience?: string;
  /** The service account the push subscription authenticates as. Required when enabled. */
  pushServiceAccount?: string;
}

// No user:password@ part: fetch refuses such a URL with an error that repeats it, and that
// error is logged on every delivery attempt.
const httpsUrl = z
  .url({ protocol: /^https$/ })
  .refine((u) => !new URL(u).username && !new URL(u).password, 'must not carry a user name or password');
const secretArn = z
  .string()
  .regex(/^arn:aws[\w-]*:secretsmanager:[\w-]+:\d{12}:secret:.+$/, 'must be a Secrets Manager secret ARN');
const throttle = z.object({
  rateLimit: z.number().positive(),
  burstLimit: z.number().int().positive(),
});

// Checks the merged result, so a bad value in values.ts fails the same way as a bad `-c` value.
export const stageConfigSchema = z.object({
  stage: z.enum(STAGES),
  auth: z.object({
    issuer: httpsUrl,
    audience: z.array(z.string().min(1)).min(1),
  }),
  attesto: z.object({
    url: httpsUrl.refine((u) => !u.endsWith('/'), 'must not end with a slash'),
    existingApiKeySecretArn: secretArn.optional(),
    existingWebhookSecretsArn: secretArn.optional(),
    callLimit: z.object({ calls: attestoCallsPerUser, windowSeconds: attestoCallWindowSeconds }),
  }),
  store: z.object({
    googlePackageName: z
      .string()
      .regex(/^[A-Za-z][\w]*(\.[A-Za-z][\w]*)+$/, 'must be an Android package name'),
    appleBundleId: z.string().regex(/^[A-Za-z0-9.-]+$/, 'must be a bundle identifier'),
  }),
  policies: z.object({
    ownershipPolicy,
    allowSandboxPurchases: z.boolean(),
    billingRetryEntitled: z.boolean(),
    billingRetryMaxDays,
    productsRequireAuth: z.boolean(),
  }),
  corsAllowOrigins: z.array(z.string().regex(/^[a-z][a-z0-9+.-]*:\/\/[^/\s]+$/, 'must be an origin')).min(1),
  alarms: z.object({
    email: z.email().optional(),
    api5xxRatePercent: z.number().positive().max(100),
  }),
  logRetention: z.enum(RetentionDays),
  logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']),
  throttling: throttle,
  publicRouteThrottling: z.object({
    'attesto-webhook': throttle,
    products: throttle,
    'apple-notifications': throttle,
    'google-notifications': throttle,
  }),
  reservedConcurrency: z.object({
    webhookConsumer: z.number().int().min(0).max(1000),
    attestoWebhook: z.number().int().min(0).max(1000),
  }),
  removalPolicy: z.enum([RemovalPolicy.RETAIN, RemovalPolicy.DESTROY]),
  deletionProtection: z.boolean(),
  consumerMaxConcurrency: z.number().int().min(2).max(1000),
  historyRetentionDays: z.optional(historyRetentionDays),
  events: z.object({
    webhookUrl: httpsUrl.optional(),
    existingWebhookSecretsArn: secretArn.optional(),
  }),
  reconciliation: z.object({
    enabled: z.boolean(),
    everyMinutes: z.number().int().min(1).max(1440),
    maxCalls: reconcileMaxCalls,
    concurrency: reconcileConcurrency,
    delaySeconds: reconcileDelaySeconds,
    lookBackDays: reconcileLookBackDays,
  }),
  notifications: z.object({
    apple: z.object({
      enabled: z.boolean(),
      rootCertificates: z.array(z.string().min(1)),
      environments: z.array(z.enum(['Production', 'Sandbox'])).min(1),
      appAppleId: z.number().int().positive().optional(),
      onlineChecks: z.boolean(),
    }),
    google: z.object({
      enabled: z.boolean(),
      audience: z.string().min(1).optional(),
      pushServiceAccount: z.email().optional(),
    }),
  }),
});

/**
 * Rules across settings: the consumer's reserved concurrency against its queue concurrency, and
 * what an enabled direct endpoint needs (checked only for the routes a stage turns on).
 */
export function crossFieldProblems(config: z.infer<typeof stageConfigSchema>): string[] {
  const problems: string[] = [];
  const reserved = config.reservedConcurrency.webhookConsumer;
  if (reserved !== 0 && reserved < config.consumerMaxConcurrency)
    problems.push(
      `reservedConcurrency.webhookConsumer: ${reserved} is below consumerMaxConcurrency (${config.consumerMaxConcurrency}); the queue would be throttled. Use 0 (none) or at least ${config.consumerMaxConcurrency}: ${overrideOf('reservedConcurrency.webhookConsumer')}`,
    );
  const { apple, google } = config.notifications;
  if (apple.enabled) {
    if (apple.rootCertificates.length === 0)
      problems.push(
        `notifications.apple.rootCertificates: the Apple route is enabled but no root certificate is set. Download Apple Root CA - G3 (AppleRootCA-G3.cer) from https://www.apple.com/certificateauthority/ and pass its path: ${overrideOf('notifications.apple.rootCertificates', 'certs/AppleRootCA-G3.cer')}`,
      );
    if (apple.environments.includes('Production') && apple.appAppleId === undefined)
      problems.push(
        `notifications.apple.appAppleId: required to accept Production notifications (App Store Connect → App Information → Apple ID): ${overrideOf('notifications.apple.appAppleId', '1234567890')}`,
      );
    if (config.stage === 'prod' && !apple.onlineChecks)
      problems.push('notifications.apple.onlineChecks: must be on in prod (OCSP revocation checks)');
  }
  if (google.enabled && !google.pushServiceAccount)
    problems.push(
      `notifications.google.pushServiceAccount: the Google route is enabled but the push service account is not set: ${overrideOf('notifications.google.pushServiceAccount', 'rtdn-push@<project>.iam.gserviceaccount.com')}`,
    );
  if (google.audience !== undefined && !/^https:\/\/\S+$/.test(google.audience))
    problems.push(
      'notifications.google.audience: must be the https URL set as the push subscription Audience',
    );
  return problems;
}
