import type { APIGatewayProxyStructuredResultV2, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { httpApiEvent, lambdaContext } from '../../dev/fixtures/api-event';
import { sqsRecord } from '../../dev/fixtures/sqs-event';
import type { AttestoSandbox } from '../../dev/sandbox/server';
import type { SandboxWebhook } from '../../dev/sandbox/world-types';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../infra/constructs/function-factory';
import type { ApiEvent } from '../../shared/http/api-handler';
import {
  pubSubPushBody,
  startGoogleTestOidc,
  TEST_AUDIENCE,
  TEST_PUSH_SERVICE_ACCOUNT,
} from '../support/google-test-oidc';
import { useLocalAws } from '../support/local-aws';
import { opensslSignature } from '../support/openssl-signature';
import { sqsEvent, startSandboxForConsumer } from './webhook-test-kit';

// The business metrics as they leave the real handlers: CloudWatch EMF lines on stdout, written
// once at the end of each invocation. vitest.config.ts turns metrics off for every other test;
// this file turns them on before any handler module (and its Metrics instance) loads.
vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
});

interface Emf {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

type ApiHandler = (event: ApiEvent, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
type WebhookHandler = (event: ApiEvent) => Promise<APIGatewayProxyStructuredResultV2>;
type ConsumerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** EMF lines written to stdout while `run` runs; every other write passes through. */
async function emfOf(run: () => Promise<unknown>): Promise<Emf[]> {
  const lines: Emf[] = [];
  const write = process.stdout.write.bind(process.stdout) as (chunk: unknown, ...rest: unknown[]) => boolean;
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
    const text = String(chunk);
    if (!text.includes('"_aws"')) return write(chunk, ...rest);
    for (const line of text.split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Emf);
    return true;
  }) as typeof process.stdout.write);
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return lines;
}

/** One EMF line as the dashboard reads it: its dimension set, dimension values and counts. */
function summary(emf: Emf) {
  const [directive] = emf._aws.CloudWatchMetrics;
  if (!directive) throw new Error('EMF line without a CloudWatchMetrics directive');
  const dimensionNames = directive.Dimensions.flat();
  return {
    namespace: directive.Namespace,
    dimensionSets: directive.Dimensions,
    dimensions: Object.fromEntries(dimensionNames.map((d) => [d, emf[d]])),
    counts: Object.fromEntries(
      directive.Metrics.map((m) => {
        expect(m.Unit).toBe('Count');
        return [m.Name, emf[m.Name]];
      }),
    ),
  };
}

const SECRET = 'metrics-webhook-secret-0123456789abcdefghij';
let sandbox: AttestoSandbox;

beforeAll(async () => {
  await useLocalAws();
  sandbox = await startSandboxForConsumer();
  process.env.ATTESTO_WEBHOOK_SECRET = SECRET;
});
afterAll(async () => {
  await sandbox?.stop();
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('business metrics (EMF from the real handlers)', () => {
  it('a verify writes one Verifications line {platform, outcome} in our namespace, and nothing else', async () => {
    const { handler } = (await import('../../functions/verify-apple/handler')) as { handler: ApiHandler };
    const { purchase } = await sandbox.buy({
      platform: 'apple',
      productId: 'premium_monthly',
      deliver: false,
    });
    const verify = (transactionId: string) =>
      handler(
        httpApiEvent({
          method: 'POST',
          path: '/api/iap/verify/apple',
          body: JSON.stringify({ productId: 'premium_monthly', transactionId }),
          claims: { sub: `metrics-user-${Date.now()}` },
          requestId: 'metrics-verify',
          timeEpoch: Date.now(),
        }),
        lambdaContext('verify-apple'),
      );

    let result: APIGatewayProxyStructuredResultV2 | undefined;
    const valid = await emfOf(async () => {
      result = await verify(purchase.token);
    });
    expect(JSON.parse(String(result?.body))).toMatchObject({ valid: true });
    expect(valid.map(summary)).toEqual([
      {
        namespace: METRICS_NAMESPACE,
        dimensionSets: [['service', 'platform', 'outcome']],
        dimensions: { service: SERVICE_NAME, platform: 'apple', outcome: 'valid' },
        counts: { Verifications: 1 },
      },
    ]);

    // A store "no": the outcome, and the code on its own line, since one line holds one value per dimension.
    const rejected = await emfOf(async () => {
      result = await verify('2999999999999999');
    });
    expect(JSON.parse(String(result?.body))).toMatchObject({ valid: false, error: 'TRANSACTION_NOT_FOUND' });
    expect(rejected.map(summary).map(({ dimensions, counts }) => ({ dimensions, counts }))).toEqual([
      {
        dimensions: { service: SERVICE_NAME, platform: 'apple', outcome: 'rejected' },
        counts: { Verifications: 1 },
      },
      {
        dimensions: { service: SERVICE_NAME, platform: 'apple', code: 'TRANSACTION_NOT_FOUND' },
        counts: { VerifyRejected: 1 },
      },
    ]);
    expect(JSON.stringify([...valid, ...rejected])).not.toContain('ColdStart');
  });

  it('an invocation that counts nothing writes no line', async () => {
    const { handler } = (await import('../../functions/products/handler')) as { handler: ApiHandler };
    const lines = await emfOf(async () => {
      const result = await handler(
        httpApiEvent({
          method: 'GET',
          path: '/api/iap/products',
          requestId: 'metrics-products',
          timeEpoch: Date.now(),
        }),
        lambdaContext('products'),
      );
      expect(result.statusCode).toBe(200);
    });
    expect(lines).toEqual([]);
  });

  it('a consumer batch writes WebhookEvents per {source, result}: applied, duplicate, and a poison record', async () => {
    const { handler } = (await import('../../functions/webhook-consumer/handler')) as {
      handler: ConsumerHandler;
    };
    const { webhooks } = await sandbox.buy({
      platform: 'apple',
      productId: 'premium_monthly',
      deliver: false,
    });
    const [webhook] = webhooks as [SandboxWebhook];
    const event = sqsEvent([webhook, webhook]);
    event.Records.push(sqsRecord('not json at all'));

    let response: SQSBatchResponse | undefined;
    const lines = await emfOf(async () => {
      response = await handler(event, lambdaContext('webhook-consumer'));
    });
    expect(response?.batchItemFailures).toEqual([{ itemIdentifier: event.Records[2]?.messageId }]);
    const counted = lines.map(summary);
    for (const line of counted) {
      expect(line.namespace).toBe(METRICS_NAMESPACE);
      expect(line.dimensionSets).toEqual([['service', 'source', 'result']]);
    }
    const bySourceResult = counted
      .map(({ dimensions, counts }) => `${dimensions.source}/${dimensions.result}=${counts.WebhookEvents}`)
      .sort();
    expect(bySourceResult).toEqual(['apple/applied=1', 'apple/duplicate=1', 'unknown/failed=1']);
  });

  it('a webhook with a bad signature writes WebhooksRejected {endpoint}; a good one WebhooksQueued', async () => {
    const { handler } = (await import('../../functions/attesto-webhook/handler')) as {
      handler: WebhookHandler;
    };
    const { webhooks } = await sandbox.buy({
      platform: 'google',
      productId: 'premium_monthly',
      deliver: false,
    });
    const body = JSON.stringify(webhooks[0]);
    const now = Math.floor(Date.now() / 1000);
    const post = (v1: string) =>
      handler(
        httpApiEvent({
          method: 'POST',
          path: '/attesto-webhook',
          body,
          headers: { 'x-attesto-signature': `t=${now},v1=${v1}` },
          requestId: 'metrics-webhook',
          timeEpoch: Date.now(),
        }),
      );

    let status: number | undefined;
    const rejected = await emfOf(async () => {
      status = (await post(opensslSignature('not-the-secret', now, body))).statusCode;
    });
    expect(status).toBe(401);
    expect(rejected.map(summary)).toEqual([
      {
        namespace: METRICS_NAMESPACE,
        dimensionSets: [['service', 'endpoint']],
        dimensions: { service: SERVICE_NAME, endpoint: 'attesto' },
        counts: { WebhooksRejected: 1 },
      },
    ]);

    const queued = await emfOf(async () => {
      status = (await post(opensslSignature(SECRET, now, body))).statusCode;
    });
    expect(status).toBe(200);
    expect(queued.map((l) => summary(l).counts)).toEqual([{ WebhooksQueued: 1 }]);
  });

  it('a Pub/Sub push counts as rejected when forged, as queued when queued, and not at all for another app', async () => {
    const oidc = await startGoogleTestOidc();
    Object.assign(process.env, {
      GOOGLE_PUSH_AUDIENCE: TEST_AUDIENCE,
      GOOGLE_PUSH_SERVICE_ACCOUNT: TEST_PUSH_SERVICE_ACCOUNT,
      GOOGLE_JWKS_URL: oidc.jwksUrl,
    });
    try {
      const { handler } = (await import('../../functions/google-notifications/handler')) as {
        handler: WebhookHandler;
      };
      const push = async (packageName: string, token: string) =>
        (
          await handler(
            httpApiEvent({
              method: 'POST',
              path: '/webhooks/google',
              body: JSON.stringify(
                pubSubPushBody({
                  version: '1.0',
                  packageName,
                  eventTimeMillis: String(Date.now()),
                  testNotification: { version: '1.0' },
                }),
              ),
              headers: { authorization: `Bearer ${token}` },
              requestId: 'metrics-google',
              timeEpoch: Date.now(),
            }),
          )
        ).statusCode;
      const ours = process.env.GOOGLE_PACKAGE_NAME as string;
      const forged = await oidc.token({}, { key: oidc.foreignKey });
      const genuine = await oidc.token();

      let status: number | undefined;
      const rejected = await emfOf(async () => {
        status = await push(ours, forged);
      });
      expect(status).toBe(401);
      expect(rejected.map(summary)).toEqual([
        {
          namespace: METRICS_NAMESPACE,
          dimensionSets: [['service', 'endpoint']],
          dimensions: { service: SERVICE_NAME, endpoint: 'google' },
          counts: { WebhooksRejected: 1 },
        },
      ]);
      const otherApp = await emfOf(async () => {
        status = await push('com.someone.else', genuine);
      });
      expect(status).toBe(200);
      expect(otherApp).toEqual([]);
      const queued = await emfOf(async () => {
        status = await push(ours, genuine);
      });
      expect(status).toBe(200);
      expect(queued.map((l) => summary(l).counts)).toEqual([{ WebhooksQueued: 1 }]);
    } finally {
      await oidc.stop();
    }
  });

  it('POWERTOOLS_METRICS_DISABLED=true (the local runtime and test default) writes nothing', async () => {
    const { BusinessMetrics } = await import('../../shared/observability/metrics');
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    try {
      const off = new BusinessMetrics({ namespace: METRICS_NAMESPACE });
      const lines = await emfOf(async () => {
        off.count('Verifications', { platform: 'apple', outcome: 'valid' }).publishStoredMetrics();
      });
      expect(lines).toEqual([]);
    } finally {
      process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    }
  });
});
