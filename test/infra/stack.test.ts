import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { functions } from '../../infra/functions';
import { CONSUMER_TIMEOUT_SECONDS, tables, webhookQueue } from '../../infra/resources';
import { routeTable } from '../../infra/routes';
import { stageConfigs } from '../../infra/stage/values';
import { actionsOf, referencedIds, statementsOf, synthStage } from './synth';

// Built once per stage; every test below reads these templates.
const dev = synthStage({ stage: 'dev' });
const prod = synthStage({ stage: 'prod' });

const resourcesOfType = (s: typeof dev, type: string) =>
  Object.entries(s.json.Resources).filter(([, r]) => r.Type === type);

describe('HTTP API', () => {
  const routes = resourcesOfType(dev, 'AWS::ApiGatewayV2::Route');
  const routeByKey = new Map(routes.map(([, r]) => [r.Properties.RouteKey as string, r.Properties]));

  it('has exactly the routes of the route table', () => {
    const expected = routeTable().map((r) => `${r.method} ${r.path}`);
    expect([...routeByKey.keys()].sort()).toEqual([...expected].sort());
  });

  it.each(routeTable())('$method $path → the $fn function', (route) => {
    const props = routeByKey.get(`${route.method} ${route.path}`);
    const [integrationId] = referencedIds(props?.Target);
    const integration = dev.json.Resources[integrationId ?? ''];
    expect(integration?.Type).toBe('AWS::ApiGatewayV2::Integration');
    expect(integration?.Properties.IntegrationType).toBe('AWS_PROXY');
    expect(referencedIds(integration?.Properties.IntegrationUri)).toEqual([
      dev.logicalId(dev.stack.functions[route.fn]),
    ]);
  });

  it('puts the JWT authorizer on every user route and on no public route', () => {
    const [authorizerId] = resourcesOfType(dev, 'AWS::ApiGatewayV2::Authorizer').map(([id]) => id);
    for (const route of routeTable()) {
      const props = routeByKey.get(`${route.method} ${route.path}`);
      if (route.auth === 'user') {
        expect(props?.AuthorizationType, route.path).toBe('JWT');
        expect(props?.AuthorizerId, route.path).toEqual({ Ref: authorizerId });
      } else {
        expect(props?.AuthorizationType ?? 'NONE', route.path).toBe('NONE');
        expect(props?.AuthorizerId, route.path).toBeUndefined();
      }
    }
    expect(routeByKey.get('POST /attesto-webhook')?.AuthorizerId).toBeUndefined();
    expect(routeByKey.get('GET /api/iap/products')?.AuthorizerId).toBeUndefined();
  });

  it('checks issuer and audience from the stage config', () => {
    dev.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: stageConfigs.dev.auth.issuer, Audience: stageConfigs.dev.auth.audience },
    });
  });

  it('protects products when the stage requires it', () => {
    const guarded = synthStage({ stage: 'dev', productsRequireAuth: 'true' });
    guarded.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'GET /api/iap/products',
      AuthorizationType: 'JWT',
    });
    guarded.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ PRODUCTS_REQUIRE_AUTH: 'true' }) },
    });
  });

  it('answers CORS preflights for the Capacitor origins with GET/POST and the SDK headers', () => {
    dev.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: {
        AllowOrigins: ['capacitor://localhost', 'https://localhost', 'http://localhost'],
        AllowMethods: ['GET', 'POST'],
        AllowHeaders: ['authorization', 'content-type'],
      },
    });
  });

  it('throttles the default stage and writes JSON access logs', () => {
    for (const s of [dev, prod]) {
      const { rateLimit, burstLimit } = s.stack.config.throttling;
      s.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: rateLimit, ThrottlingBurstLimit: burstLimit },
        AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.anyValue() },
      });
    }
    const [stage] = resourcesOfType(dev, 'AWS::ApiGatewayV2::Stage');
    const format = JSON.parse(stage?.[1].Properties.AccessLogSettings.Format);
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
  });
});

describe('throttling and concurrency', () => {
  const stageOf = (s: typeof dev) => resourcesOfType(s, 'AWS::ApiGatewayV2::Stage')[0]?.[1].Properties;
  const staging = synthStage({ stage: 'staging' });
  const withStoreRoutes = synthStage({
    stage: 'prod',
    googleNotifications: 'true',
    googlePushServiceAccount: 'rtdn-push@example-project.iam.gserviceaccount.com',
  });

  it("gives users' routes the stage default: 50/100 dev, 100/200 staging, 500/1000 prod", () => {
    expect(stageOf(dev).DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
    expect(stageOf(staging).DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: 100,
      ThrottlingBurstLimit: 200,
    });
    expect(stageOf(prod).DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: 500,
      ThrottlingBurstLimit: 1000,
    });
  });

  it('gives each public route its own limits, per stage, and no user route any', () => {
    expect(stageOf(dev).RouteSettings).toEqual({
      'POST /attesto-webhook': { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      'GET /api/iap/products': { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
    });
    expect(stageOf(staging).RouteSettings).toEqual({
      'POST /attesto-webhook': { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      'GET /api/iap/products': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
    expect(stageOf(prod).RouteSettings).toEqual({
      'POST /attesto-webhook': { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      'GET /api/iap/products': { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 },
    });
    expect(stageOf(withStoreRoutes).RouteSettings).toEqual({
      'POST /attesto-webhook': { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      'GET /api/iap/products': { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 },
      'POST /webhooks/google': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });

  it('creates the stage after the routes its settings name', () => {
    const [stageId, stage] = resourcesOfType(dev, 'AWS::ApiGatewayV2::Stage')[0] ?? [];
    const routeIds = resourcesOfType(dev, 'AWS::ApiGatewayV2::Route').map(([id]) => id);
    expect(stageId).toBeDefined();
    expect([...(stage?.DependsOn ?? [])].sort()).toEqual(expect.arrayContaining(routeIds.sort()));
  });

  it('keeps concurrency for the consumer (5) and the Attesto webhook (5 dev and staging, 20 prod)', () => {
    const reservedOf = (s: typeof dev, name: 'webhook-consumer' | 'attesto-webhook' | 'verify-apple') =>
      s.json.Resources[s.logicalId(s.stack.functions[name])]?.Properties.ReservedConcurrentExecutions;
    expect([dev, staging, prod].map((s) => reservedOf(s, 'webhook-consumer'))).toEqual([5, 5, 5]);
    expect([dev, staging, prod].map((s) => reservedOf(s, 'attesto-webhook'))).toEqual([5, 5, 20]);
    expect(reservedOf(prod, 'verify-apple')).toBeUndefined();
    const none = synthStage({
      stage: 'dev',
      consumerReservedConcurrency: '0',
      webhookReservedConcurrency: '0',
    });
    expect(reservedOf(none, 'webhook-consumer')).toBeUndefined();
    expect(reservedOf(none, 'attesto-webhook')).toBeUndefined();
  });
});

describe('webhook pipeline', () => {
  const queueId = dev.logicalId(dev.stack.pipeline.queue);
  const dlqId = dev.logicalId(dev.stack.pipeline.deadLetterQueue);
  const queue = dev.json.Resources[queueId]?.Properties;
  const dlq = dev.json.Resources[dlqId]?.Properties;

  it('redrives to an encrypted DLQ after 5 receives and keeps failures 14 days', () => {
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
      maxReceiveCount: 5,
    });
    expect(queue.SqsManagedSseEnabled).toBe(true);
    expect(dlq.SqsManagedSseEnabled).toBe(true);
    expect(dlq.MessageRetentionPeriod).toBe(14 * 24 * 3600);
  });

  it('denies non-TLS access to both queues', () => {
    for (const id of [queueId, dlqId]) {
      dev.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('keeps a message invisible at least 6× the consumer timeout', () => {
    const consumer = dev.json.Resources[dev.logicalId(dev.stack.functions['webhook-consumer'])]?.Properties;
    expect(consumer.Timeout).toBe(CONSUMER_TIMEOUT_SECONDS);
    expect(queue.VisibilityTimeout).toBe(webhookQueue.visibilityTimeoutSeconds);
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * consumer.Timeout);
  });

  it('feeds the consumer in batches of 10 with partial batch failures and bounded concurrency', () => {
    dev.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    dev.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionName: { Ref: dev.logicalId(dev.stack.functions['webhook-consumer']) },
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: webhookQueue.maxBatchingWindowSeconds,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: stageConfigs.dev.consumerMaxConcurrency },
    });
    const limited = synthStage({ stage: 'dev', consumerMaxConcurrency: '3' });
    limited.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 3 },
    });
  });
});

describe('tables', () => {
  it.each(tables)('$localName: keys, indexes, TTL and PITR from infra/resources.ts', (def) => {
    const keys = {
      Purchases: 'purchases',
      UserIds: 'userIds',
      ProcessedEvents: 'processedEvents',
      RateLimits: 'rateLimits',
    } as const;
    const construct = dev.stack.tables.byKey[keys[def.id]].table;
    const props = dev.json.Resources[dev.logicalId(construct)]?.Properties;
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
    expect(props.TableName).toBeUndefined();
    expect(props.KeySchema).toEqual([{ AttributeName: def.partitionKey.name, KeyType: 'HASH' }]);
    expect((props.GlobalSecondaryIndexes ?? []).map((i: { IndexName: string }) => i.IndexName)).toEqual(
      def.globalSecondaryIndexes.map((i) => i.indexName),
    );
    expect(props.TimeToLiveSpecification).toEqual(
      def.timeToLiveAttribute ? { AttributeName: def.timeToLiveAttribute, Enabled: true } : undefined,
    );
    expect(props.Replicas[0].PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  it('indexes purchases by user (userId, pk)', () => {
    dev.template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byUser',
          KeySchema: [
            { AttributeName: 'userId', KeyType: 'HASH' },
            { AttributeName: 'pk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it('prod retains every table with deletion protection; dev destroys them', () => {
    const prodTables = resourcesOfType(prod, 'AWS::DynamoDB::GlobalTable');
    const devTables = resourcesOfType(dev, 'AWS::DynamoDB::GlobalTable');
    expect(prodTables).toHaveLength(4);
    expect(devTables).toHaveLength(4);
    for (const [, t] of prodTables) {
      expect(t.DeletionPolicy).toBe('Retain');
      expect(t.UpdateReplacePolicy).toBe('Retain');
      expect(t.Properties.Replicas[0].DeletionProtectionEnabled).toBe(true);
    }
    for (const [, t] of devTables) {
      expect(t.DeletionPolicy).toBe('Delete');
      expect(t.Properties.Replicas[0].DeletionProtectionEnabled).toBe(false);
    }
    const prodSecrets = resourcesOfType(prod, 'AWS::SecretsManager::Secret');
    expect(prodSecrets.map(([, r]) => r.DeletionPolicy)).toEqual(['Retain', 'Retain']);
  });
});

describe('functions', () => {
  const tableIds = {
    purchases: dev.logicalId(dev.stack.tables.purchases),
    userIds: dev.logicalId(dev.stack.tables.userIds),
    processedEvents: dev.logicalId(dev.stack.tables.processedEvents),
    rateLimits: dev.logicalId(dev.stack.tables.rateLimits),
  };
  const queueId = dev.logicalId(dev.stack.pipeline.queue);
  const secretIds = {
    attestoApiKey: dev.logicalId(dev.stack.attestoSecrets.apiKey as never),
    attestoWebhookSecrets: dev.logicalId(dev.stack.attestoSecrets.webhookSecrets as never),
  };
  const clientApi = Object.values(functions).filter((d) =>
    routeTable().some((r) => r.fn === d.name && r.auth === 'user'),
  );

  it('runs every function on Node 22 arm64 with tracing, source maps and its own log group', () => {
    for (const def of Object.values(functions)) {
      const props = dev.json.Resources[dev.logicalId(dev.stack.functions[def.name])]?.Properties;
      expect(props.Runtime, def.name).toBe('nodejs22.x');
      expect(props.Architectures, def.name).toEqual(['arm64']);
      expect(props.TracingConfig, def.name).toEqual({ Mode: 'Active' });
      expect(props.Handler, def.name).toBe('index.handler');
      expect(props.Environment.Variables, def.name).toMatchObject({
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'iap-backend',
        ATTESTO_URL: stageConfigs.dev.attesto.url,
      });
      const [logGroupId] = referencedIds(props.LoggingConfig.LogGroup);
      expect(dev.json.Resources[logGroupId ?? '']?.Properties.RetentionInDays, def.name).toBe(7);
    }
    const prodFn = prod.json.Resources[prod.logicalId(prod.stack.functions.restore)]?.Properties;
    expect(
      prod.json.Resources[referencedIds(prodFn.LoggingConfig.LogGroup)[0] ?? '']?.Properties.RetentionInDays,
    ).toBe(180);
  });

  it.each(Object.values(functions))(
    '$name is told the names of exactly the tables its definition lists',
    (def) => {
      // The actions themselves are pinned in least-privilege.test.ts.
      const fn = dev.stack.functions[def.name];
      const statements = statementsOf(dev, fn).filter((st) =>
        actionsOf([st]).some((a) => a.startsWith('dynamodb:')),
      );
      const variables = dev.json.Resources[dev.logicalId(fn)]?.Properties.Environment.Variables;
      for (const [key, id] of Object.entries(tableIds) as [keyof typeof tableIds, string][]) {
        const onTable = statements.filter((st) => referencedIds(st.Resource).includes(id));
        const envVar = tables.find((t) => referencedIds(variables[t.envVar]).includes(id))?.envVar;
        expect(envVar !== undefined, `${def.name} env for ${key}`).toBe(def.tables[key] !== undefined);
        expect(onTable.length > 0, `${def.name} on ${key}`).toBe(def.tables[key] !== undefined);
      }
    },
  );

  it('lets the webhook function send to the queue and touch no table', () => {
    const statements = statementsOf(dev, dev.stack.functions['attesto-webhook']);
    expect(actionsOf(statements).filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
    const toQueue = statements.filter((st) => referencedIds(st.Resource).includes(queueId));
    expect(actionsOf(toQueue)).toContain('sqs:SendMessage');
    expect(actionsOf(toQueue)).not.toContain('sqs:ReceiveMessage');
    expect(
      referencedIds(
        dev.json.Resources[dev.logicalId(dev.stack.functions['attesto-webhook'])]?.Properties.Environment
          .Variables.WEBHOOK_QUEUE_URL,
      ),
    ).toEqual([queueId]);
  });

  it('gives client-API functions no access to the queue; only the consumer receives', () => {
    expect(clientApi.map((d) => d.name).sort()).toEqual(
      ['entitlements', 'restore', 'uuid', 'verify-apple', 'verify-google'].sort(),
    );
    for (const def of [...clientApi, functions.products]) {
      const statements = statementsOf(dev, dev.stack.functions[def.name]);
      expect(
        actionsOf(statements).filter((a) => a.startsWith('sqs:')),
        def.name,
      ).toEqual([]);
    }
    const consumer = statementsOf(dev, dev.stack.functions['webhook-consumer']);
    expect(actionsOf(consumer.filter((st) => referencedIds(st.Resource).includes(queueId)))).toContain(
      'sqs:ReceiveMessage',
    );
    expect(actionsOf(consumer)).not.toContain('sqs:SendMessage');
  });

  it('lets the webhook read only the signing secrets, and verify, restore and the consumer only the API key', () => {
    const readers = { attestoApiKey: [] as string[], attestoWebhookSecrets: [] as string[] };
    const envVars = {
      attestoApiKey: 'ATTESTO_API_KEY_SECRET_ARN',
      attestoWebhookSecrets: 'ATTESTO_WEBHOOK_SECRETS_ARN',
    };
    for (const def of Object.values(functions)) {
      const fn = dev.stack.functions[def.name];
      const variables = dev.json.Resources[dev.logicalId(fn)]?.Properties.Environment.Variables;
      expect(variables.ATTESTO_SECRET_ARN, def.name).toBeUndefined();
      for (const key of ['attestoApiKey', 'attestoWebhookSecrets'] as const) {
        const reads = statementsOf(dev, fn).filter(
          (st) =>
            actionsOf([st]).includes('secretsmanager:GetSecretValue') &&
            referencedIds(st.Resource).includes(secretIds[key]),
        );
        if (reads.length > 0) readers[key].push(def.name);
        expect(referencedIds(variables[envVars[key]]), `${def.name} ${key}`).toEqual(
          reads.length > 0 ? [secretIds[key]] : [],
        );
      }
    }
    expect(readers.attestoApiKey.sort()).toEqual([
      'restore',
      'verify-apple',
      'verify-google',
      'webhook-consumer',
    ]);
    expect(readers.attestoWebhookSecrets).toEqual(['attesto-webhook']);
    expect(
      actionsOf(statementsOf(dev, dev.stack.functions.products)).some((a) => a.startsWith('secretsmanager:')),
    ).toBe(false);
  });

  it('grants wildcard resources only for X-Ray', () => {
    for (const def of Object.values(functions)) {
      for (const st of statementsOf(dev, dev.stack.functions[def.name])) {
        if (st.Resource === '*')
          expect(
            actionsOf([st]).every((a) => a.startsWith('xray:')),
            def.name,
          ).toBe(true);
      }
    }
  });
});

describe('secrets', () => {
  it('creates two fail-closed placeholder secrets by default: the API key and the webhook secrets', () => {
    const templates = resourcesOfType(dev, 'AWS::SecretsManager::Secret').map(
      ([, r]) => r.Properties.GenerateSecretString.SecretStringTemplate,
    );
    expect(templates.sort()).toEqual([
      JSON.stringify({ attestoApiKey: 'REPLACE_WITH_ATTESTO_API_KEY' }),
      JSON.stringify({ webhookSecrets: [] }),
    ]);
  });

  it('imports existing secrets by ARN instead of creating them', () => {
    const keyArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:iap/attesto-api-key-AbC123';
    const hooksArn =
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:iap/attesto-webhook-secrets-XyZ789';
    const imported = synthStage({
      stage: 'staging',
      attestoApiKeySecretArn: keyArn,
      attestoWebhookSecretsArn: hooksArn,
    });
    imported.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const variablesOf = (name: 'verify-apple' | 'attesto-webhook') =>
      imported.json.Resources[imported.logicalId(imported.stack.functions[name])]?.Properties.Environment
        .Variables;
    expect(variablesOf('verify-apple').ATTESTO_API_KEY_SECRET_ARN).toBe(keyArn);
    expect(variablesOf('verify-apple').ATTESTO_WEBHOOK_SECRETS_ARN).toBeUndefined();
    expect(variablesOf('attesto-webhook').ATTESTO_WEBHOOK_SECRETS_ARN).toBe(hooksArn);
    expect(variablesOf('attesto-webhook').ATTESTO_API_KEY_SECRET_ARN).toBeUndefined();
    imported.template.hasOutput('ApiKeySecretArn', { Value: keyArn });
    imported.template.hasOutput('WebhookSecretsArn', { Value: hooksArn });
  });

  it('refuses the single secret of earlier versions and points at the migration', () => {
    expect(() =>
      synthStage({
        stage: 'dev',
        attestoSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:iap/attesto-AbC123',
      }),
    ).toThrow(
      /attestoApiKeySecretArn=… and -c attestoWebhookSecretsArn=…; see "Moving an existing stack to two secrets"/,
    );
  });
});

describe('monitoring and outputs', () => {
  it('alarms on a non-empty DLQ, consumer errors, API 5xx rate and throttles, all to the topic', () => {
    const topicId = dev.logicalId(dev.stack.monitoring.topic);
    const alarms = resourcesOfType(dev, 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
    expect(alarms).toHaveLength(4);
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
    dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [dev.logicalId(dev.stack.pipeline.deadLetterQueue), 'QueueName'] },
        },
      ],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [
        { Name: 'FunctionName', Value: { Ref: dev.logicalId(dev.stack.functions['webhook-consumer']) } },
      ],
    });
    dev.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    dev.template.resourceCountIs('AWS::SNS::Subscription', 0);
    const mailed = synthStage({ stage: 'prod', alarmEmail: 'ops@example.org' });
    mailed.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.org',
    });
  });

  it('exports the URLs, names and ARNs an operator needs', () => {
    const outputs = Object.keys(dev.json.Outputs ?? {});
    expect(outputs).toEqual(
      expect.arrayContaining([
        'ApiUrl',
        'WebhookUrl',
        'ApiKeySecretArn',
        'WebhookSecretsArn',
        'PurchasesTableName',
        'UserIdsTableName',
        'ProcessedEventsTableName',
        'WebhookQueueUrl',
        'WebhookDlqUrl',
      ]),
    );
    expect(JSON.stringify(dev.json.Outputs?.WebhookUrl.Value)).toContain('attesto-webhook');
  });

  it('names the stack after the stage', () => {
    expect(dev.stack.stackName).toBe('IapBackend-dev');
    expect(prod.stack.stackName).toBe('IapBackend-prod');
  });
});
