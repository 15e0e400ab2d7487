// The values people edit: every setting that differs between deployments, per stage. A stage is
// picked with `cdk deploy -c stage=dev|staging|prod`; single values can be overridden for one
// deploy with context (`-c authIssuer=https://…`, the list is in ./overrides.ts) without editing
// this file. Edit the values below for your app once: the placeholders (example.com,
// com.example.app) only let `cdk synth` run out of the box. What each setting means: ./schema.ts
// and docs/configuration.md.
import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DEFAULT_CORS_ORIGINS } from '../cors';
import type { AppleNotificationEnvironment, Stage, StageConfig } from './schema';

const ATTESTO_STAGING_URL = 'https://api-staging.attesto.nossdev.com';
const ATTESTO_PRODUCTION_URL = 'https://api.attesto.nossdev.com';

/** 120 calls per 10 minutes: see docs/configuration.md "Limits". */
const ATTESTO_CALL_LIMIT = { calls: 120, windowSeconds: 600 };

/** Values that only make synth work; deploying with them produces an API that rejects every token. */
export const PLACEHOLDERS = {
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
  // Entitlement events always go to the stack's EventBridge bus; set events.webhookUrl (or
  // -c eventsWebhookUrl=https://…) to also receive them as signed webhooks (docs/events.md).
  events: {},
  // Every 15 minutes, at most 200 Attesto calls a pass: 800 calls an hour at most, well inside
  // Attesto's tenant quota (docs/reconciliation.md "What it costs").
  reconciliation: {
    enabled: true,
    everyMinutes: 15,
    maxCalls: 200,
    concurrency: 4,
    delaySeconds: 600,
    lookBackDays: 60,
  },
  // historyRetentionDays: unset on every stage, so history is kept forever; a number of days
  // sets a TTL on each record (docs/configuration.md, History).
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
