// The HTTP API, built from THE route table (infra/routes.ts) so it cannot drift from the local
// runtime. Routes marked `auth: 'user'` get the JWT authorizer; `auth: 'operator'` routes get AWS
// IAM (SigV4), and the managed policy built here is the one way to be allowed to call them;
// `auth: 'none'` routes are public by design (the webhook proves itself with its HMAC signature,
// the catalog is public data).
import { Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnApi,
  type CfnRoute,
  type CfnStage,
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  type HttpRoute,
  type HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { CorsSettings } from '../cors';
import type { FunctionName } from '../functions';
import { operatorRoutes, type Route } from '../routes';
import type { Throttle } from '../stage/schema';
import { constructIdOf } from './function-factory';

// Why each route without the JWT authorizer may be public (cdk-nag AwsSolutions-APIG4).
const PUBLIC_ROUTE_REASONS: Partial<Record<FunctionName, string>> & { products: string } = {
  'attesto-webhook':
    'Attesto cannot send a JWT; the handler authenticates every request by its HMAC-SHA256 signature over the raw body before anything is queued.',
  'apple-notifications':
    "Apple cannot send a JWT; the handler verifies the notification's x5c chain to Apple's root, Apple's certificate OIDs, the ES256 signature, bundle id and environment before anything is queued.",
  'google-notifications':
    "Pub/Sub push sends Google's OIDC token, not the user pool's; the handler verifies its signature, issuer, audience and service-account email before anything is queued.",
  products:
    'Public by configuration (productsRequireAuth=false): the SDK loads the product catalog before login, and the catalog holds no user data.',
};

export interface ProductHttpApiProps {
  routes: Route[];
  functions: Record<FunctionName, IFunction>;
  auth: { issuer: string; audience: string[] };
  /** Same settings the local API emulator answers preflights with (infra/cors.ts). */
  cors: CorsSettings;
  /** The stage default: every route without its own limits below (the users' routes). */
  throttling: Throttle;
  /** Each public route's own limits; a route without the JWT authorizer must have them. */
  publicRouteThrottling: Partial<Record<FunctionName, Throttle>>;
  logRetention: RetentionDays;
  logRemovalPolicy: RemovalPolicy;
}

export class ProductHttpApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  /** Routes by `METHOD path`, for tests and outputs. */
  readonly routes = new Map<string, HttpRoute>();
  /** Allows `execute-api:Invoke` on the operator routes and nothing else; attach it to an operator role. */
  readonly operatorPolicy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: ProductHttpApiProps) {
    super(scope, id);
    this.api = new HttpApi(this, 'Api', {
      description: 'iap-backend: purchase verification and entitlements for @nossdev/iap apps',
      // Our own $default stage below, so throttling and access logs can be set on it.
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: props.cors.allowOrigins,
        allowMethods: props.cors.allowMethods.map((method) => CorsHttpMethod[method]),
        allowHeaders: props.cors.allowHeaders,
        maxAge: Duration.seconds(props.cors.maxAgeSeconds),
      },
    });

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttling,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationLatencyMs: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
            userAgent: '$context.identity.userAgent',
          }),
        ),
      },
    });

    const authorizer = new HttpJwtAuthorizer('UserJwt', props.auth.issuer, {
      jwtAudience: props.auth.audience,
    });
    const iamAuthorizer = new HttpIamAuthorizer();
    const integrations = new Map<FunctionName, HttpLambdaIntegration>();
    const cfnStage = this.stage.node.defaultChild as CfnStage;
    const routeSettings: Record<string, Throttle> = {};
    for (const route of props.routes) {
      let integration = integrations.get(route.fn);
      if (!integration) {
        integration = new HttpLambdaIntegration(
          `${constructIdOf(route.fn)}Integration`,
          props.functions[route.fn],
        );
        integrations.set(route.fn, integration);
      }
      const [created] = this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration,
        ...(route.auth === 'user' ? { authorizer } : {}),
        ...(route.auth === 'operator' ? { authorizer: iamAuthorizer } : {}),
      });
      if (!created) throw new Error(`No route created for ${route.method} ${route.path}`);
      this.routes.set(`${route.method} ${route.path}`, created);
      if (route.auth === 'none') {
        Validations.of(created).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: PUBLIC_ROUTE_REASONS[route.fn] ?? PUBLIC_ROUTE_REASONS.products,
        });
      }
      const own = props.publicRouteThrottling[route.fn];
      if (route.auth === 'none' && !own)
        throw new Error(`Public route ${route.method} ${route.path} has no throttling of its own`);
      if (own) routeSettings[`${route.method} ${route.path}`] = own;
      // Route settings name routes by key, so the stage must come after them.
      cfnStage.addDependency(created.node.defaultChild as CfnRoute);
    }
    // Public routes get buckets of their own: a flood of the webhook or the catalog is answered
    // 429 there, while users' routes keep the stage default.
    cfnStage.routeSettings = Object.fromEntries(
      Object.entries(routeSettings).map(([key, t]) => [
        key,
        { ThrottlingRateLimit: t.rateLimit, ThrottlingBurstLimit: t.burstLimit },
      ]),
    );

    const invokable = operatorRoutes(props.routes).map((route) =>
      // Any stage of this API (it has one, $default); the method and path are exact.
      this.api.arnForExecuteApi(route.method, route.path, '*'),
    );
    this.operatorPolicy = new ManagedPolicy(this, 'OperatorPolicy', {
      description: 'iap-backend support and operations: invoke the /admin/ routes of this API, nothing else',
      statements: [new PolicyStatement({ actions: ['execute-api:Invoke'], resources: invokable })],
    });
    // cdk-nag names each wildcard resource in its finding: one acknowledgement per route.
    const stack = Stack.of(this);
    const apiLogicalId = stack.resolve(stack.getLogicalId(this.api.node.defaultChild as CfnApi)) as string;
    for (const route of operatorRoutes(props.routes)) {
      Validations.of(this.operatorPolicy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiLogicalId}>/*/${route.method}${route.path}]`,
        reason:
          'The wildcard is the stage segment of the execute-api ARN only (this API has the single $default stage); the method and /admin/ path are exact.',
      });
    }
  }

  get url(): string {
    return this.stage.url;
  }
}
