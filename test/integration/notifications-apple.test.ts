import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetConfigCache } from '../../shared/config';
import { purchaseKey } from '../../shared/domain/purchase';
import { receiveAppleNotification } from '../../shared/ingest/apple/receive-notification';
import { getPurchase } from '../../shared/store/purchases';
import { appleTestPki, generateAppleTestPki } from '../support/apple-test-pki';
import { useLocalAws } from '../support/local-aws';
import {
  APP_APPLE_ID,
  type AppleFixture,
  appleBody,
  appleEnv,
  BUNDLE_ID,
  type ConsumerHandler,
  QueueTap,
  type StoreHandler,
  storeRequest,
  uuidOf,
} from './notifications-test-kit';
import { readMarker } from './webhook-test-kit';

// POST /webhooks/apple end to end inside the process: the real handler verifies a notification
// signed with a generated Apple-shaped PKI, puts it on the real queue (fauxqs), and the real
// consumer applies it to DynamoDB Local. One case per App Store notification type.

const DAY = 86_400_000;
const SUBSCRIPTION = 'Auto-Renewable Subscription';
let serial = 0;
// After the test root's notBefore: offline checks date the chain at signedDate.
const base = Date.now() + 5_000;

interface Purchase {
  otid: string;
  at: (offset: number) => number;
}

function newPurchase(): Purchase {
  serial += 1;
  const start = base + serial * 10_000;
  return { otid: `20000009${String(serial).padStart(8, '0')}`, at: (offset) => start + offset };
}

function transaction(p: Purchase, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    transactionId: `${p.otid}${String(overrides.n ?? 0)}`,
    originalTransactionId: p.otid,
    bundleId: BUNDLE_ID,
    productId: 'premium_monthly',
    purchaseDate: p.at(0),
    originalPurchaseDate: p.at(0),
    expiresDate: p.at(30 * DAY),
    quantity: 1,
    type: SUBSCRIPTION,
    inAppOwnershipType: 'PURCHASED',
    transactionReason: 'PURCHASE',
    ...overrides,
  };
}

function renewal(p: Purchase, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    originalTransactionId: p.otid,
    autoRenewProductId: 'premium_monthly',
    productId: 'premium_monthly',
    autoRenewStatus: 1,
    recentSubscriptionStartDate: p.at(0),
    ...overrides,
  };
}

/** The initial buy every subscription case starts from: active until day 30, renewing. */
const initialBuy = (p: Purchase): AppleFixture => ({
  type: 'SUBSCRIBED',
  subtype: 'INITIAL_BUY',
  signedDate: p.at(0),
  transaction: transaction(p),
  renewal: renewal(p),
});

interface Case {
  name: string;
  /** What the purchase went through before (default: the initial buy); null for none. */
  before?: (p: Purchase) => AppleFixture[] | null;
  fixture: (p: Purchase) => AppleFixture;
  outcome: string;
  /** Expected purchase fields afterwards; null: no purchase item. */
  state: ((p: Purchase) => Record<string, unknown>) | null;
}

const at = (p: Purchase, offset: number, f: Omit<AppleFixture, 'signedDate'>): AppleFixture => ({
  ...f,
  signedDate: p.at(offset),
});
const renewed = (p: Purchase) =>
  transaction(p, { n: 1, purchaseDate: p.at(30 * DAY), expiresDate: p.at(60 * DAY) });

const cases: Case[] = [
  {
    name: 'SUBSCRIBED.INITIAL_BUY',
    before: () => null,
    fixture: initialBuy,
    outcome: 'purchased',
    state: (p) => ({
      status: 'active',
      expiresAt: p.at(30 * DAY),
      willRenew: true,
      productId: 'premium_monthly',
    }),
  },
  {
    name: 'SUBSCRIBED.RESUBSCRIBE',
    before: (p) => [
      at(p, 0, {
        type: 'EXPIRED',
        subtype: 'VOLUNTARY',
        transaction: transaction(p, { expiresDate: p.at(0) }),
        renewal: renewal(p, { autoRenewStatus: 0 }),
      }),
    ],
    fixture: (p) =>
      at(p, 1000, {
        type: 'SUBSCRIBED',
        subtype: 'RESUBSCRIBE',
        transaction: transaction(p, { n: 1, purchaseDate: p.at(1000), expiresDate: p.at(1000 + 30 * DAY) }),
        renewal: renewal(p),
      }),
    outcome: 'purchased',
    state: (p) => ({ status: 'active', expiresAt: p.at(1000 + 30 * DAY), willRenew: true }),
  },
  {
    name: 'SUBSCRIBED.UPGRADE',
    fixture: (p) =>
      at(p, 1000, {
        type: 'SUBSCRIBED',
        subtype: 'UPGRADE',
        transaction: transaction(p, { n: 1, productId: 'premium_yearly', expiresDate: p.at(365 * DAY) }),
        renewal: renewal(p, { autoRenewProductId: 'premium_yearly', productId: 'premium_yearly' }),
      }),
    outcome: 'upgraded',
    state: (p) => ({ status: 'active', productId: 'premium_yearly', expiresAt: p.at(365 * DAY) }),
  },
  {
    name: 'SUBSCRIBED.DOWNGRADE',
    fixture: (p) =>
      at(p, 1000, {
        type: 'SUBSCRIBED',
        subtype: 'DOWNGRADE',
        transaction: transaction(p),
        renewal: renewal(p, { autoRenewProductId: 'premium_monthly' }),
      }),
    outcome: 'downgraded',
    state: (p) => ({ status: 'active', expiresAt: p.at(30 * DAY) }),
  },
  {
    name: 'DID_RENEW',
    fixture: (p) => at(p, 30 * DAY, { type: 'DID_RENEW', transaction: renewed(p), renewal: renewal(p) }),
    outcome: 'renewed',
    state: (p) => ({
      status: 'active',
      expiresAt: p.at(60 * DAY),
      willRenew: true,
      gracePeriodExpiresAt: null,
    }),
  },
  {
    name: 'DID_RENEW.BILLING_RECOVERY',
    before: (p) => [
      initialBuy(p),
      at(p, 30 * DAY, {
        type: 'DID_FAIL_TO_RENEW',
        transaction: transaction(p),
        renewal: renewal(p, { isInBillingRetryPeriod: true }),
      }),
    ],
    fixture: (p) =>
      at(p, 32 * DAY, {
        type: 'DID_RENEW',
        subtype: 'BILLING_RECOVERY',
        transaction: renewed(p),
        renewal: renewal(p),
      }),
    outcome: 'recovered',
    state: (p) => ({ status: 'active', expiresAt: p.at(60 * DAY) }),
  },
  {
    name: 'DID_CHANGE_RENEWAL_STATUS.AUTO_RENEW_DISABLED',
    fixture: (p) =>
      at(p, DAY, {
        type: 'DID_CHANGE_RENEWAL_STATUS',
        subtype: 'AUTO_RENEW_DISABLED',
        transaction: transaction(p),
        renewal: renewal(p, { autoRenewStatus: 0 }),
      }),
    outcome: 'cancellation_scheduled',
    state: (p) => ({ status: 'active', willRenew: false, expiresAt: p.at(30 * DAY) }),
  },
  {
    name: 'DID_CHANGE_RENEWAL_STATUS.AUTO_RENEW_ENABLED',
    before: (p) => [
      initialBuy(p),
      at(p, DAY, {
        type: 'DID_CHANGE_RENEWAL_STATUS',
        subtype: 'AUTO_RENEW_DISABLED',
        transaction: transaction(p),
        renewal: renewal(p, { autoRenewStatus: 0 }),
      }),
    ],
    fixture: (p) =>
      at(p, 2 * DAY, {
        type: 'DID_CHANGE_RENEWAL_STATUS',
        subtype: 'AUTO_RENEW_ENABLED',
        transaction: transaction(p),
        renewal: renewal(p),
      }),
    outcome: 'cancellation_revoked',
    state: () => ({ status: 'active', willRenew: true }),
  },
  ...['VOLUNTARY', 'BILLING_RETRY', 'PRODUCT_NOT_FOR_SALE', undefined].map(
    (subtype): Case => ({
      name: `EXPIRED${subtype ? `.${subtype}` : ''}`,
      fixture: (p) =>
        at(p, 30 * DAY, {
          type: 'EXPIRED',
          ...(subtype ? { subtype } : {}),
          transaction: transaction(p),
          renewal: renewal(p, { autoRenewStatus: 0 }),
        }),
      outcome: 'expired',
      state: () => ({ status: 'expired', willRenew: false }),
    }),
  ),
  {
    name: 'REVOKE',
    fixture: (p) =>
      at(p, DAY, {
        type: 'REVOKE',
        transaction: transaction(p, {
          inAppOwnershipType: 'FAMILY_SHARED',
          revocationDate: p.at(DAY),
          revocationReason: 0,
        }),
        renewal: renewal(p),
      }),
    outcome: 'revoked',
    state: () => ({ status: 'revoked' }),
  },
  {
    name: 'REFUND',
    fixture: (p) =>
      at(p, DAY, {
        type: 'REFUND',
        transaction: transaction(p, { revocationDate: p.at(DAY), revocationReason: 1 }),
        renewal: renewal(p, { autoRenewStatus: 0 }),
      }),
    outcome: 'refunded',
    state: () => ({ status: 'refunded' }),
  },
  {
    name: 'REFUND_REVERSED',
    before: (p) => [
      initialBuy(p),
      at(p, DAY, {
        type: 'REFUND',
        transaction: transaction(p, { revocationDate: p.at(DAY) }),
        renewal: renewal(p),
      }),
    ],
    fixture: (p) =>
      at(p, 2 * DAY, { type: 'REFUND_REVERSED', transaction: transaction(p), renewal: renewal(p) }),
    outcome: 'refund_reversed',
    state: () => ({ status: 'active' }),
  },
  {
    name: 'DID_FAIL_TO_RENEW',
    fixture: (p) =>
      at(p, 30 * DAY, {
        type: 'DID_FAIL_TO_RENEW',
        transaction: transaction(p),
        renewal: renewal(p, { isInBillingRetryPeriod: true }),
      }),
    outcome: 'in_billing_retry',
    state: () => ({ status: 'billing_retry' }),
  },
  {
    name: 'DID_FAIL_TO_RENEW.GRACE_PERIOD',
    fixture: (p) =>
      at(p, 30 * DAY, {
        type: 'DID_FAIL_TO_RENEW',
        subtype: 'GRACE_PERIOD',
        transaction: transaction(p),
        renewal: renewal(p, { isInBillingRetryPeriod: true, gracePeriodExpiresDate: p.at(46 * DAY) }),
      }),
    outcome: 'in_grace_period',
    state: (p) => ({ status: 'grace', gracePeriodExpiresAt: p.at(46 * DAY) }),
  },
  {
    name: 'GRACE_PERIOD_EXPIRED',
    fixture: (p) =>
      at(p, 46 * DAY, {
        type: 'GRACE_PERIOD_EXPIRED',
        transaction: transaction(p),
        renewal: renewal(p, { isInBillingRetryPeriod: true }),
      }),
    outcome: 'grace_period_expired',
    state: () => ({ status: 'billing_retry' }),
  },
  {
    name: 'DID_CHANGE_RENEWAL_PREF.UPGRADE (immediate upgrade)',
    fixture: (p) =>
      at(p, DAY, {
        type: 'DID_CHANGE_RENEWAL_PREF',
        subtype: 'UPGRADE',
        transaction: transaction(p, { n: 1, productId: 'premium_yearly', expiresDate: p.at(366 * DAY) }),
        renewal: renewal(p, { autoRenewProductId: 'premium_yearly' }),
      }),
    outcome: 'upgraded',
    state: (p) => ({ status: 'active', productId: 'premium_yearly', expiresAt: p.at(366 * DAY) }),
  },
  ...(
    [
      ['DID_CHANGE_RENEWAL_PREF', 'DOWNGRADE'],
      ['DID_CHANGE_RENEWAL_PREF', undefined],
      ['REFUND_DECLINED', undefined],
      ['PRICE_INCREASE', 'PENDING'],
      ['PRICE_INCREASE', 'ACCEPTED'],
      ['OFFER_REDEEMED', 'UPGRADE'],
      ['RENEWAL_EXTENSION', 'FAILURE'],
    ] as const
  ).map(
    ([type, subtype]): Case => ({
      name: `${type}${subtype ? `.${subtype}` : ''} (recorded only)`,
      fixture: (p) =>
        at(p, DAY, {
          type,
          ...(subtype ? { subtype } : {}),
          transaction: transaction(p),
          renewal: renewal(p, { autoRenewStatus: 0 }),
        }),
      outcome: 'recorded',
      // Unchanged: still what the initial buy made it.
      state: (p) => ({ status: 'active', willRenew: true, expiresAt: p.at(30 * DAY) }),
    }),
  ),
  {
    name: 'RENEWAL_EXTENDED',
    fixture: (p) =>
      at(p, DAY, {
        type: 'RENEWAL_EXTENDED',
        transaction: transaction(p, { expiresDate: p.at(37 * DAY) }),
        renewal: renewal(p),
      }),
    outcome: 'renewal_extended',
    state: (p) => ({ status: 'active', expiresAt: p.at(37 * DAY) }),
  },
  {
    name: 'RENEWAL_EXTENSION.SUMMARY (no transaction)',
    before: () => null,
    fixture: (p) =>
      at(p, DAY, {
        type: 'RENEWAL_EXTENSION',
        subtype: 'SUMMARY',
        body: {
          summary: {
            requestIdentifier: 'f3d6b2a0-0b1e-4c3a-9a53-000000000001',
            environment: 'Sandbox',
            appAppleId: APP_APPLE_ID,
            bundleId: BUNDLE_ID,
            productId: 'premium_monthly',
            storefrontCountryCodes: ['USA'],
            failedCount: 0,
            succeededCount: 12,
          },
        },
      }),
    outcome: 'recorded',
    state: null,
  },
  {
    name: 'CONSUMPTION_REQUEST',
    before: () => null,
    fixture: (p) =>
      at(p, DAY, {
        type: 'CONSUMPTION_REQUEST',
        transaction: transaction(p, { productId: 'coins_100', type: 'Consumable', expiresDate: undefined }),
      }),
    outcome: 'recorded',
    state: null,
  },
  {
    name: 'EXTERNAL_PURCHASE_TOKEN.UNREPORTED',
    before: () => null,
    fixture: (p) =>
      at(p, DAY, {
        type: 'EXTERNAL_PURCHASE_TOKEN',
        subtype: 'UNREPORTED',
        body: {
          externalPurchaseToken: {
            externalPurchaseId: `SANDBOX_${p.otid}`,
            tokenCreationDate: p.at(0),
            appAppleId: APP_APPLE_ID,
            bundleId: BUNDLE_ID,
          },
        },
      }),
    outcome: 'recorded',
    state: null,
  },
  {
    name: 'ONE_TIME_CHARGE (non-consumable)',
    before: () => null,
    fixture: (p) =>
      at(p, 0, {
        type: 'ONE_TIME_CHARGE',
        transaction: transaction(p, {
          productId: 'remove_ads',
          type: 'Non-Consumable',
          expiresDate: undefined,
        }),
      }),
    outcome: 'product_charged',
    state: () => ({ status: 'active', productId: 'remove_ads', expiresAt: null }),
  },
  {
    name: 'TEST',
    before: () => null,
    fixture: (p) => at(p, 0, { type: 'TEST' }),
    outcome: 'acknowledged',
    state: null,
  },
  {
    name: 'a type this backend does not know (METADATA_UPDATE)',
    fixture: (p) =>
      at(p, DAY, {
        type: 'METADATA_UPDATE',
        transaction: transaction(p, { expiresDate: p.at(90 * DAY) }),
        renewal: renewal(p),
      }),
    outcome: 'acknowledged',
    state: (p) => ({ status: 'active', expiresAt: p.at(30 * DAY) }),
  },
];

describe('POST /webhooks/apple → queue → consumer', () => {
  let handler: StoreHandler;
  let consumer: ConsumerHandler;
  let queue: QueueTap;
  const post = (body: string, base64 = false) => handler(storeRequest('/webhooks/apple', body, {}, base64));

  beforeAll(async () => {
    await useLocalAws();
    Object.assign(process.env, appleEnv('Sandbox'));
    resetConfigCache();
    ({ handler } = (await import('../../functions/apple-notifications/handler')) as {
      handler: StoreHandler;
    });
    ({ handler: consumer } = (await import('../../functions/webhook-consumer/handler')) as {
      handler: ConsumerHandler;
    });
    queue = new QueueTap();
  });
  afterAll(() => {
    for (const name of Object.keys(appleEnv())) delete process.env[name];
  });

  async function deliver(fixture: AppleFixture): Promise<string> {
    const body = appleBody(fixture);
    const response = await post(body);
    expect(response.statusCode, response.body).toBe(200);
    const { messages, failed } = await queue.drainInto(consumer);
    expect(messages).toHaveLength(1);
    expect(failed).toEqual([]);
    return uuidOf(body);
  }

  it.each(cases)('$name → $outcome', async (c) => {
    const p = newPurchase();
    for (const earlier of (c.before ?? ((q: Purchase) => [initialBuy(q)]))(p) ?? []) await deliver(earlier);
    const uuid = await deliver(c.fixture(p));

    expect(await readMarker(`apple:${uuid}`)).toMatchObject({ outcome: c.outcome });
    const stored = await getPurchase(purchaseKey('apple', p.otid));
    if (c.state === null) expect(stored).toBeUndefined();
    else expect(stored).toMatchObject(c.state(p));
  });

  it('queues the envelope Attesto would send, marked as received directly', async () => {
    const p = newPurchase();
    const body = appleBody({
      ...initialBuy(p),
      transaction: transaction(p, { appAccountToken: '5F0C1D8E-7A4B-4C2E-9D3F-2A1B0C9D8E7F' }),
    });
    expect((await post(body, true)).statusCode).toBe(200);
    const [message] = await queue.purge();
    const envelope = JSON.parse(message?.Body ?? '{}');
    expect(envelope).toMatchObject({
      event: 'subscription.purchased',
      reason: 'initial',
      platformEvent: 'apple.subscribed.initial_buy',
      eventId: `apple_${uuidOf(body)}`,
      externalId: uuidOf(body),
      tenantId: 'direct',
      source: 'apple',
      subject: { key: p.otid, productId: 'premium_monthly', type: 'subscription' },
      appUserId: '5F0C1D8E-7A4B-4C2E-9D3F-2A1B0C9D8E7F',
      raw: { signedPayload: JSON.parse(body).signedPayload },
    });
    expect(message?.MessageAttributes?.eventId?.StringValue).toBe(envelope.eventId);
  });

  it('applies a redelivered notification once', async () => {
    const p = newPurchase();
    const body = appleBody(initialBuy(p));
    expect((await post(body)).statusCode).toBe(200);
    expect((await post(body)).statusCode).toBe(200);
    const { messages } = await queue.drainInto(consumer);
    expect(messages).toHaveLength(2);
    expect(await readMarker(`apple:${uuidOf(body)}`)).toMatchObject({ outcome: 'purchased' });
  });

  describe('refused: 401, nothing queued', () => {
    const pki = appleTestPki();
    const p = newPurchase();
    const valid = (): AppleFixture => initialBuy(p);
    const tamper = (body: string): string => {
      const [h, payload, s] = (JSON.parse(body).signedPayload as string).split('.');
      const decoded = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString());
      decoded.notificationType = 'REFUND';
      return JSON.stringify({
        signedPayload: `${h}.${Buffer.from(JSON.stringify(decoded)).toString('base64url')}.${s}`,
      });
    };

    it.each([
      [
        'forged: a complete chain under another root',
        () => appleBody({ ...valid(), signer: pki.foreignSigner }),
      ],
      ['expired signing certificate', () => appleBody({ ...valid(), signer: pki.expiredSigner })],
      ["leaf without Apple's OID", () => appleBody({ ...valid(), signer: pki.leafWithoutOidSigner })],
      [
        "intermediate without Apple's OID",
        () => appleBody({ ...valid(), signer: pki.intermediateWithoutOidSigner }),
      ],
      ['tampered payload (signature no longer matches)', () => tamper(appleBody(valid()))],
      [
        'forged inner transaction in a genuine notification',
        () => appleBody({ ...valid(), innerSigner: pki.foreignSigner }),
      ],
      ['another app (bundle id)', () => appleBody({ ...valid(), bundleId: 'com.other.app' })],
      [
        'another environment (Production on a Sandbox stage)',
        () => appleBody({ ...valid(), environment: 'Production' }),
      ],
      ['not a JWS', () => JSON.stringify({ signedPayload: 'not.a-jws' })],
    ])('%s', async (_name, body) => {
      const response = await post(body());
      expect(response.statusCode).toBe(401);
      expect(JSON.parse(response.body ?? '{}')).toEqual({ error: 'UNAUTHORIZED' });
      expect(await queue.receiveAll()).toEqual([]);
    });
  });

  it('answers 400 to a body without signedPayload and 413 to an oversized one, queueing nothing', async () => {
    expect((await post('{"notification":"v1"}')).statusCode).toBe(400);
    expect((await post('not json')).statusCode).toBe(400);
    expect((await post(JSON.stringify({ signedPayload: 'x'.repeat(256 * 1024) }))).statusCode).toBe(413);
    expect(await queue.receiveAll()).toEqual([]);
  });

  it("answers 503 when Apple's OCSP responder cannot be reached (online checks), never 401", async () => {
    // A chain naming an OCSP responder on a closed loopback port, as Apple's name theirs.
    const unreachable = generateAppleTestPki({ ocspUrl: 'http://127.0.0.1:9/ocsp' });
    const p = newPurchase();
    const fixture = { ...initialBuy(p), signer: unreachable.signer };
    const response = await receiveAppleNotification(storeRequest('/webhooks/apple', appleBody(fixture)), {
      sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
      queueUrl: () => process.env.WEBHOOK_QUEUE_URL ?? '',
      config: () => ({
        rootCertificates: [unreachable.rootDer],
        bundleId: BUNDLE_ID,
        environment: 'Sandbox',
        enableOnlineChecks: true,
        timeoutMs: 3_000,
      }),
    });
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBeDefined();
    expect(await queue.receiveAll()).toEqual([]);
  });

  it('answers 500 when the queue refuses the message, so Apple delivers again', async () => {
    const p = newPurchase();
    const response = await receiveAppleNotification(
      storeRequest('/webhooks/apple', appleBody(initialBuy(p))),
      {
        sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
        queueUrl: () => `${process.env.WEBHOOK_QUEUE_URL}-missing`,
        config: () => ({
          rootCertificates: [appleTestPki().rootDer],
          bundleId: BUNDLE_ID,
          environment: 'Sandbox',
          enableOnlineChecks: false,
        }),
      },
    );
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('queue');
  });
});
