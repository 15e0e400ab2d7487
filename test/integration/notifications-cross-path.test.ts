import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttestoSandbox, startAttestoSandbox } from '../../dev/sandbox/server';
import type { SandboxWebhook } from '../../dev/sandbox/world-types';
import { resetConfigCache } from '../../shared/config';
import { purchaseKey } from '../../shared/domain/purchase';
import { getPurchase } from '../../shared/store/purchases';
import { appleTestPki } from '../support/apple-test-pki';
import {
  type GoogleTestOidc,
  startGoogleTestOidc,
  TEST_AUDIENCE,
  TEST_PUSH_SERVICE_ACCOUNT,
} from '../support/google-test-oidc';
import { useLocalAws } from '../support/local-aws';
import {
  appleEnv,
  type ConsumerHandler,
  QueueTap,
  type StoreHandler,
  storeRequest,
} from './notifications-test-kit';
import { APP_ID, readMarker } from './webhook-test-kit';

// One store event, two paths: Attesto relays it (signed webhook, its own eventId, the store's id
// as externalId) and the store sends it here directly. Whichever arrives first, and also when both
// sit in the same batch, the consumer applies it once: one processed marker, the purchase written
// once. The Attesto sandbox signs its Apple JWS with the test PKI, so the very notification it
// relays verifies on the direct path too.

type Path = 'attesto' | 'direct';

describe('the same store event through Attesto and directly is applied once', () => {
  let sandbox: AttestoSandbox;
  let oidc: GoogleTestOidc;
  let attestoWebhook: StoreHandler;
  let apple: StoreHandler;
  let google: StoreHandler;
  let consumer: ConsumerHandler;
  let queue: QueueTap;

  beforeAll(async () => {
    await useLocalAws();
    [sandbox, oidc] = await Promise.all([
      startAttestoSandbox({
        apiKey: 'attesto_test_cross_path',
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
      GOOGLE_JWKS_URL: oidc.jwksUrl,
      GOOGLE_PUSH_AUDIENCE: TEST_AUDIENCE,
      GOOGLE_PUSH_SERVICE_ACCOUNT: TEST_PUSH_SERVICE_ACCOUNT,
    });
    resetConfigCache();
    const load = async (fn: string) =>
      ((await import(`../../functions/${fn}/handler.ts`)) as { handler: StoreHandler }).handler;
    [attestoWebhook, apple, google] = await Promise.all([
      load('attesto-webhook'),
      load('apple-notifications'),
      load('google-notifications'),
    ]);
    consumer = ((await import('../../functions/webhook-consumer/handler')) as { handler: ConsumerHandler })
      .handler;
    queue = new QueueTap();
  });
  afterAll(async () => {
    await Promise.all([sandbox?.stop(), oidc?.stop()]);
    for (const name of [
      ...Object.keys(appleEnv()),
      'GOOGLE_JWKS_URL',
      'GOOGLE_PUSH_AUDIENCE',
      'GOOGLE_PUSH_SERVICE_ACCOUNT',
    ])
      delete process.env[name];
  });

  async function send(path: Path, webhook: SandboxWebhook): Promise<void> {
    let status: number | undefined;
    if (path === 'attesto') {
      const request = sandbox.buildWebhookRequest(webhook);
      status = (await attestoWebhook(storeRequest('/attesto-webhook', request.body, request.headers)))
        .statusCode;
    } else if (webhook.source === 'apple') {
      const body = JSON.stringify({ signedPayload: webhook.raw.signedPayload });
      status = (await apple(storeRequest('/webhooks/apple', body))).statusCode;
    } else {
      const body = JSON.stringify({
        message: webhook.raw.message,
        subscription: 'projects/p/subscriptions/rtdn',
      });
      const authorization = `Bearer ${await oidc.token()}`;
      status = (await google(storeRequest('/webhooks/google', body, { authorization }))).statusCode;
    }
    expect(status, `${path} path`).toBe(200);
  }

  async function drain(expected: number): Promise<void> {
    const { messages, failed } = await queue.drainInto(consumer);
    expect(messages).toHaveLength(expected);
    expect(failed).toEqual([]);
  }

  const orders: [string, Path[][]][] = [
    ['Attesto first, then directly', [['attesto'], ['direct']]],
    ['directly first, then through Attesto', [['direct'], ['attesto']]],
    ['both in one batch', [['attesto', 'direct']]],
  ];

  describe.each(['apple', 'google'] as const)('%s', (platform) => {
    it.each(orders)('%s', async (_name, batches) => {
      const bought = await sandbox.buy({ platform, productId: 'premium_monthly', deliver: false });
      const renewed = await sandbox.act(bought.purchase.id, 'renew', { deliver: false });
      const [purchased, renewal] = [bought.webhooks.at(-1), renewed.webhooks.at(-1)] as SandboxWebhook[];
      const pk = purchaseKey(platform, bought.purchase.subjectKey);

      // The purchase arrives once, through Attesto; the renewal is the event that takes both paths.
      await send('attesto', purchased as SandboxWebhook);
      await drain(1);
      const snapshots = [];
      for (const paths of batches) {
        for (const path of paths) await send(path, renewal as SandboxWebhook);
        await drain(paths.length);
        snapshots.push(await getPurchase(pk));
      }

      const marker = await readMarker(`${platform}:${renewal?.externalId}`);
      expect(marker).toMatchObject({ outcome: 'renewed' });
      // No marker under either path's own event id: the store's id is the one identity.
      expect(await readMarker(renewal?.eventId ?? '')).toBeUndefined();
      expect(await readMarker(`${platform}_${renewal?.externalId}`)).toBeUndefined();
      // Written once: the second delivery changed nothing, not even updatedAt.
      expect(snapshots.at(-1)).toEqual(snapshots[0]);
      const view = sandbox.purchases().find((p) => p.id === bought.purchase.id);
      expect(snapshots[0]).toMatchObject({ status: 'active', expiresAt: Date.parse(view?.expiresAt ?? '') });
    });
  });
});
