// Every setting that differs between deployments, in one typed file. A stage is picked with
// `cdk deploy -c stage=dev|staging|prod`; single values can be overridden for one deploy with
// context (`-c authIssuer=https://…`) without editing this file. Edit the values below for your
// app once: the placeholders (example.com, com.example.app) only let `cdk synth` run out of the box.
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { z } from 'zod';
import { DEFAULT_CORS_ORIGINS } from './cors';

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
    ownershipPolicy: 'move' | 'keep';
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
   * The SDK runs in a Capacitor WebView: iOS sends `capacitor://localhost`, Android
   * `https://localhost` (or `http://localhost` with cleartext on).
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

/** 120 calls per 10 minutes: see README "Limits". */
const ATTESTO_CALL_LIMIT = { calls: 120, windowSeconds: 600 };

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

const ATTESTO_STAGING_URL = 'https://api-staging.attesto.nossdev.com';
const ATTESTO_PRODUCTION_URL = 'https://api.attesto.nossdev.com';

/** Values that only make synth work; deploying with them produces an API that rejects every token. */
const PLACEHOLDERS = {
  issuer: 'https://auth.example.com/',
  audience: 'iap-backend',
  googlePackageName: 'com.example.app',
  appleBundleId: 'com.example.app',
} as const;

const shared = {
  auth: { issuer: PLACEHOLDERS.issuer, audience: [PLACEHOLDERS.audience] },
  store: { googlePackageName: PLACEHOLDERS.googlePackageName, appleBundleId: PLACEHOLDERS.appleBundleId },
  policies: {
    ownershipPolicy: 'keep',
    allowSandboxPurchases: true,
    billingRetryEntitled: true,
    billingRetryMaxDays: 16,
    productsRequireAuth: false,
  },
  corsAllowOrigins: [...DEFAULT_CORS_ORIGINS],
} satisfies Partial<StageConfig>;

/** Off until configured: a stage serves the direct store endpoints only when told to. */
const notificationsOff = (environments: AppleNotificationEnvironment[]): StageConfig['notifications'] => ({
  apple: { enabled: false, rootCertificates: [], environments, onlineChecks: true },
  google: { enabled: false },
});

export const stageConfigs: Record<Stage, StageConfig> = {
  dev: {
    ...shared,
    stage: 'dev',
    notifications: notificationsOff(['Sandbox']),
    attesto: { url: ATTESTO_STAGING_URL, callLimit: ATTESTO_CALL_LIMIT },
    alarms: { api5xxRatePercent: 5 },
    logRetention: RetentionDays.ONE_WEEK,
    logLevel: 'DEBUG',
    throttling: { rateLimit: 50, burstLimit: 100 },
    publicRouteThrottling: {
      'attesto-webhook': { rateLimit: 10, burstLimit: 20 },
      products: { rateLimit: 20, burstLimit: 40 },
      'apple-notifications': { rateLimit: 10, burstLimit: 20 },
      'google-notifications': { rateLimit: 10, burstLimit: 20 },
    },
    reservedConcurrency: { webhookConsumer: 5, attestoWebhook: 5 },
    removalPolicy: RemovalPolicy.DESTROY,
    deletionProtection: false,
    consumerMaxConcurrency: 5,
  },
  staging: {
    ...shared,
    stage: 'staging',
    notifications: notificationsOff(['Sandbox']),
    attesto: { url: ATTESTO_STAGING_URL, callLimit: ATTESTO_CALL_LIMIT },
    alarms: { api5xxRatePercent: 5 },
    logRetention: RetentionDays.ONE_MONTH,
    logLevel: 'INFO',
    throttling: { rateLimit: 100, burstLimit: 200 },
    publicRouteThrottling: {
      'attesto-webhook': { rateLimit: 20, burstLimit: 40 },
      products: { rateLimit: 50, burstLimit: 100 },
      'apple-notifications': { rateLimit: 20, burstLimit: 40 },
      'google-notifications': { rateLimit: 20, burstLimit: 40 },
    },
    reservedConcurrency: { webhookConsumer: 5, attestoWebhook: 5 },
    removalPolicy: RemovalPolicy.DESTROY,
    deletionProtection: false,
    consumerMaxConcurrency: 5,
  },
  prod: {
    ...shared,
    stage: 'prod',
    notifications: notificationsOff(['Production']),
    attesto: { url: ATTESTO_PRODUCTION_URL, callLimit: ATTESTO_CALL_LIMIT },
    alarms: { api5xxRatePercent: 1 },
    logRetention: RetentionDays.SIX_MONTHS,
    logLevel: 'INFO',
    throttling: { rateLimit: 500, burstLimit: 1000 },
    publicRouteThrottling: {
      'attesto-webhook': { rateLimit: 100, burstLimit: 200 },
      products: { rateLimit: 200, burstLimit: 400 },
      'apple-notifications': { rateLimit: 50, burstLimit: 100 },
      'google-notifications': { rateLimit: 50, burstLimit: 100 },
    },
    reservedConcurrency: { webhookConsumer: 5, attestoWebhook: 20 },
    removalPolicy: RemovalPolicy.RETAIN,
    deletionProtection: true,
    consumerMaxConcurrency: 5,
  },
};

export class StageConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StageConfigError';
  }
}

function isStage(value: unknown): value is Stage {
  return typeof value === 'string' && (STAGES as readonly string[]).includes(value);
}

/** Reads `-c stage=…`; an unknown or missing stage fails with the list of valid ones. */
export function parseStage(value: unknown): Stage {
  if (isStage(value)) return value;
  const got = value === undefined ? 'no stage was given' : `got ${JSON.stringify(value)}`;
  throw new StageConfigError(
    `Unknown stage: ${got}. Pass one of ${STAGES.join(', ')} with -c stage=<stage>, e.g. \`npx cdk deploy -c stage=dev\`.`,
  );
}

/** Context keys that override one setting of the chosen stage (`-c key=value`). */
const CONTEXT_OVERRIDES = [
  'authIssuer',
  'authAudience',
  'attestoUrl',
  'attestoApiKeySecretArn',
  'attestoWebhookSecretsArn',
  'attestoCallsPerUser',
  'attestoCallWindowSeconds',
  'googlePackageName',
  'appleBundleId',
  'ownershipPolicy',
  'allowSandboxPurchases',
  'billingRetryEntitled',
  'billingRetryMaxDays',
  'productsRequireAuth',
  'corsAllowOrigins',
  'alarmEmail',
  'consumerMaxConcurrency',
  'consumerReservedConcurrency',
  'webhookReservedConcurrency',
  'appleNotifications',
  'appleRootCertificates',
  'appleEnvironments',
  'appleAppAppleId',
  'appleOnlineChecks',
  'googleNotifications',
  'googlePushAudience',
  'googlePushServiceAccount',
] as const;
export type ContextOverride = (typeof CONTEXT_OVERRIDES)[number];

type ContextReader = (key: ContextOverride) => unknown;

const list = (value: unknown): unknown =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : value;
const bool = (value: unknown): unknown => (value === 'true' ? true : value === 'false' ? false : value);
const num = (value: unknown): unknown =>
  typeof value === 'string' && value.trim() !== '' ? Number(value) : value;

const httpsUrl = z.url({ protocol: /^https$/ });
const secretArn = z
  .string()
  .regex(/^arn:aws[\w-]*:secretsmanager:[\w-]+:\d{12}:secret:.+$/, 'must be a Secrets Manager secret ARN');
const throttle = z.object({
  rateLimit: z.number().positive(),
  burstLimit: z.number().int().positive(),
});

// Checks the merged result, so a bad value in this file fails the same way as a bad `-c` value.
const stageConfigSchema = z.object({
  stage: z.enum(STAGES),
  auth: z.object({
    issuer: httpsUrl,
    audience: z.array(z.string().min(1)).min(1),
  }),
  attesto: z.object({
    url: httpsUrl.refine((u) => !u.endsWith('/'), 'must not end with a slash'),
    existingApiKeySecretArn: secretArn.optional(),
    existingWebhookSecretsArn: secretArn.optional(),
    callLimit: z.object({
      calls: z.number().int().min(1).max(10_000),
      windowSeconds: z.number().int().min(10).max(86_400),
    }),
  }),
  store: z.object({
    googlePackageName: z
      .string()
      .regex(/^[A-Za-z][\w]*(\.[A-Za-z][\w]*)+$/, 'must be an Android package name'),
    appleBundleId: z.string().regex(/^[A-Za-z0-9.-]+$/, 'must be a bundle identifier'),
  }),
  policies: z.object({
    ownershipPolicy: z.enum(['move', 'keep']),
    allowSandboxPurchases: z.boolean(),
    billingRetryEntitled: z.boolean(),
    billingRetryMaxDays: z.number().int().min(0).max(60),
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

/** What an enabled direct endpoint needs; checked only for the routes a stage turns on. */
function notificationProblems(config: z.infer<typeof stageConfigSchema>): string[] {
  const problems: string[] = [];
  const reserved = config.reservedConcurrency.webhookConsumer;
  if (reserved !== 0 && reserved < config.consumerMaxConcurrency)
    problems.push(
      `reservedConcurrency.webhookConsumer: ${reserved} is below consumerMaxConcurrency (${config.consumerMaxConcurrency}); the queue would be throttled. Use 0 (none) or at least ${config.consumerMaxConcurrency}: -c consumerReservedConcurrency=…`,
    );
  const { apple, google } = config.notifications;
  if (apple.enabled) {
    if (apple.rootCertificates.length === 0)
      problems.push(
        'notifications.apple.rootCertificates: the Apple route is enabled but no root certificate is set. Download Apple Root CA - G3 (AppleRootCA-G3.cer) from https://www.apple.com/certificateauthority/ and pass its path: -c appleRootCertificates=certs/AppleRootCA-G3.cer',
      );
    if (apple.environments.includes('Production') && apple.appAppleId === undefined)
      problems.push(
        'notifications.apple.appAppleId: required to accept Production notifications (App Store Connect → App Information → Apple ID): -c appleAppAppleId=1234567890',
      );
    if (config.stage === 'prod' && !apple.onlineChecks)
      problems.push('notifications.apple.onlineChecks: must be on in prod (OCSP revocation checks)');
  }
  if (google.enabled && !google.pushServiceAccount)
    problems.push(
      'notifications.google.pushServiceAccount: the Google route is enabled but the push service account is not set: -c googlePushServiceAccount=rtdn-push@<project>.iam.gserviceaccount.com',
    );
  if (google.audience !== undefined && !/^https:\/\/\S+$/.test(google.audience))
    problems.push(
      'notifications.google.audience: must be the https URL set as the push subscription Audience',
    );
  return problems;
}

/**
 * The stage's settings with context overrides applied, checked as a whole. Errors name the
 * setting and how to override it.
 */
export function resolveStageConfig(stage: Stage, readContext: ContextReader = () => undefined): StageConfig {
  const base = stageConfigs[stage];
  const ctx = (key: ContextOverride) => {
    const value = readContext(key);
    return value === undefined || value === '' ? undefined : value;
  };
  // The single secret of earlier versions: refused by name so an old deploy command cannot
  // silently fall back to a fresh placeholder secret.
  const legacySecret = (readContext as (key: string) => unknown)('attestoSecretArn');
  if (legacySecret !== undefined && legacySecret !== '')
    throw new StageConfigError(
      `Invalid settings for stage "${stage}": attestoSecretArn (one secret for the API key and the webhook secrets) was split into -c attestoApiKeySecretArn=… and -c attestoWebhookSecretsArn=…; see "Moving an existing stack to two secrets" in README.md.`,
    );
  const merged = {
    ...base,
    auth: {
      issuer: ctx('authIssuer') ?? base.auth.issuer,
      audience: list(ctx('authAudience')) ?? base.auth.audience,
    },
    attesto: {
      url: ctx('attestoUrl') ?? base.attesto.url,
      existingApiKeySecretArn: ctx('attestoApiKeySecretArn') ?? base.attesto.existingApiKeySecretArn,
      existingWebhookSecretsArn: ctx('attestoWebhookSecretsArn') ?? base.attesto.existingWebhookSecretsArn,
      callLimit: {
        calls: num(ctx('attestoCallsPerUser')) ?? base.attesto.callLimit.calls,
        windowSeconds: num(ctx('attestoCallWindowSeconds')) ?? base.attesto.callLimit.windowSeconds,
      },
    },
    store: {
      googlePackageName: ctx('googlePackageName') ?? base.store.googlePackageName,
      appleBundleId: ctx('appleBundleId') ?? base.store.appleBundleId,
    },
    policies: {
      ownershipPolicy: ctx('ownershipPolicy') ?? base.policies.ownershipPolicy,
      allowSandboxPurchases: bool(ctx('allowSandboxPurchases')) ?? base.policies.allowSandboxPurchases,
      billingRetryEntitled: bool(ctx('billingRetryEntitled')) ?? base.policies.billingRetryEntitled,
      billingRetryMaxDays: num(ctx('billingRetryMaxDays')) ?? base.policies.billingRetryMaxDays,
      productsRequireAuth: bool(ctx('productsRequireAuth')) ?? base.policies.productsRequireAuth,
    },
    corsAllowOrigins: list(ctx('corsAllowOrigins')) ?? base.corsAllowOrigins,
    alarms: { ...base.alarms, email: ctx('alarmEmail') ?? base.alarms.email },
    consumerMaxConcurrency: num(ctx('consumerMaxConcurrency')) ?? base.consumerMaxConcurrency,
    reservedConcurrency: {
      webhookConsumer: num(ctx('consumerReservedConcurrency')) ?? base.reservedConcurrency.webhookConsumer,
      attestoWebhook: num(ctx('webhookReservedConcurrency')) ?? base.reservedConcurrency.attestoWebhook,
    },
    notifications: {
      apple: {
        enabled: bool(ctx('appleNotifications')) ?? base.notifications.apple.enabled,
        rootCertificates: list(ctx('appleRootCertificates')) ?? base.notifications.apple.rootCertificates,
        environments: list(ctx('appleEnvironments')) ?? base.notifications.apple.environments,
        appAppleId: num(ctx('appleAppAppleId')) ?? base.notifications.apple.appAppleId,
        onlineChecks: bool(ctx('appleOnlineChecks')) ?? base.notifications.apple.onlineChecks,
      },
      google: {
        enabled: bool(ctx('googleNotifications')) ?? base.notifications.google.enabled,
        audience: ctx('googlePushAudience') ?? base.notifications.google.audience,
        pushServiceAccount: ctx('googlePushServiceAccount') ?? base.notifications.google.pushServiceAccount,
      },
    },
  };
  const parsed = stageConfigSchema.safeParse(merged);
  const issues = parsed.success
    ? notificationProblems(parsed.data)
    : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  if (!parsed.success || issues.length > 0) {
    const problems = issues.map((i) => `  - ${i}`).join('\n');
    throw new StageConfigError(
      `Invalid settings for stage "${stage}" (infra/stage-config.ts, or a -c override):\n${problems}`,
    );
  }
  return parsed.data as StageConfig;
}

/** Settings still at their example value; the stack warns about each at synth. */
export function placeholderSettings(config: StageConfig): string[] {
  const found: string[] = [];
  if (config.auth.issuer === PLACEHOLDERS.issuer) found.push('auth.issuer (-c authIssuer=…)');
  if (config.store.googlePackageName === PLACEHOLDERS.googlePackageName)
    found.push('store.googlePackageName (-c googlePackageName=…)');
  if (config.store.appleBundleId === PLACEHOLDERS.appleBundleId)
    found.push('store.appleBundleId (-c appleBundleId=…)');
  return found;
}

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Lambda's environment holds 4 KiB in all; Apple Root CA - G3 takes under 1 KiB as base64. */
const MAX_ROOT_CERTIFICATES_CHARS = 3_000;

/**
 * The Apple root certificates of the stage as the function reads them (APPLE_ROOT_CERTIFICATES):
 * base64 DER, comma-separated. Each setting is a file (DER or PEM, relative to the project root)
 * or base64 DER; each must be a CA certificate valid today, so a wrong file fails synth instead
 * of refusing every notification after deploy.
 */
export function appleRootCertificatesValue(
  settings: Pick<AppleNotificationSettings, 'rootCertificates'>,
  options: { projectRoot?: string; now?: Date } = {},
): string {
  const root = options.projectRoot ?? PROJECT_ROOT;
  const now = options.now ?? new Date();
  const values = settings.rootCertificates.flatMap((setting) => {
    const path = isAbsolute(setting) ? setting : join(root, setting);
    let ders: Buffer[];
    if (existsSync(path)) {
      const bytes = readFileSync(path);
      const text = bytes.toString('latin1');
      ders = text.includes('-----BEGIN CERTIFICATE-----')
        ? [...text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) =>
            Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64'),
          )
        : [bytes];
    } else if (/^[A-Za-z0-9+/=\s]{100,}$/.test(setting)) {
      ders = [Buffer.from(setting.replace(/\s+/g, ''), 'base64')];
    } else {
      throw new StageConfigError(
        `notifications.apple.rootCertificates: ${setting} is neither a file (looked for ${path}) nor base64 DER`,
      );
    }
    return ders.map((der) => {
      let certificate: X509Certificate;
      try {
        certificate = new X509Certificate(der);
      } catch {
        throw new StageConfigError(
          `notifications.apple.rootCertificates: ${setting} is not an X.509 certificate`,
        );
      }
      if (!certificate.ca)
        throw new StageConfigError(
          `notifications.apple.rootCertificates: ${setting} is not a CA certificate`,
        );
      if (new Date(certificate.validTo) < now || new Date(certificate.validFrom) > now)
        throw new StageConfigError(
          `notifications.apple.rootCertificates: ${setting} is not valid now (${certificate.validFrom} – ${certificate.validTo})`,
        );
      return Buffer.from(certificate.raw).toString('base64');
    });
  });
  const value = values.join(',');
  if (value.length > MAX_ROOT_CERTIFICATES_CHARS)
    throw new StageConfigError(
      `notifications.apple.rootCertificates: ${values.length} certificates take ${value.length} characters; Lambda's environment allows 4 KiB in all. Configure Apple Root CA - G3 only.`,
    );
  return value;
}
