import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionTimeoutSeconds } from '../../dev/local/function-handlers';
import { type HttpApi, startHttpApi } from '../../dev/local/http-api';
import { type SqsPoller, startSqsPoller } from '../../dev/local/sqs-poller';
import { type AttestoSandbox, startAttestoSandbox } from '../../dev/sandbox/server';
import type { SandboxWebhook } from '../../dev/sandbox/world-types';
import { routeTable } from '../../infra/routes';
import { resetConfigCache } from '../../shared/config';
import { purchaseKey } from '../../shared/domain/purchase';
import { getPurchase } from '../../shared/store/purchases';
import { appleEnv, QueueTap } from '../integration/notifications-test-kit';
import { APP_ID, readMarker } from '../integration/webhook-test-kit';
import { appleTestPki } from '../support/apple-test-pki';
import { e2eHandlerResolver } from '../support/e2e-functions';
import {
  type GoogleTestOidc,
  startGoogleTestOidc,
  TEST_AUDIENCE,
  TEST_PUSH_SERVICE_ACCOUNT,
} from '../support/google-test-oidc';
import { useLocalAws } from '../support/local-aws';

// Over real HTTP, as deployed: the local API Gateway emulator serves the public routes from THE
// route table (with both store routes on), the Attesto sandbox delivers its signed webhooks to
// /attesto-webhook, the "stores" POST to /webhooks/apple and /webhooks/google, and the local SQS
// poller feeds the consumer. Each store event reaches its purchase once.

describe('direct store notifications over the local HTTP API and SQS poller', () => {
  let sandbox: AttestoSandbox;
  let oidc: GoogleTestOidc;
  let api: HttpApi;
  let poller: SqsPoller;
  const processed: string[] = [];

  beforeAll(async () => {
    const resources = await useLocalAws();
    [sandbox, oidc] = await Promise.all([
      startAttestoSandbox({
        apiKey: 'attesto_test_e2e_notifications',
        webhookSecret: 'webhook-secret-for-tests-0123456789abcdef',
        packageName: APP_ID,
        bundleId: APP_ID,
        appleSigningChain: appleTestPki().signer,
      }),
      startGoogleTestOidc(),
    ]);
    Object.assign(process.env, appleEnv('Sandbox'), {
      ATTESTO_URL: sandbox.url,
      ATTESTO_API_KEY: sandbox.apiKey,
      ATTESTO_WEBHOOK_SECRET: sandbox.webhookSecret,
      GOOGLE_PACKAGE_NAME: APP_ID,
      APPLE_BUNDLE_ID: APP_ID,
      GOOGLE_JWKS_URL: oidc.jwksUrl,
      GOOGLE_PUSH_AUDIENCE: TEST_AUDIENCE,
      GOOGLE_PUSH_SERVICE_ACCOUNT: TEST_PUSH_SERVICE_ACCOUNT,
    });
    resetConfigCache();

    const resolveHandler = await e2eHandlerResolver();
    api = await startHttpApi({
      // The public routes only: no user route is exercised, so no JWT authorizer is needed.
      routes: routeTable({ appleNotifications: true, googleNotifications: true }).filter(
        (r) => r.auth === 'none',
      ),
      resolveHandler,
      timeoutSeconds: functionTimeoutSeconds,
    });
    sandbox.setWebhookUrl(`${api.url}/attesto-webhook`);
    poller = startSqsPoller({
      sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
      queueUrl: resources.queueUrl,
      handler: async (event, context) => (await resolveHandler('webhook-consumer'))(event, context),
      waitTimeSeconds: 1,
      maxBatchingWindowSeconds: 0,
      onBatch: ({ messageIds, failedMessageIds }) =>
        processed.push(...messageIds.filter((id) => !failedMessageIds.includes(id))),
    });
  });
  afterAll(async () => {
    await Promise.all([poller?.stop(), api?.stop(), sandbox?.stop(), oidc?.stop()]);
    for (const name of [
      ...Object.keys(appleEnv()),
      'GOOGLE_JWKS_URL',
      'GOOGLE_PUSH_AUDIENCE',
      'GOOGLE_PUSH_SERVICE_ACCOUNT',
    ])
      delete process.env[name];
  });

  async function until<T>(read: () => Promise<T | undefined>, what: string): Promise<T> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const value = await read();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${api.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });

  const directly = async (webhook: SandboxWebhook): Promise<Response> =>
    webhook.source === 'apple'
      ? post('/webhooks/apple', JSON.stringify({ signedPayload: webhook.raw.signedPayload }))
      : post(
          '/webhooks/google',
          JSON.stringify({ message: webhook.raw.message, subscription: 'projects/p/subscriptions/rtdn' }),
          {
            authorization: `Bearer ${await oidc.token()}`,
          },
        );

  it.each(['apple', 'google'] as const)(
    '%s: a purchase sent by the store and relayed by Attesto lands once',
    async (platform) => {
      const before = processed.length;
      // Attesto's copy goes out over HTTP as the sandbox buys; the store's own copy follows.
      const bought = await sandbox.buy({ platform, productId: 'premium_monthly' });
      expect(bought.deliveries.map((d) => d.status)).toEqual([200]);
      const webhook = bought.webhooks.at(-1) as SandboxWebhook;
      expect((await directly(webhook)).status).toBe(200);

      await until(
        async () => (processed.length >= before + 2 ? true : undefined),
        'both deliveries processed',
      );
      expect(await readMarker(`${platform}:${webhook.externalId}`)).toMatchObject({ outcome: 'purchased' });
      const stored = await getPurchase(purchaseKey(platform, bought.purchase.subjectKey));
      expect(stored).toMatchObject({ status: 'active', productId: 'premium_monthly', willRenew: true });
    },
  );

  it('a forged Apple notification and a push with a wrong audience get 401 over HTTP and queue nothing', async () => {
    // Stopped first, so anything queued would still be on the queue to be seen.
    await poller.stop();
    const bought = await sandbox.buy({ platform: 'apple', productId: 'premium_monthly', deliver: false });
    const genuine = (bought.webhooks.at(-1) as SandboxWebhook).raw.signedPayload as string;
    const [header, payload] = genuine.split('.');
    const forged = `${header}.${payload}.${Buffer.alloc(64, 1).toString('base64url')}`;
    const apple = await post('/webhooks/apple', JSON.stringify({ signedPayload: forged }));
    expect(apple.status).toBe(401);
    expect(await apple.json()).toEqual({ error: 'UNAUTHORIZED' });

    const google = await sandbox.buy({ platform: 'google', productId: 'premium_monthly', deliver: false });
    const push = JSON.stringify({ message: (google.webhooks.at(-1) as SandboxWebhook).raw.message });
    const wrongAudience = await post('/webhooks/google', push, {
      authorization: `Bearer ${await oidc.token({ aud: 'https://elsewhere.example/webhooks/google' })}`,
    });
    expect(wrongAudience.status).toBe(401);

    expect(await new QueueTap().receiveAll()).toEqual([]);
  });
});
