// The stack: stage config → tables, secret, webhook pipeline, functions, HTTP API, monitoring.

import { Annotations, type App, CfnOutput, Stack, type StackProps, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { AttestoSecrets } from './constructs/attesto-secret';
import { DataTables } from './constructs/data-tables';
import { ProductFunction } from './constructs/function-factory';
import { ProductHttpApi } from './constructs/http-api';
import { Monitoring } from './constructs/monitoring';
import { OutboundEvents } from './constructs/outbound-events';
import { Reconciliation } from './constructs/reconciliation';
import { WebhookPipeline } from './constructs/webhook-pipeline';
import { corsSettings } from './cors';
import { type FunctionName, functions } from './functions';
import { routeTable } from './routes';
import { stackName } from './stack-name';
import { appleRootCertificatesValue } from './stage/apple-roots';
import { exampleValueMessages, parseStage, refuseExampleValues, resolveStageConfig } from './stage/resolve';
import type { StageConfig } from './stage/schema';

export interface IapBackendStackProps extends StackProps {
  config: StageConfig;
}

/** Settings every function receives; each one reads only the variables it needs. */
function functionEnvironment(config: StageConfig): Record<string, string> {
  return {
    ATTESTO_URL: config.attesto.url,
    GOOGLE_PACKAGE_NAME: config.store.googlePackageName,
    APPLE_BUNDLE_ID: config.store.appleBundleId,
    OWNERSHIP_POLICY: config.policies.ownershipPolicy,
    ALLOW_SANDBOX_PURCHASES: String(config.policies.allowSandboxPurchases),
    BILLING_RETRY_ENTITLED: String(config.policies.billingRetryEntitled),
    BILLING_RETRY_MAX_DAYS: String(config.policies.billingRetryMaxDays),
    PRODUCTS_REQUIRE_AUTH: String(config.policies.productsRequireAuth),
    ATTESTO_CALLS_PER_USER: String(config.attesto.callLimit.calls),
    ATTESTO_CALL_WINDOW_SECONDS: String(config.attesto.callLimit.windowSeconds),
    ...(config.historyRetentionDays ? { HISTORY_RETENTION_DAYS: String(config.historyRetentionDays) } : {}),
    // Every write of a purchase places it in the due-for-a-check index by these.
    RECONCILE_DELAY_SECONDS: String(config.reconciliation.delaySeconds),
    RECONCILE_LOOKBACK_DAYS: String(config.reconciliation.lookBackDays),
  };
}

export class IapBackendStack extends Stack {
  readonly config: StageConfig;
  readonly tables: DataTables;
  readonly pipeline: WebhookPipeline;
  readonly attestoSecrets: AttestoSecrets;
  readonly functions: Record<FunctionName, ProductFunction>;
  readonly events: OutboundEvents;
  readonly httpApi: ProductHttpApi;
  readonly monitoring: Monitoring;
  readonly reconciliation: Reconciliation;

  constructor(scope: Construct, id: string, props: IapBackendStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.config = config;
    Tags.of(this).add('app', 'iap-backend');
    Tags.of(this).add('stage', config.stage);
    for (const message of exampleValueMessages(config)) {
      Annotations.of(this).addWarningV2('iap-backend:placeholder-setting', message);
    }

    // ---- data -----------------------------------------------------------------------------
    this.tables = new DataTables(this, 'Tables', {
      removalPolicy: config.removalPolicy,
      deletionProtection: config.deletionProtection,
    });
    this.attestoSecrets = new AttestoSecrets(this, 'AttestoCredentials', {
      ...(config.attesto.existingApiKeySecretArn
        ? { existingApiKeySecretArn: config.attesto.existingApiKeySecretArn }
        : {}),
      ...(config.attesto.existingWebhookSecretsArn
        ? { existingWebhookSecretsArn: config.attesto.existingWebhookSecretsArn }
        : {}),
      removalPolicy: config.removalPolicy,
    });
    this.pipeline = new WebhookPipeline(this, 'WebhookPipeline');
    this.events = new OutboundEvents(this, 'Events', {
      outbox: this.tables.entitlementEvents,
      settings: config.events,
      removalPolicy: config.removalPolicy,
    });

    // ---- functions ------------------------------------------------------------------------
    const environment = functionEnvironment(config);
    const resources = {
      tables: this.tables.byKey,
      queue: this.pipeline.queue,
      secrets: this.attestoSecrets.byKey,
    };
    const built = {} as Record<FunctionName, ProductFunction>;
    for (const def of Object.values(functions)) {
      built[def.name] = new ProductFunction(this, {
        def,
        resources,
        environment,
        defaultEnvironment: { POWERTOOLS_LOG_LEVEL: config.logLevel },
        logRetention: config.logRetention,
        logRemovalPolicy: config.removalPolicy,
        ...(def.reservedConcurrency
          ? { reservedConcurrency: config.reservedConcurrency[def.reservedConcurrency] }
          : {}),
      });
    }
    this.functions = built;
    this.pipeline.attachConsumer(built['webhook-consumer'], config.consumerMaxConcurrency);
    this.events.attachPublisher(built['events-publisher']);
    // Like the direct store endpoints, the function exists in every stage; only a stage with a
    // webhook URL gives it a queue, a secret and the URL.
    if (this.events.webhookUrl) this.events.attachWebhook(built['events-webhook']);

    // ---- HTTP API -------------------------------------------------------------------------
    this.httpApi = new ProductHttpApi(this, 'HttpApi', {
      routes: routeTable({
        productsRequireAuth: config.policies.productsRequireAuth,
        appleNotifications: config.notifications.apple.enabled,
        googleNotifications: config.notifications.google.enabled,
      }),
      functions: built,
      auth: config.auth,
      cors: corsSettings({ CORS_ORIGINS: config.corsAllowOrigins.join(',') }),
      throttling: config.throttling,
      publicRouteThrottling: config.publicRouteThrottling,
      logRetention: config.logRetention,
      logRemovalPolicy: config.removalPolicy,
    });

    this.wireStoreNotifications(config);

    // ---- monitoring -----------------------------------------------------------------------
    this.monitoring = new Monitoring(this, 'Monitoring', {
      api: this.httpApi.api,
      queue: this.pipeline.queue,
      deadLetterQueue: this.pipeline.deadLetterQueue,
      consumer: built['webhook-consumer'],
      functions: Object.values(built),
      ...(config.alarms.email ? { alarmEmail: config.alarms.email } : {}),
      api5xxRatePercent: config.alarms.api5xxRatePercent,
      events: {
        publisher: built['events-publisher'],
        publisherDlq: this.events.publisherDlq,
        ...(this.events.deliveryDlq ? { webhookDlq: this.events.deliveryDlq } : {}),
      },
    });

    this.reconciliation = new Reconciliation(this, 'Reconciliation', {
      fn: built.reconcile,
      settings: config.reconciliation,
      monitoring: this.monitoring,
    });

    // ---- outputs --------------------------------------------------------------------------
    const output = (outputId: string, value: string, description: string) =>
      new CfnOutput(this, outputId, { value, description });
    output('ApiUrl', this.httpApi.url, 'Base URL of the API; the SDK calls <ApiUrl>api/iap/…');
    output(
      'OperatorPolicyArn',
      this.httpApi.operatorPolicy.managedPolicyArn,
      'Attach to the role of the people who run support: allows the /admin/ routes (npm run admin) only',
    );
    output(
      'WebhookUrl',
      `${this.httpApi.url}attesto-webhook`,
      "Set as the webhook URL in Attesto's dashboard",
    );
    output(
      'ApiKeySecretArn',
      this.attestoSecrets.apiKey.secretArn,
      'Attesto API key: {"attestoApiKey":"…"} (verify, restore, consumer)',
    );
    output(
      'WebhookSecretsArn',
      this.attestoSecrets.webhookSecrets.secretArn,
      'Attesto webhook signing secrets: {"webhookSecrets":["current","previous?"]} (webhook function only)',
    );
    output('PurchasesTableName', this.tables.purchases.tableName, 'DynamoDB table: purchases');
    output('UserIdsTableName', this.tables.userIds.tableName, 'DynamoDB table: user-ids');
    output(
      'ProcessedEventsTableName',
      this.tables.processedEvents.tableName,
      'DynamoDB table: processed-events',
    );
    output('HistoryTableName', this.tables.history.tableName, 'DynamoDB table: history');
    output('WebhookQueueUrl', this.pipeline.queue.queueUrl, 'SQS queue of verified webhook events');
    output(
      'WebhookDlqUrl',
      this.pipeline.deadLetterQueue.queueUrl,
      'Events that failed 5 times; redrive after fixing',
    );
    if (config.notifications.apple.enabled)
      output(
        'AppleNotificationsUrl',
        `${this.httpApi.url}webhooks/apple`,
        'App Store Connect → App Store Server Notifications (Version 2): Production / Sandbox Server URL',
      );
    if (config.notifications.google.enabled)
      output(
        'GoogleNotificationsUrl',
        `${this.httpApi.url}webhooks/google`,
        'Endpoint of the authenticated Pub/Sub push subscription for Play notifications',
      );
    output('EventBusName', this.events.bus.eventBusName, 'EventBridge bus of entitlements.changed events');
    output(
      'EventBusArn',
      this.events.bus.eventBusArn,
      'EventBridge bus of entitlements.changed events (ARN)',
    );
    output(
      'EventsPublisherDlqUrl',
      this.events.publisherDlq.queueUrl,
      'Stream batches the events publisher gave up on (docs/events.md)',
    );
    if (this.events.deliveryQueue && this.events.deliveryDlq && this.events.webhookSecrets) {
      output('EventsWebhookQueueUrl', this.events.deliveryQueue.queueUrl, 'FIFO queue of outbound webhooks');
      output(
        'EventsWebhookDlqUrl',
        this.events.deliveryDlq.queueUrl,
        'Outbound webhooks that failed for a day; redrive with npm run dlq',
      );
      output(
        'EventsWebhookSecretsArn',
        this.events.webhookSecrets.secretArn,
        'Outbound webhook signing secrets: {"webhookSecrets":["whsec_current","whsec_previous?"]}',
      );
    }
    output('AlarmTopicArn', this.monitoring.topic.topicArn, 'SNS topic receiving alarm notifications');
    output('DashboardName', this.monitoring.dashboard.dashboardName, 'CloudWatch dashboard');
  }

  /** Settings of the direct store endpoints; the functions exist in every stage, routed only when enabled. */
  private wireStoreNotifications(config: StageConfig): void {
    const { apple, google } = config.notifications;
    if (apple.enabled) {
      const fn = this.functions['apple-notifications'];
      fn.addEnvironment('APPLE_ROOT_CERTIFICATES', appleRootCertificatesValue(apple));
      fn.addEnvironment('APPLE_ENVIRONMENTS', apple.environments.join(','));
      if (apple.appAppleId !== undefined) fn.addEnvironment('APPLE_APP_APPLE_ID', String(apple.appAppleId));
      fn.addEnvironment('APPLE_ONLINE_CHECKS', String(apple.onlineChecks));
    }
    if (google.enabled && google.pushServiceAccount) {
      const fn = this.functions['google-notifications'];
      // Google's default Audience is the push endpoint URL; a custom domain needs it set explicitly.
      fn.addEnvironment('GOOGLE_PUSH_AUDIENCE', google.audience ?? `${this.httpApi.url}webhooks/google`);
      fn.addEnvironment('GOOGLE_PUSH_SERVICE_ACCOUNT', google.pushServiceAccount);
    }
  }
}

/**
 * Builds the whole app from its context (`-c stage=…` and overrides) with the cdk-nag
 * AwsSolutions checks registered: any unacknowledged finding fails synth.
 */
export function buildIapBackendApp(app: App): IapBackendStack {
  const stage = parseStage(app.node.tryGetContext('stage'));
  const config = resolveStageConfig(stage, (key) => app.node.tryGetContext(key));
  refuseExampleValues(config);
  const stack = new IapBackendStack(app, stackName(stage), {
    config,
    description: `iap-backend (${stage}): in-app purchase verification and entitlements`,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
