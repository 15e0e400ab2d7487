import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { actionsOf, PROD_APP_SETTINGS, referencedIds, statementsOf, synthStage } from './synth';

// Built once per stage; every test below reads these templates.
const dev = synthStage({ stage: 'dev' });
const prod = synthStage({ stage: 'prod', ...PROD_APP_SETTINGS });

const resourcesOfType = (s: typeof dev, type: string) =>
  Object.entries(s.json.Resources).filter(([, r]) => r.Type === type);

// What the stack must hold, written out here rather than read from infra/: a test that derived
// its expectations from the definitions the stack is built from would pass whatever they said.
type FunctionName = keyof typeof dev.stack.functions;
const FUNCTION_NAMES: FunctionName[] = [
  'verify-apple',
  'verify-google',
  'entitlements',
  'restore',
  'products',
  'uuid',
  'attesto-webhook',
  'apple-notifications',
  'google-notifications',
  'webhook-consumer',
  'admin-customer',
  'admin-grant',
  'admin-revoke-grant',
  'admin-export',
  'admin-erase',
  'admin-transfer',
  'admin-resync',
  'events-publisher',
  'events-webhook',
  'reconcile',
];
/** The default routes: key, function, whether the JWT authorizer runs. */
const ROUTES: { key: string; fn: FunctionName; user: boolean }[] = [
  { key: 'POST /api/iap/verify/apple', fn: 'verify-apple', user: true },
  { key: 'POST /api/iap/verify/google', fn: 'verify-google', user: true },
  { key: 'GET /api/iap/entitlements', fn: 'entitlements', user: true },
  { key: 'POST /api/iap/restore', fn: 'restore', user: true },
  { key: 'GET /api/iap/products', fn: 'products', user: false },
  { key: 'POST /api/iap/uuid', fn: 'uuid', user: true },
  { key: 'GET /api/iap/uuid', fn: 'uuid', user: true },
  { key: 'POST /attesto-webhook', fn: 'attesto-webhook', user: false },
];
/** The operator routes: AWS IAM (SigV4), never the JWT authorizer, never public. */
const OPERATOR_ROUTES: { key: string; fn: FunctionName }[] = [
  { key: 'GET /admin/customer', fn: 'admin-customer' },
  { key: 'POST /admin/grants', fn: 'admin-grant' },
  { key: 'POST /admin/grants/revoke', fn: 'admin-revoke-grant' },
  { key: 'GET /admin/export', fn: 'admin-export' },
  { key: 'POST /admin/erase', fn: 'admin-erase' },
  { key: 'POST /admin/transfer', fn: 'admin-transfer' },
  { key: 'POST /admin/resync', fn: 'admin-resync' },
];

describe('HTTP API', () => {
  const routes = resourcesOfType(dev, 'AWS::ApiGatewayV2::Route');
  const routeByKey = new Map(routes.map(([, r]) => [r.Properties.RouteKey as string, r.Properties]));

  it('has exactly the default routes', () => {
    expect([...routeByKey.keys()].sort()).toEqual([...ROUTES, ...OPERATOR_ROUTES].map((r) => r.key).sort());
  });

  it.each([...ROUTES, ...OPERATOR_ROUTES])('$key → the $fn function', (route) => {
    const props = routeByKey.get(route.key);
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
    for (const route of ROUTES) {
      const props = routeByKey.get(route.key);
      if (route.user) {
        expect(props?.AuthorizationType, route.key).toBe('JWT');
        expect(props?.AuthorizerId, route.key).toEqual({ Ref: authorizerId });
      } else {
        expect(props?.AuthorizationType ?? 'NONE', route.key).toBe('NONE');
        expect(props?.AuthorizerId, route.key).toBeUndefined();
      }
    }
    expect(routeByKey.get('POST /attesto-webhook')?.AuthorizerId).toBeUndefined();
    expect(routeByKey.get('GET /api/iap/products')?.AuthorizerId).toBeUndefined();
  });

  it('authorises the /admin/ routes with AWS IAM, and only those', () => {
    for (const route of OPERATOR_ROUTES) {
      expect(routeByKey.get(route.key)?.AuthorizationType, route.key).toBe('AWS_IAM');
      expect(routeByKey.get(route.key)?.AuthorizerId, route.key).toBeUndefined();
    }
    const iamRoutes = [...routeByKey.entries()].filter(([, props]) => props.AuthorizationType === 'AWS_IAM');
    const adminKeys = [
      'GET /admin/customer',
      'GET /admin/export',
      'POST /admin/erase',
      'POST /admin/grants',
      'POST /admin/grants/revoke',
      'POST /admin/resync',
      'POST /admin/transfer',
    ];
    expect(iamRoutes.map(([key]) => key).sort()).toEqual(adminKeys);
    expect([...routeByKey.keys()].filter((key) => key.includes(' /admin/')).sort()).toEqual(adminKeys);
  });

  it('outputs a managed policy that allows invoking exactly the /admin/ routes', () => {
    const policies = resourcesOfType(dev, 'AWS::IAM::ManagedPolicy');
    expect(policies).toHaveLength(1);
    const [policyId, policy] = policies[0] as [string, { Properties: { PolicyDocument: unknown } }];
    const apiId = dev.logicalId(dev.stack.httpApi.api);
    expect(policy.Properties.PolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'execute-api:Invoke',
          Resource: [
            '/*/GET/admin/customer',
            '/*/POST/admin/grants',
            '/*/POST/admin/grants/revoke',
            '/*/GET/admin/export',
            '/*/POST/admin/erase',
            '/*/POST/admin/transfer',
            '/*/POST/admin/resync',
          ]
            .sort()
            .map((route) => ({
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':execute-api:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':',
                  { Ref: apiId },
                  route,
                ],
              ],
            })),
        },
      ],
    });
    // Attached to nobody by the stack: the operator's own role gets it.
    expect(policy.Properties).not.toHaveProperty('Roles');
    expect(policy.Properties).not.toHaveProperty('Users');
    expect(dev.json.Outputs?.OperatorPolicyArn.Value).toEqual({ Ref: policyId });
  });

  it('checks issuer and audience from the stage config', () => {
    dev.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      // The placeholders a stage ships with until its owner sets the -c auth overrides.
      JwtConfiguration: { Issuer: 'https://auth.example.com/', Audience: ['iap-backend'] },
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

  it('answers CORS preflights for the Capacitor and Ionic origins with GET/POST and the SDK headers', () => {
    dev.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: {
        AllowOrigins: ['capacitor://localhost', 'ionic://localhost', 'https://localhost', 'http://localhost'],
        AllowMethods: ['GET', 'POST'],
        AllowHeaders: ['authorization', 'content-type'],
      },
    });
  });

  it('throttles the default stage and writes JSON access logs', () => {
    for (const [s, rateLimit, burstLimit] of [
      [dev, 50, 100],
      [prod, 500, 1000],
    ] as const) {
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
    ...PROD_APP_SETTINGS,
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
    expect(consumer.Timeout).toBe(30);
    expect(queue.VisibilityTimeout).toBe(180);
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * consumer.Timeout);
  });

  it('feeds the consumer in batches of 10 with partial batch failures and bounded concurrency', () => {
    // The other mapping is the outbox stream's (test/infra/outbound-events.test.ts).
    dev.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    dev.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionName: { Ref: dev.logicalId(dev.stack.functions['webhook-consumer']) },
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    const limited = synthStage({ stage: 'dev', consumerMaxConcurrency: '3' });
    limited.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 3 },
    });
  });
});

describe('tables', () => {
  it.each([
    { key: 'purchases', indexes: ['byUser', 'checkDue'], ttl: undefined },
    { key: 'userIds', indexes: [], ttl: undefined },
    { key: 'processedEvents', indexes: [], ttl: 'ttl' },
    { key: 'rateLimits', indexes: [], ttl: 'ttl' },
  ] as const)('$key: keyed by pk, indexes $indexes, TTL on $ttl, PITR on', ({ key, indexes, ttl }) => {
    const construct = dev.stack.tables.byKey[key].table;
    const props = dev.json.Resources[dev.logicalId(construct)]?.Properties;
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
    expect(props.TableName).toBeUndefined();
    expect(props.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect((props.GlobalSecondaryIndexes ?? []).map((i: { IndexName: string }) => i.IndexName)).toEqual(
      indexes,
    );
    expect(props.TimeToLiveSpecification).toEqual(ttl ? { AttributeName: ttl, Enabled: true } : undefined);
    expect(props.Replicas[0].PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  it('keeps history by purchase and write number, indexed by owner and previous owner, with a TTL it uses only when a retention is set', () => {
    const props = dev.json.Resources[dev.logicalId(dev.stack.tables.history)]?.Properties;
    expect(props.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(
      props.GlobalSecondaryIndexes.map((i: { IndexName: string; KeySchema: unknown }) => [
        i.IndexName,
        i.KeySchema,
      ]),
    ).toEqual([
      [
        'byUser',
        [
          { AttributeName: 'userId', KeyType: 'HASH' },
          { AttributeName: 'at', KeyType: 'RANGE' },
        ],
      ],
      [
        'byPreviousUser',
        [
          { AttributeName: 'previousUserId', KeyType: 'HASH' },
          { AttributeName: 'at', KeyType: 'RANGE' },
        ],
      ],
    ]);
    expect(props.TimeToLiveSpecification).toEqual({ AttributeName: 'ttl', Enabled: true });
    expect(props.Replicas[0].PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    // Kept forever by default: no function is told a retention.
    for (const fn of Object.values(dev.stack.functions)) {
      const variables = dev.json.Resources[dev.logicalId(fn)]?.Properties.Environment.Variables;
      expect(variables.HISTORY_RETENTION_DAYS, fn.node.id).toBeUndefined();
    }
    const kept = synthStage({ stage: 'dev', historyRetentionDays: '730' });
    kept.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ HISTORY_RETENTION_DAYS: '730' }) },
    });
    expect(() => synthStage({ stage: 'dev', historyRetentionDays: '0' })).toThrow(/historyRetentionDays/);
  });

  it('indexes purchases by user (userId, pk) and by when they are due for a check (checkDue, checkAt)', () => {
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
        {
          IndexName: 'checkDue',
          KeySchema: [
            { AttributeName: 'checkDue', KeyType: 'HASH' },
            { AttributeName: 'checkAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it('the outbox of outbound events streams each new image, so events leave in order per user', () => {
    dev.template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    });
  });

  it('prod retains every table with deletion protection; dev destroys them', () => {
    const prodTables = resourcesOfType(prod, 'AWS::DynamoDB::GlobalTable');
    const devTables = resourcesOfType(dev, 'AWS::DynamoDB::GlobalTable');
    expect(prodTables).toHaveLength(6);
    expect(devTables).toHaveLength(6);
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
  const clientApi: FunctionName[] = ['entitlements', 'restore', 'uuid', 'verify-apple', 'verify-google'];

  it('builds exactly the product functions', () => {
    expect(Object.keys(dev.stack.functions).sort()).toEqual([...FUNCTION_NAMES].sort());
  });

  it('runs every function on Node 24 arm64 with tracing, source maps and its own log group', () => {
    for (const name of FUNCTION_NAMES) {
      const props = dev.json.Resources[dev.logicalId(dev.stack.functions[name])]?.Properties;
      expect(props.Runtime, name).toBe('nodejs24.x');
      expect(props.Architectures, name).toEqual(['arm64']);
      expect(props.TracingConfig, name).toEqual({ Mode: 'Active' });
      expect(props.Handler, name).toBe('index.handler');
      expect(props.Environment.Variables, name).toMatchObject({
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'iap-backend',
        ATTESTO_URL: 'https://api-staging.attesto.nossdev.com',
      });
      const [logGroupId] = referencedIds(props.LoggingConfig.LogGroup);
      expect(dev.json.Resources[logGroupId ?? '']?.Properties.RetentionInDays, name).toBe(7);
    }
    const prodFn = prod.json.Resources[prod.logicalId(prod.stack.functions.restore)]?.Properties;
    expect(
      prod.json.Resources[referencedIds(prodFn.LoggingConfig.LogGroup)[0] ?? '']?.Properties.RetentionInDays,
    ).toBe(180);
  });

  const verifying = ['purchases', 'userIds', 'rateLimits'] as const;
  it.each([
    { name: 'verify-apple', tables: verifying },
    { name: 'verify-google', tables: verifying },
    { name: 'entitlements', tables: ['purchases'] },
    { name: 'restore', tables: verifying },
    { name: 'products', tables: [] },
    { name: 'uuid', tables: ['userIds'] },
    { name: 'attesto-webhook', tables: [] },
    { name: 'apple-notifications', tables: [] },
    { name: 'google-notifications', tables: [] },
    { name: 'webhook-consumer', tables: ['purchases', 'userIds', 'processedEvents'] },
  ] as { name: FunctionName; tables: readonly (keyof typeof tableIds)[] }[])(
    '$name is told the names of exactly its tables, and may touch only those',
    (def) => {
      // The actions themselves are pinned in least-privilege.test.ts.
      const envVars = {
        purchases: 'PURCHASES_TABLE',
        userIds: 'USER_IDS_TABLE',
        processedEvents: 'PROCESSED_EVENTS_TABLE',
        rateLimits: 'RATE_LIMITS_TABLE',
      } as const;
      const fn = dev.stack.functions[def.name];
      const statements = statementsOf(dev, fn).filter((st) =>
        actionsOf([st]).some((a) => a.startsWith('dynamodb:')),
      );
      const variables = dev.json.Resources[dev.logicalId(fn)]?.Properties.Environment.Variables;
      for (const [key, id] of Object.entries(tableIds) as [keyof typeof tableIds, string][]) {
        const listed = def.tables.includes(key);
        const onTable = statements.filter((st) => referencedIds(st.Resource).includes(id));
        expect(referencedIds(variables[envVars[key]]), `${def.name} env for ${key}`).toEqual(
          listed ? [id] : [],
        );
        expect(onTable.length > 0, `${def.name} on ${key}`).toBe(listed);
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
    for (const name of [...clientApi, 'products'] as const) {
      const statements = statementsOf(dev, dev.stack.functions[name]);
      expect(
        actionsOf(statements).filter((a) => a.startsWith('sqs:')),
        name,
      ).toEqual([]);
    }
    const consumer = statementsOf(dev, dev.stack.functions['webhook-consumer']);
    expect(actionsOf(consumer.filter((st) => referencedIds(st.Resource).includes(queueId)))).toContain(
      'sqs:ReceiveMessage',
    );
    expect(actionsOf(consumer)).not.toContain('sqs:SendMessage');
  });

  it('lets the webhook read only the signing secrets, and verify, restore, the consumer and reconciliation only the API key', () => {
    const readers = { attestoApiKey: [] as string[], attestoWebhookSecrets: [] as string[] };
    const envVars = {
      attestoApiKey: 'ATTESTO_API_KEY_SECRET_ARN',
      attestoWebhookSecrets: 'ATTESTO_WEBHOOK_SECRETS_ARN',
    };
    for (const name of FUNCTION_NAMES) {
      const fn = dev.stack.functions[name];
      const variables = dev.json.Resources[dev.logicalId(fn)]?.Properties.Environment.Variables;
      expect(variables.ATTESTO_SECRET_ARN, name).toBeUndefined();
      for (const key of ['attestoApiKey', 'attestoWebhookSecrets'] as const) {
        const reads = statementsOf(dev, fn).filter(
          (st) =>
            actionsOf([st]).includes('secretsmanager:GetSecretValue') &&
            referencedIds(st.Resource).includes(secretIds[key]),
        );
        if (reads.length > 0) readers[key].push(name);
        expect(referencedIds(variables[envVars[key]]), `${name} ${key}`).toEqual(
          reads.length > 0 ? [secretIds[key]] : [],
        );
      }
    }
    expect(readers.attestoApiKey.sort()).toEqual([
      'admin-resync',
      'reconcile',
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
    for (const name of FUNCTION_NAMES) {
      for (const st of statementsOf(dev, dev.stack.functions[name])) {
        if (st.Resource === '*')
          expect(
            actionsOf([st]).every((a) => a.startsWith('xray:')),
            name,
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
    // Throttles take one alarm per 10 functions (metric math combines at most 10 metrics); three
    // watch the events publisher (test/infra/outbound-events.test.ts) and two reconciliation.
    expect(alarms).toHaveLength(10);
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
    const mailed = synthStage({ stage: 'prod', ...PROD_APP_SETTINGS, alarmEmail: 'ops@example.org' });
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
        'OperatorPolicyArn',
      ]),
    );
    expect(JSON.stringify(dev.json.Outputs?.WebhookUrl.Value)).toContain('attesto-webhook');
  });

  it('names the stack after the stage', () => {
    expect(dev.stack.stackName).toBe('IapBackend-dev');
    expect(prod.stack.stackName).toBe('IapBackend-prod');
  });
});
