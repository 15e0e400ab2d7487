import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyStructuredResultV2, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { apiEvent, lambdaContext } from '../../dev/fixtures/api-event';
import type { AttestoSandbox } from '../../dev/sandbox/server';
import type { SandboxWebhook } from '../../dev/sandbox/world-types';
import { resetConfigCache } from '../../shared/config';
import { purchaseKey } from '../../shared/domain/purchase';
import type { ApiEvent } from '../../shared/http/api-handler';
import { logger } from '../../shared/observability/logger';
import { getPurchase } from '../../shared/store/purchases';
import { getOrMintUuid } from '../../shared/store/user-ids';
import { useLocalAws } from '../support/local-aws';
import { asDirectEnvelope, readMarker, sqsEvent, startSandboxForConsumer } from './webhook-test-kit';

// ALLOW_SANDBOX_PURCHASES=false holds whichever way a sandbox purchase arrives. Verify refuses it
// up front; a webhook (Attesto's, or the store's own notification sent directly) still records
// the purchase's state, but the user's entitlements leave it out.

type Consumer = (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<SQSBatchResponse>;
type ApiFunction = (
  event: ApiEvent,
  context: ReturnType<typeof lambdaContext>,
) => Promise<APIGatewayProxyStructuredResultV2>;

describe('sandbox purchases arriving by webhook on a stage that refuses them', () => {
  let sandbox: AttestoSandbox;
  let consumer: Consumer;
  let entitlementsFunction: ApiFunction;

  const consume = (bodies: SandboxWebhook[]) => consumer(sqsEvent(bodies), lambdaContext('webhook-consumer'));
  const allowSandbox = (value: 'true' | 'false') => {
    process.env.ALLOW_SANDBOX_PURCHASES = value;
    resetConfigCache();
  };
  async function entitlementsOf(user: string): Promise<Array<{ key: string; environment: string }>> {
    const res = await entitlementsFunction(
      apiEvent({ method: 'GET', path: '/api/iap/entitlements', sub: user }),
      lambdaContext('entitlements'),
    );
    expect(res.statusCode).toBe(200);
    return JSON.parse(res.body as string).entitlements;
  }

  beforeAll(async () => {
    await useLocalAws();
    sandbox = await startSandboxForConsumer();
    ({ handler: consumer } = (await import('../../functions/webhook-consumer/handler')) as {
      handler: Consumer;
    });
    ({ handler: entitlementsFunction } = (await import('../../functions/entitlements/handler')) as {
      handler: ApiFunction;
    });
  });
  afterEach(() => {
    delete process.env.ALLOW_SANDBOX_PURCHASES;
    resetConfigCache();
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it.each<[string, 'apple' | 'google', (w: SandboxWebhook) => SandboxWebhook]>([
    ['an Attesto webhook about an Apple purchase', 'apple', (w) => w],
    ['an Apple notification sent directly (Sandbox environment accepted)', 'apple', asDirectEnvelope],
    ['an Attesto webhook about a Google subscription', 'google', (w) => w],
  ])(
    '%s: the state is recorded, the user gets nothing, the consumer says so',
    async (_name, platform, envelope) => {
      allowSandbox('false');
      const user = `sandbox-refused-${randomUUID()}`;
      const uuid = await getOrMintUuid(user, randomUUID);
      const { webhooks, purchase } = await sandbox.buy({
        platform,
        productId: 'premium_monthly',
        appUserId: uuid,
        deliver: false,
      });
      const webhook = envelope(webhooks[0] as SandboxWebhook);
      const info = vi.spyOn(logger, 'info');

      expect(await consume([webhook])).toEqual({ batchItemFailures: [] });

      // Nothing the store said is lost: the purchase holds its state and its owner.
      expect(await getPurchase(purchaseKey(platform, purchase.subjectKey))).toMatchObject({
        userId: user,
        productId: 'premium_monthly',
        status: 'active',
        environment: 'sandbox',
      });
      expect(await readMarker(`${webhook.source}:${webhook.externalId}`)).toMatchObject({
        outcome: 'purchased',
      });
      expect(info).toHaveBeenCalledWith(
        expect.stringMatching(/^Sandbox purchase recorded without granting access/),
        expect.objectContaining({ eventId: webhook.eventId }),
      );
      expect(await entitlementsOf(user)).toEqual([]);

      // The same recorded purchase grants once the stage accepts sandbox purchases.
      allowSandbox('true');
      expect(await entitlementsOf(user)).toMatchObject([{ key: 'premium', environment: 'sandbox' }]);
    },
  );

  it('says nothing about sandbox when the stage accepts sandbox purchases', async () => {
    const user = `sandbox-accepted-${randomUUID()}`;
    const uuid = await getOrMintUuid(user, randomUUID);
    const { webhooks } = await sandbox.buy({
      platform: 'apple',
      productId: 'premium_monthly',
      appUserId: uuid,
      deliver: false,
    });
    const info = vi.spyOn(logger, 'info');
    expect(await consume([webhooks[0] as SandboxWebhook])).toEqual({ batchItemFailures: [] });
    expect(info).not.toHaveBeenCalledWith(expect.stringMatching(/^Sandbox purchase/), expect.anything());
    expect(await entitlementsOf(user)).toMatchObject([{ key: 'premium' }]);
  });
});
