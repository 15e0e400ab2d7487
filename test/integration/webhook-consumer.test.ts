import { randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext } from '../../dev/fixtures/api-event';
import { sqsRecord } from '../../dev/fixtures/sqs-event';
import type { AttestoSandbox } from '../../dev/sandbox/server';
import type { SandboxWebhook } from '../../dev/sandbox/world-types';
import { aliasKey, purchaseKey } from '../../shared/domain/purchase';
import { updateFor } from '../../shared/domain/state-machine';
import { userEntitlements } from '../../shared/purchases/user-entitlements';
import { documentClient } from '../../shared/store/dynamo-client';
import { getPurchase, recordSnapshot } from '../../shared/store/purchases';
import { getOrMintUuid } from '../../shared/store/user-ids';
import { useLocalAws } from '../support/local-aws';
import { eventsOf } from '../support/outbox-stream';
import {
  asDirectEnvelope,
  readItem,
  readMarker,
  sqsEvent,
  startSandboxForConsumer,
} from './webhook-test-kit';

type Handler = (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<SQSBatchResponse>;

describe('webhook consumer (real handler, DynamoDB Local, Attesto sandbox)', () => {
  let sandbox: AttestoSandbox;
  let handler: Handler;
  const consume = (bodies: Array<string | SandboxWebhook>) =>
    handler(sqsEvent(bodies), lambdaContext('webhook-consumer'));
  const markerOf = (w: SandboxWebhook) => `${w.source}:${w.externalId}`;

  // Every DynamoDB command the consumer sends, to hold it to its round-trip budget.
  const commands: string[] = [];

  beforeAll(async () => {
    await useLocalAws();
    sandbox = await startSandboxForConsumer();
    ({ handler } = (await import('../../functions/webhook-consumer/handler')) as { handler: Handler });
    documentClient().middlewareStack.add(
      (next, context) => async (args) => {
        commands.push(context.commandName as string);
        return next(args);
      },
      { step: 'initialize', name: 'countCommands' },
    );
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it("leaves a family member's copy unclaimed even when it carries the purchaser's appUserId", async () => {
    const uuid = await getOrMintUuid(`organiser-${randomUUID()}`, randomUUID);
    const { purchase } = await sandbox.buy({
      platform: 'apple',
      productId: 'premium_yearly',
      appUserId: uuid,
      deliver: false,
    });
    const shared = await sandbox.act(purchase.id, 'family-share', { appUserId: uuid, deliver: false });
    const copy = shared.created;
    if (!copy) throw new Error('family-share created no copy');
    const copyWebhooks = shared.webhooks.filter((w) => w.subject?.key === copy.subjectKey);
    expect(copyWebhooks.length).toBeGreaterThan(0);
    expect(await consume(copyWebhooks)).toEqual({ batchItemFailures: [] });
    const stored = await getPurchase(purchaseKey('apple', copy.subjectKey));
    expect(stored).toMatchObject({ ownership: 'FAMILY_SHARED', status: 'active' });
    expect(stored?.userId).toBeUndefined();
  });

  it('applies an Apple purchase for the user its appUserId names, in four reads and one transaction', async () => {
    const uuid = await getOrMintUuid('alice', randomUUID);
    const { webhooks, purchase } = await sandbox.buy({
      platform: 'apple',
      productId: 'premium_monthly',
      appUserId: uuid,
      deliver: false,
    });
    const [webhook] = webhooks as [SandboxWebhook];
    commands.length = 0;
    expect(await consume([webhook])).toEqual({ batchItemFailures: [] });
    // The user lookup and the purchase read run together; the owner's holdings and outbox item
    // (the event's set is derived from them) as soon as the lookup answers, their UUID not read
    // again; then one transaction.
    expect(commands.slice(0, 2)).toEqual(['GetItemCommand', 'GetItemCommand']);
    expect(commands.slice(2, 4).sort()).toEqual(['GetItemCommand', 'QueryCommand']);
    expect(commands.slice(4)).toEqual(['TransactWriteItemsCommand']);

    const stored = await getPurchase(purchaseKey('apple', purchase.subjectKey));
    expect(stored).toMatchObject({
      userId: 'alice',
      appUserId: uuid,
      productId: 'premium_monthly',
      productType: 'subscription',
      status: 'active',
      willRenew: true,
      environment: 'sandbox',
      ownership: 'PURCHASED',
      appliedAt: JSON.parse(JSON.stringify(webhook.data)).signedDate,
    });
    expect(stored?.expiresAt).toBeGreaterThan(Date.now());
    expect(await readMarker(markerOf(webhook))).toMatchObject({ outcome: 'purchased' });
    // The transaction id leads to the purchase too.
    const tx = purchase.token;
    expect((await readItem(aliasKey('apple-tx', tx)))?.target).toBe(stored?.pk);
  });

  it('tells the owner, not the user the event names, when the purchase already belongs to someone else', async () => {
    const owner = `owner-${randomUUID()}`;
    const named = `named-${randomUUID()}`;
    const ownerUuid = await getOrMintUuid(owner, randomUUID);
    const namedUuid = await getOrMintUuid(named, randomUUID);
    const { webhooks, purchase } = await sandbox.buy({
      platform: 'apple',
      productId: 'premium_monthly',
      appUserId: namedUuid,
      deliver: false,
    });
    const pk = purchaseKey('apple', purchase.subjectKey);
    const dayAgo = Date.now() - 86_400_000;
    await recordSnapshot({
      pk,
      update: updateFor({
        kind: 'snapshot',
        occurredAt: dayAgo,
        fields: {
          productId: 'premium_monthly',
          productType: 'subscription',
          expiresAt: dayAgo + 30 * 86_400_000,
        },
      }),
      owner: { userId: owner, mode: 'claim' },
    });
    expect(await consume(webhooks)).toEqual({ batchItemFailures: [] });

    expect((await getPurchase(pk))?.userId).toBe(owner);
    const ownerEvents = await eventsOf(owner);
    expect(ownerEvents.map((e) => e.sequence)).toEqual([1, 2]);
    expect(ownerEvents[1]?.event.data).toMatchObject({ appUserId: ownerUuid, userId: owner });
    expect(ownerEvents[1]?.event.data.entitlements).toEqual(await userEntitlements(owner));
    expect(await eventsOf(named)).toEqual([]);
  });

  it('applies an event once: a redelivery and the same store event sent directly are duplicates', async () => {
    const { webhooks, purchase } = await sandbox.buy({
      platform: 'apple',
      productId: 'premium_monthly',
      deliver: false,
    });
    const ref = purchase.id;
    const renewed = (await sandbox.act(ref, 'renew', { deliver: false })).webhooks[0] as SandboxWebhook;
    expect(await consume([webhooks[0] as SandboxWebhook, renewed])).toEqual({ batchItemFailures: [] });
    const pk = purchaseKey('apple', purchase.subjectKey);
    const before = await readItem(pk);

    expect(await consume([renewed, asDirectEnvelope(renewed)])).toEqual({ batchItemFailures: [] });
    const after = await readItem(pk);
    expect(after?.rev).toBe(before?.rev);
    expect(await readMarker(`apple_${renewed.externalId}`)).toBeUndefined();
  });

  it('never moves a purchase backwards: an older event after a newer one only fills blanks', async () => {
    const { webhooks, purchase } = await sandbox.buy({
      platform: 'apple',
      productId: 'premium_monthly',
      deliver: false,
    });
    const expired = (await sandbox.act(purchase.id, 'expire', { deliver: false }))
      .webhooks[0] as SandboxWebhook;
    expect(await consume([expired])).toEqual({ batchItemFailures: [] });
    expect(await consume([webhooks[0] as SandboxWebhook])).toEqual({ batchItemFailures: [] });
    const stored = await getPurchase(purchaseKey('apple', purchase.subjectKey));
    expect(stored?.status).toBe('expired');
    expect(stored?.willRenew).toBe(false);
    expect(await readMarker(markerOf(webhooks[0] as SandboxWebhook))).toBeDefined();
  });

  it('acknowledges test and unknown events and records tier-3 events, without touching purchases', async () => {
    const { webhooks } = await sandbox.buy({
      platform: 'apple',
      productId: 'premium_monthly',
      deliver: false,
    });
    const base = webhooks[0] as SandboxWebhook;
    const probe = {
      ...base,
      event: 'test',
      platformEvent: 'apple.test',
      subject: null,
      externalId: randomUUID(),
      eventId: `evt_${randomUUID()}`,
    };
    const unknown = {
      ...base,
      event: 'unknown',
      platformEvent: 'apple.something_new',
      externalId: randomUUID(),
      eventId: `evt_${randomUUID()}`,
    };
    const priceChange = {
      ...base,
      event: 'subscription.price_change_pending',
      platformEvent: 'apple.price_increase.pending',
      externalId: randomUUID(),
      eventId: `evt_${randomUUID()}`,
    };
    expect(await consume([probe, unknown, priceChange])).toEqual({ batchItemFailures: [] });
    expect(await readMarker(markerOf(probe))).toMatchObject({ outcome: 'acknowledged' });
    expect(await readMarker(markerOf(unknown))).toMatchObject({ outcome: 'acknowledged' });
    expect(await readMarker(markerOf(priceChange))).toMatchObject({ outcome: 'recorded' });
    expect(await readItem(purchaseKey('apple', base.subject?.key as string))).toBeUndefined();
  });

  it('reports poison records as failed (so they reach the DLQ) without failing the rest of the batch', async () => {
    const { webhooks } = await sandbox.buy({ platform: 'apple', productId: 'remove_ads', deliver: false });
    const good = webhooks[0] as SandboxWebhook;
    const event: SQSEvent = {
      Records: [
        sqsRecord('{not json', 'bad-json'),
        sqsRecord(JSON.stringify({ hello: 'world' }), 'not-an-envelope'),
        sqsRecord(
          JSON.stringify({
            ...good,
            data: { ...good.data, data: { ...(good.data.data as object), signedTransactionInfo: 'x.y.z' } },
            externalId: randomUUID(),
          }),
          'bad-jws',
        ),
        sqsRecord(JSON.stringify(good), 'good'),
      ],
    };
    const result = await handler(event, lambdaContext('webhook-consumer'));
    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([
      'bad-json',
      'bad-jws',
      'not-an-envelope',
    ]);
    const stored = await getPurchase(purchaseKey('apple', good.subject?.key as string));
    expect(stored).toMatchObject({ productType: 'product', status: 'active', expiresAt: null });
  });

  it('keeps an orphan purchase when no user is known, and leaves its owner to a later claim', async () => {
    const { webhooks, purchase } = await sandbox.buy({
      platform: 'apple',
      productId: 'premium_yearly',
      appUserId: randomUUID(),
      deliver: false,
    });
    expect(await consume(webhooks)).toEqual({ batchItemFailures: [] });
    const stored = await getPurchase(purchaseKey('apple', purchase.subjectKey));
    expect(stored?.userId).toBeUndefined();
    expect(stored?.status).toBe('active');
  });

  it('re-reads Google subscriptions through Attesto with the current token and aliases token and order', async () => {
    const uuid = await getOrMintUuid('bob', randomUUID);
    const bought = await sandbox.buy({
      platform: 'google',
      productId: 'premium_monthly',
      appUserId: uuid,
      deliver: false,
    });
    const token = bought.purchase.token;
    const renewed = await sandbox.act(bought.purchase.id, 'renew', { deliver: false });
    sandbox.resetStats();
    commands.length = 0;
    expect(await consume([bought.webhooks[0] as SandboxWebhook])).toEqual({ batchItemFailures: [] });
    expect(sandbox.stats().verify.google).toBe(1);
    // The user lookup and the purchase read run together; the owner's holdings and outbox item
    // (the event's set is derived from them) as soon as the lookup answers, their UUID not read
    // again; then one transaction.
    expect(commands.slice(0, 2)).toEqual(['GetItemCommand', 'GetItemCommand']);
    expect(commands.slice(2, 4).sort()).toEqual(['GetItemCommand', 'QueryCommand']);
    expect(commands.slice(4)).toEqual(['TransactWriteItemsCommand']);

    const pk = purchaseKey('google', token);
    const stored = await getPurchase(pk);
    // The re-read gives the store's state now (already renewed), ordered at the event's time.
    expect(stored).toMatchObject({
      userId: 'bob',
      status: 'active',
      productType: 'subscription',
      willRenew: true,
    });
    expect(stored?.expiresAt).toBe(Date.parse(renewed.purchase.expiresAt as string));
    expect((await readItem(aliasKey('google-token', token)))?.target).toBe(pk);
    expect(
      (
        await readItem(
          aliasKey('google-order', (renewed.purchase.record as { latestOrderId: string }).latestOrderId),
        )
      )?.target,
    ).toBe(pk);

    // Refund and revoke: the voided notification has no subject and is found through the aliases;
    // the token is re-read and the purchase takes the state Google reports (ended).
    const refund = (await sandbox.act(bought.purchase.id, 'refund', { deliver: false }))
      .webhooks[0] as SandboxWebhook;
    expect(refund.subject).toBeNull();
    expect(await consume([renewed.webhooks[0] as SandboxWebhook, refund])).toEqual({ batchItemFailures: [] });
    expect((await getPurchase(pk))?.status).toBe('expired');
    expect(await readMarker(markerOf(refund))).toMatchObject({ outcome: 'voided' });
  });

  it('follows an upgrade to the root purchase: the new token becomes an alias of the root', async () => {
    const bought = await sandbox.buy({ platform: 'google', productId: 'premium_monthly', deliver: false });
    const upgraded = await sandbox.act(bought.purchase.id, 'upgrade', {
      newProductId: 'premium_yearly',
      deliver: false,
    });
    expect(
      await consume([bought.webhooks[0] as SandboxWebhook, upgraded.webhooks[0] as SandboxWebhook]),
    ).toEqual({
      batchItemFailures: [],
    });
    const rootPk = purchaseKey('google', bought.purchase.token);
    expect(await getPurchase(rootPk)).toMatchObject({ productId: 'premium_yearly', status: 'active' });
    const newToken = upgraded.created?.token as string;
    expect((await readItem(aliasKey('google-token', newToken)))?.target).toBe(rootPk);
  });

  it('records a voided purchase nobody knows as unmatched instead of losing it', async () => {
    const bought = await sandbox.buy({ platform: 'google', productId: 'remove_ads', deliver: false });
    const refund = (await sandbox.act(bought.purchase.id, 'refund', { deliver: false }))
      .webhooks[0] as SandboxWebhook;
    expect(await consume([refund])).toEqual({ batchItemFailures: [] });
    expect(await readMarker(markerOf(refund))).toMatchObject({ outcome: 'unmatched' });
  });

  it('applies Google one-time products re-read as products', async () => {
    const bought = await sandbox.buy({ platform: 'google', productId: 'coins_100', deliver: false });
    expect(await consume(bought.webhooks)).toEqual({ batchItemFailures: [] });
    const stored = await getPurchase(purchaseKey('google', bought.purchase.token));
    expect(stored).toMatchObject({
      productId: 'coins_100',
      productType: 'consumable',
      status: 'active',
      expiresAt: null,
    });
  });

  it('leaves a record for SQS to retry when Attesto is unavailable, and applies it later', async () => {
    const bought = await sandbox.buy({ platform: 'google', productId: 'premium_yearly', deliver: false });
    const webhook = bought.webhooks[0] as SandboxWebhook;
    sandbox.setKnobs({ errorRate: 1 });
    try {
      const event = sqsEvent([webhook]);
      const result = await handler(event, lambdaContext('webhook-consumer'));
      expect(result.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]?.messageId }]);
      expect(await readMarker(markerOf(webhook))).toBeUndefined();
    } finally {
      sandbox.setKnobs({ errorRate: 0 });
    }
    expect(await consume([webhook])).toEqual({ batchItemFailures: [] });
    expect(await readMarker(markerOf(webhook))).toMatchObject({ outcome: 'purchased' });
  });
});
