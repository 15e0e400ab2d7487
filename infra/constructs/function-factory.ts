// The one way a Lambda of this product is built. Runtime, bundling, logs and tracing are fixed
// here; what a function may touch comes only from its entry in infra/functions.ts, and each access
// is granted together with the environment variable that tells the code where to find it, so a
// function never holds a permission its definition does not ask for.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { TableDef } from '../../shared/store/tables';
import {
  type FunctionDef,
  type SecretKey,
  type TableAccess,
  type TableKey,
  timeoutSecondsOf,
} from '../functions';
import { webhookQueue } from '../resources';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const SERVICE_NAME = 'iap-backend';
export const METRICS_NAMESPACE = 'IapBackend';
export const DEFAULT_MEMORY_MB = 256;
/**
 * The newest Node.js Lambda runtime; the bundle's syntax target follows it so esbuild never
 * down-levels code the runtime runs natively. Local development stays on Node 20.19+: the handlers
 * use nothing newer than Node 20 offers, which the bundling test checks by loading a bundle.
 */
export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;
export const BUNDLE_TARGET = 'node24';
/** Variables holding each Attesto secret's ARN; when set they win over the plain ATTESTO_* variables. */
export const SECRET_ENV_VARS: Record<SecretKey, string> = {
  attestoApiKey: 'ATTESTO_API_KEY_SECRET_ARN',
  attestoWebhookSecrets: 'ATTESTO_WEBHOOK_SECRETS_ARN',
  eventsWebhookSecrets: 'EVENTS_WEBHOOK_SECRETS_ARN',
};

// The bundle is ESM, but a few bundled CommonJS dependencies call require() for Node built-ins.
const ESM_REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

// Node 18+ has fetch: node-fetch (pulled in by Apple's verifier, with whatwg-url and tr46,
// ~300 KB) is replaced by a shim over the built-in one. esbuild resolves an alias from its
// working directory, which is the project root when CDK bundles locally.
const NODE_FETCH_SHIM = './infra/bundling/node-fetch-shim.ts';

export type { TableKey };

export interface BoundTable {
  table: ITableV2;
  def: TableDef;
}

/** Everything a function definition can ask for. A definition that asks for a missing one fails synth. */
export interface FunctionResources {
  tables: Record<TableKey, BoundTable>;
  queue?: IQueue;
  secrets?: Partial<Record<SecretKey, ISecret>>;
}

export interface ProductFunctionProps {
  def: FunctionDef;
  resources: FunctionResources;
  logRetention: RetentionDays;
  logRemovalPolicy: RemovalPolicy;
  /** Concurrency kept for this function alone, which is also its ceiling; unset: the shared pool. */
  reservedConcurrency?: number;
  /** Settings shared by all functions (Attesto URL, store ids, policies); bound resources win over these. */
  environment?: Record<string, string>;
  defaultEnvironment?: Record<string, string>;
}

export function constructIdOf(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

function entryOf(name: string): string {
  return join(PROJECT_ROOT, 'functions', name, 'handler.ts');
}

export class ProductFunction extends NodejsFunction {
  readonly def: FunctionDef;

  constructor(scope: Construct, props: ProductFunctionProps) {
    const { def } = props;
    const id = `${constructIdOf(def.name)}Fn`;
    // An explicit log group (not the legacy logRetention custom resource) so retention and
    // removal follow the stage.
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    const base: NodejsFunctionProps = {
      entry: entryOf(def.name),
      handler: 'handler',
      description: def.description,
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: def.memoryMb ?? DEFAULT_MEMORY_MB,
      timeout: Duration.seconds(timeoutSecondsOf(def)),
      ...(props.reservedConcurrency ? { reservedConcurrentExecutions: props.reservedConcurrency } : {}),
      tracing: Tracing.ACTIVE,
      logGroup,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      bundling: {
        format: OutputFormat.ESM,
        target: BUNDLE_TARGET,
        platform: 'node',
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // The AWS SDK is bundled: the version we test against is the one that runs, and
        // tree-shaken clients start faster than the runtime's copy.
        externalModules: [],
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        esbuildArgs: { '--alias:node-fetch': NODE_FETCH_SHIM },
      },
      // Merge order: defaults → caller → invariants (bound resources are added below and win).
      // The metrics namespace and service are invariants: the dashboard (monitoring.ts) reads them.
      environment: {
        ...props.defaultEnvironment,
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        NODE_OPTIONS: '--enable-source-maps',
      },
    };
    super(scope, id, base);
    this.def = def;

    for (const [key, access] of Object.entries(def.tables) as [TableKey, TableAccess][]) {
      this.bindTable(props.resources.tables[key], access);
    }
    if (def.sendsToQueue) {
      if (!props.resources.queue)
        throw new Error(`${def.name} sends to the webhook queue, but none was given`);
      this.bindQueueSend(props.resources.queue);
    }
    for (const key of def.secrets ?? []) {
      const secret = props.resources.secrets?.[key];
      if (!secret) throw new Error(`${def.name} reads the ${key} secret, but none was given`);
      this.bindSecretRead(secret, key);
    }

    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        'AWSLambdaBasicExecutionRole only allows creating log streams and putting log events, which every function needs for its own log group.',
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions.',
    });
  }

  /**
   * Grants exactly the item actions and index queries of `access` on the table, and tells the
   * code its name. Written out instead of grantReadData/grantWriteData, which add Scan,
   * DeleteItem, batch and stream actions no function here calls.
   */
  bindTable({ table, def }: BoundTable, access: TableAccess): void {
    const items = access.items ?? [];
    if (items.length > 0)
      this.addToRolePolicy(
        new PolicyStatement({ actions: items.map((a) => `dynamodb:${a}`), resources: [table.tableArn] }),
      );
    const queries = access.queries ?? [];
    for (const index of queries) {
      if (!def.globalSecondaryIndexes.some((i) => i.indexName === index))
        throw new Error(`${this.def.name} queries ${def.id}/${index}, which is not an index of that table`);
    }
    if (queries.length > 0)
      this.addToRolePolicy(
        new PolicyStatement({
          actions: ['dynamodb:Query'],
          resources: queries.map((index) => `${table.tableArn}/index/${index}`),
        }),
      );
    if (items.length === 0 && queries.length === 0)
      throw new Error(`${this.def.name} lists ${def.id} without any action on it`);
    this.addEnvironment(def.envVar, table.tableName);
  }

  bindQueueSend(queue: IQueue): void {
    queue.grantSendMessages(this);
    this.addEnvironment(webhookQueue.envVar, queue.queueUrl);
  }

  bindSecretRead(secret: ISecret, key: SecretKey): void {
    secret.grantRead(this);
    this.addEnvironment(SECRET_ENV_VARS[key], secret.secretArn);
  }
}
