// Everything `npm start` runs, started in dependency order and stopped in reverse: DynamoDB
// Local and fauxqs, the stack's tables and queues, Attesto (real or sandbox), the token issuer,
// the HTTP API emulator and the SQS poller feeding the webhook consumer.
import type { ChildProcess } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SQSClient } from '@aws-sdk/client-sqs';
import { corsSettings } from '../../infra/cors';
import type { FunctionName } from '../../infra/functions';
import { routeTable } from '../../infra/routes';
import { chooseAttesto } from './attesto';
import { startDevIssuer } from './dev-issuer';
import { type DynamoDbLocal, startDynamoDbLocal } from './dynamodb-local';
import { startEventBusLocal } from './event-bus-local';
import { bundledHandlerResolver, functionHandlerResolver, functionTimeoutSeconds } from './function-handlers';
import { type Authorizer, startHttpApi } from './http-api';
import type { HttpResponse } from './http-api-result';
import { createJwtAuthorizer } from './jwt-authorizer';
import { LOCAL_BUS_NAME, startOutboundEventsLocal } from './outbound-events-local';
import { freePort } from './ports';
import { LOCAL_CREDENTIALS, LOCAL_REGION, provisionLocal } from './provision';
import { DEFAULT_RECONCILE_EVERY, parseDuration, startReconcileRunner } from './reconcile-runner';
import {
  createSigV4Authorizer,
  generateOperatorCredentials,
  type OperatorCredentials,
} from './sigv4-authorizer';
import { startSqsLocal } from './sqs-local';
import { startSqsPoller } from './sqs-poller';

const DEFAULT_APP_ID = 'com.example.app';

/**
 * `GET /_dev/runtime`: where the emulators and queues of this run are, for local tools such as
 * `npm run dlq` (the SQS emulator lives inside this process, on a port chosen at start).
 */
const RUNTIME_INFO_PATH = '/_dev/runtime';

function runtimeInfo(req: IncomingMessage, info: Record<string, unknown>): HttpResponse | undefined {
  if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== RUNTIME_INFO_PATH) return undefined;
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(info)),
  };
}

export interface LocalRuntimeOptions {
  inMemory: boolean;
  /** process.env normally; the runtime writes the functions' variables into it. */
  env: NodeJS.ProcessEnv;
  dataDir: string;
  log: (line: string) => void;
  warn: (line: string) => void;
  /** Told about every child process as soon as it exists, so it can be killed if we die. */
  onChildProcess?: (child: ChildProcess) => void;
  /** `--bundled`: each function's bundle (function-bundles.ts) instead of its TypeScript source. */
  bundleEntries?: Record<FunctionName, string>;
  /**
   * Emulators that already run (the test suite's): the runtime's tables and queues are made there
   * under `prefix` instead of starting a DynamoDB Local and a fauxqs of its own.
   */
  emulators?: { ddbEndpoint: string; sqsEndpoint: string; prefix: string };
}

export interface LocalRuntime {
  apiUrl: string;
  webhookUrl: string;
  attesto: string;
  auth: string;
  data: string;
  /** DynamoDB, SQS and the queue names, one line. */
  emulators: string;
  /** Where entitlement events go in this run. */
  events: string;
  /** How often reconciliation runs, for the banner. */
  reconcile: string;
  /** The one credential the /admin/ routes accept in this run (npm run admin reads it from /_dev/runtime). */
  adminCredentials: OperatorCredentials;
  ddb: Pick<DynamoDbLocal, 'endpoint'>;
  stop(): Promise<void>;
}

function portFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`${name} must be a port number, got "${raw}"`);
  return port;
}

export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const { env, inMemory, dataDir } = options;
  const requestedPort = portFrom(env, 'PORT', 3000);
  const reconcileEveryMs = parseDuration('RECONCILE_EVERY', env.RECONCILE_EVERY || DEFAULT_RECONCILE_EVERY);
  const apiPort = requestedPort || (await freePort());
  const sandboxPort = portFrom(env, 'ATTESTO_SANDBOX_PORT', 3001);
  const ddbPort = portFrom(env, 'DYNAMODB_PORT', 0);
  const sqsPort = portFrom(env, 'SQS_PORT', 0);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const webhookUrl = `${apiUrl}/attesto-webhook`;
  const stack: Array<{ name: string; stop: () => Promise<void> }> = [];
  const stop = async () => {
    for (const { name, stop: stopOne } of stack.splice(0).reverse()) {
      await stopOne().catch((error: unknown) =>
        options.warn(`stopping ${name}: ${(error as Error).message}`),
      );
    }
  };

  const startEmulators = async () => {
    const [ddbStart, sqsStart] = await Promise.allSettled([
      startDynamoDbLocal({
        killWithParent: true,
        ...(ddbPort ? { port: ddbPort } : {}),
        ...(inMemory ? {} : { dbPath: join(dataDir, 'dynamodb') }),
      }),
      startSqsLocal(sqsPort),
    ]);
    if (ddbStart.status === 'fulfilled')
      stack.push({ name: 'DynamoDB Local', stop: () => ddbStart.value.stop() });
    if (sqsStart.status === 'fulfilled') stack.push({ name: 'fauxqs', stop: () => sqsStart.value.stop() });
    if (ddbStart.status === 'rejected') throw ddbStart.reason;
    if (sqsStart.status === 'rejected') throw sqsStart.reason;
    options.onChildProcess?.(ddbStart.value.process);
    return { ddb: ddbStart.value, sqsLocal: sqsStart.value };
  };

  try {
    const { ddb, sqsLocal } = options.emulators
      ? {
          ddb: { endpoint: options.emulators.ddbEndpoint },
          sqsLocal: { endpoint: options.emulators.sqsEndpoint },
        }
      : await startEmulators();
    const resources = await provisionLocal({
      ddbEndpoint: ddb.endpoint,
      sqsEndpoint: sqsLocal.endpoint,
      ...(options.emulators ? { prefix: options.emulators.prefix } : {}),
    });
    const bus = await startEventBusLocal({ name: LOCAL_BUS_NAME });
    stack.push({ name: 'local event bus', stop: () => bus.stop() });

    const packageName = env.GOOGLE_PACKAGE_NAME || DEFAULT_APP_ID;
    const bundleId = env.APPLE_BUNDLE_ID || DEFAULT_APP_ID;
    const attesto = await chooseAttesto({
      env,
      webhookUrl,
      sandboxPort,
      ...(inMemory ? {} : { dataFile: join(dataDir, 'attesto-sandbox.json') }),
      ...(inMemory ? {} : { secretsFile: join(dataDir, 'dev-secrets.json') }),
      packageName,
      bundleId,
    });
    stack.push({ name: 'Attesto sandbox', stop: () => attesto.stop() });
    if (attesto.warning) options.warn(attesto.warning);

    // The functions' environment, complete before any handler module is imported.
    // Credentials point at the emulators only: a developer's real AWS session must never be used.
    delete env.AWS_SESSION_TOKEN;
    delete env.AWS_PROFILE;
    for (const name of ['ATTESTO_API_KEY_SECRET_ARN', 'ATTESTO_WEBHOOK_SECRETS_ARN', 'ATTESTO_SECRET_ARN']) {
      if (!env[name]) continue;
      options.warn(`${name} is ignored locally; the plain ATTESTO_* variables are used.`);
      delete env[name];
    }
    Object.assign(env, resources.env, attesto.env, {
      GOOGLE_PACKAGE_NAME: packageName,
      APPLE_BUNDLE_ID: bundleId,
      POWERTOOLS_SERVICE_NAME: env.POWERTOOLS_SERVICE_NAME || 'iap-backend',
      // EMF metric lines are for CloudWatch; locally they would drown the request log.
      // POWERTOOLS_METRICS_DISABLED=false in the shell prints them.
      POWERTOOLS_METRICS_DISABLED: env.POWERTOOLS_METRICS_DISABLED || 'true',
      // Locally a subscription is due for a check from the instant its stored expiry has passed.
      RECONCILE_DELAY_SECONDS: env.RECONCILE_DELAY_SECONDS || '0',
    });

    let authorize: Authorizer;
    let auth: string;
    let devEndpoints: Awaited<ReturnType<typeof startDevIssuer>>['endpoints'] | undefined;
    const onReject = (reason: string) => options.log(`  401: ${reason}`);
    if (env.AUTH_ISSUER) {
      if (!env.AUTH_AUDIENCE) throw new Error('AUTH_ISSUER is set, so AUTH_AUDIENCE must be set too');
      const audience = env.AUTH_AUDIENCE.split(',').map((a) => a.trim());
      authorize = createJwtAuthorizer({ issuer: env.AUTH_ISSUER, audience, onReject });
      auth = `${env.AUTH_ISSUER} (audience ${audience.join(', ')})`;
    } else {
      const issuer = await startDevIssuer({
        apiUrl,
        ...(inMemory ? {} : { file: join(dataDir, 'dev-issuer.json') }),
      });
      authorize = createJwtAuthorizer({ issuer: issuer.issuer, audience: issuer.audience, onReject });
      devEndpoints = issuer.endpoints;
      auth = `dev issuer ${issuer.issuer} (audience ${issuer.audience})`;
    }

    // New on every start and never written down: only this run's tools can sign for /admin/.
    const adminCredentials = generateOperatorCredentials();
    const authorizeOperator = createSigV4Authorizer({
      credentials: adminCredentials,
      region: LOCAL_REGION,
      onReject: (reason) => options.log(`  403: ${reason}`),
    });

    const resolveHandler = options.bundleEntries
      ? bundledHandlerResolver(options.bundleEntries)
      : functionHandlerResolver();
    const localClients = {
      ddb: new DynamoDBClient({
        endpoint: ddb.endpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      }),
      streams: new DynamoDBStreamsClient({
        endpoint: ddb.endpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      }),
      sqs: new SQSClient({
        endpoint: sqsLocal.endpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
        useQueueUrlAsEndpoint: false,
      }),
    };
    // Before the API takes requests, so the first change's event is already being watched for.
    const outbound = startOutboundEventsLocal({
      env,
      resources,
      bus,
      ...localClients,
      resolveHandler,
      log: options.log,
      warn: options.warn,
    });
    stack.push({
      name: 'outbound events',
      stop: async () => {
        await outbound.stop();
        for (const client of Object.values(localClients)) client.destroy();
      },
    });
    const reportError = (fn: string | undefined, error: unknown) =>
      options.warn(`[${fn ?? 'api'}] ${(error as Error)?.stack ?? String(error)}`);
    const reconciler = startReconcileRunner({
      resolveHandler,
      everyMs: reconcileEveryMs,
      log: options.log,
      warn: options.warn,
    });
    stack.push({ name: 'reconciliation', stop: () => reconciler.stop() });
    const api = await startHttpApi({
      port: apiPort,
      // The direct store routes are served once their verification settings are present, as a
      // deployed stage enables them in its stage config.
      routes: routeTable({
        productsRequireAuth: env.PRODUCTS_REQUIRE_AUTH === 'true',
        appleNotifications: Boolean(env.APPLE_ROOT_CERTIFICATES),
        googleNotifications: Boolean(env.GOOGLE_PUSH_SERVICE_ACCOUNT),
      }),
      resolveHandler,
      authorize,
      authorizeOperator,
      cors: corsSettings(env),
      timeoutSeconds: functionTimeoutSeconds,
      extraEndpoints: async (req, body) =>
        runtimeInfo(req, {
          dynamodbEndpoint: ddb.endpoint,
          sqsEndpoint: sqsLocal.endpoint,
          region: LOCAL_REGION,
          // Dummies the emulators accept, so ops tools need no copy of them.
          credentials: LOCAL_CREDENTIALS,
          tables: resources.tableNames,
          queueUrl: resources.queueUrl,
          dlqUrl: resources.dlqUrl,
          eventsQueueUrl: resources.eventsQueueUrl,
          eventsDlqUrl: resources.eventsDlqUrl,
          // For `npm run admin`: the local runtime's own operator credential, signed for LOCAL_REGION.
          adminCredentials,
          // For `npm run smoke -- --local`: the sandbox's generated secret only, never one a shell gave us.
          ...(attesto.mode === 'sandbox' ? { webhookSecret: env.ATTESTO_WEBHOOK_SECRET } : {}),
        }) ??
        outbound.endpoint(req) ??
        (await reconciler.endpoint(req)) ??
        devEndpoints?.(req, body),
      log: options.log,
      onFunctionError: reportError,
    });
    stack.push({ name: 'HTTP API', stop: () => api.stop() });

    const sqs = new SQSClient({
      endpoint: sqsLocal.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      useQueueUrlAsEndpoint: false,
    });
    const poller = startSqsPoller({
      sqs,
      queueUrl: resources.queueUrl,
      timeoutSeconds: functionTimeoutSeconds('webhook-consumer'),
      handler: async (event, context) => (await resolveHandler('webhook-consumer'))(event, context),
      onBatch: ({ messageIds, failedMessageIds, error }) => {
        if (error) reportError('webhook-consumer', error);
        const failed = failedMessageIds.length;
        options.log(
          `webhook-consumer: ${messageIds.length} record(s), ${failed ? `${failed} failed (retried after the visibility timeout, then the DLQ)` : 'all processed'}`,
        );
      },
      onError: (error) => options.warn(`SQS poller: ${(error as Error).message}`),
    });
    stack.push({
      name: 'SQS poller',
      stop: async () => {
        await poller.stop();
        sqs.destroy();
      },
    });

    return {
      apiUrl,
      webhookUrl,
      attesto: attesto.description,
      auth,
      data: inMemory ? 'in memory (--in-memory): nothing is kept after Ctrl-C' : dataDir,
      emulators: `DynamoDB ${ddb.endpoint} · SQS ${sqsLocal.endpoint} (queue ${resources.queueUrl.split('/').pop()}, DLQ ${resources.dlqUrl.split('/').pop()}) · ${apiUrl}${RUNTIME_INFO_PATH}`,
      events: outbound.description,
      adminCredentials,
      reconcile: reconcileEveryMs
        ? `a pass every ${env.RECONCILE_EVERY || DEFAULT_RECONCILE_EVERY} (RECONCILE_EVERY; 0 turns it off)`
        : 'off (RECONCILE_EVERY=0)',
      ddb,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
