// History written in the same transaction as the change it records: by verify, restore, Attesto's
// webhook and the stores' direct notifications; none for a duplicate or an event that changes
// nothing; and neither state nor history when the transaction fails.
import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext } from '../../dev/fixtures/api-event';
import type { AttestoSandbox } from '../../dev/sandbox/server';
import type { SandboxWebhook } from '../../dev/sandbox/world-types';
import { purchaseKey } from '../../shared/domain/purchase';
import { updateFor } from '../../shared/domain/state-machine';
import { defaultDeps } from '../../shared/purchases/dependencies';
import { restorePurchases } from '../../shared/purchases/restore';
import { verifyApplePurchase } from '../../shared/purchases/verify-apple';
import { documentClient, tableName } from '../../shared/store/dynamo-client';
import { historyOfPurchase, historyOfUser, historyRetention } from '../../shared/store/history';
import { applyEvent } from '../../shared/store/processed-events';
import { getPurchase, recordSnapshot } from '../../shared/store/purchases';
import { getOrMintUuid } from '../../shared/store/user-ids';
import { useLocalAws } from '../support/local-aws';
import { ev, MONTH, T } from '../support/purchase-histories';
import { asDirectEnvelope, readMarker, sqsEvent, startSandboxForConsumer } from './webhook-test-kit';

type Handler = (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<SQSBatchResponse>;

let sandbox: AttestoSandbox;
let handler: Handler;
const consume = (bodies: SandboxWebhook[]) => handler(sqsEvent(bodies), lambdaContext('webhook-consumer'));
const newPk = () => purchaseKey('apple', `h${Math.floor(Math.random() * 1e15)}`);
const records = async (pk: string) => (await historyOfPurchase(pk)).records;

beforeAll(async () => {
  await useLocalAws();
  sandbox = await startSandboxForConsumer();
  ({ handler } = (await import('../../functions/webhook-consumer/handler')) as { handler: Handler });
});
afterAll(async () => {
  await sandbox?.stop();
});

describe('history of a purchase', () => {
  it('records a verify with its caller, the changed fields before and after and the owner; a repeat records nothing', async () => {
    const user = `hist-${randomUUID()}`;
    const { purchase } = await sandbox.buy({
      platform: 'apple',
      productId: 'premium_monthly',
      deliver: false,
    });
    const answer = await verifyApplePurchase(user, {
      transactionId: purchase.token,
      productId: 'premium_monthly',
      type: undefined,
    });
    expect(answer).toMatchObject({ valid: true });
    const pk = purchaseKey('apple', purchase.subjectKey);
    const [first, ...older] = await records(pk);
    expect(older).toEqual([]);
    expect(first).toMatchObject({
      pk,
      cause: { source: 'verify', caller: user },
      ownerBefore: null,
      ownerAfter: user,
      before: { status: null, productId: null, userId: null },
      after: { status: 'active', productId: 'premium_monthly', userId: user },
    });
    expect(Date.parse(first?.at ?? '')).not.toBeNaN();

    // The SDK's retry of the same verify changes nothing: no record, and not even a write.
    const stored = await getPurchase(pk);
    await verifyApplePurchase(user, {
      transactionId: purchase.token,
      productId: 'premium_monthly',
      type: undefined,
    });
    expect(await records(pk)).toHaveLength(1);
    expect(await getPurchase(pk)).toEqual(stored);
  });

  it('records a restore as a restore', async () => {
    const user = `hist-${randomUUID()}`;
    const { purchase } = await sandbox.buy({ platform: 'apple', productId: 'remove_ads', deliver: false });
    const answer = await restorePurchases(
      user,
      [{ platform: 'apple', productId: 'remove_ads', transactionId: purchase.token }],
      {},
      defaultDeps(),
    );
    expect(answer.valid).toBe(true);
    const [record] = await records(purchaseKey('apple', purchase.subjectKey));
    expect(record).toMatchObject({
      cause: { source: 'restore', caller: user },
      ownerAfter: user,
      after: { productId: 'remove_ads', userId: user },
    });
  });

  it("records Attesto's webhook with event and marker ids; a redelivery and a no-op stale event record nothing", async () => {
    const uuid = await getOrMintUuid(`hist-${randomUUID()}`, randomUUID);
    const { webhooks, purchase } = await sandbox.buy({
      platform: 'apple',
      productId: 'premium_monthly',
      appUserId: uuid,
      deliver: false,
    });
    const bought = webhooks[0] as SandboxWebhook;
    const renewed = (await sandbox.act(purchase.id, 'renew', { deliver: false }))
      .webhooks[0] as SandboxWebhook;
    expect(await consume([bought])).toEqual({ batchItemFailures: [] });
    expect(await consume([renewed])).toEqual({ batchItemFailures: [] });
    const pk = purchaseKey('apple', purchase.subjectKey);
    const [second, first] = await records(pk);
    expect(first).toMatchObject({
      cause: {
        source: 'attesto-webhook',
        eventId: bought.eventId,
        markerId: `apple:${bought.externalId}`,
        event: 'purchased',
      },
      ownerBefore: null,
      before: { status: null },
      after: { status: 'active' },
    });
    expect(first?.ownerAfter).toEqual(expect.any(String));
    expect(second).toMatchObject({
      cause: { source: 'attesto-webhook', eventId: renewed.eventId, event: 'renewed' },
      before: { expiresAt: expect.any(Number) },
      after: { expiresAt: expect.any(Number) },
    });
    expect(second?.after.expiresAt as number).toBeGreaterThan(second?.before.expiresAt as number);
    expect(second && Object.keys(second.after)).not.toContain('productId'); // only what changed

    // The same store event again (redelivered, and sent directly) is a duplicate: no record.
    expect(await consume([renewed, asDirectEnvelope(renewed)])).toEqual({ batchItemFailures: [] });
    // An older event arriving late whose fields are all set already changes nothing: no record.
    const late = { ...bought, eventId: `evt_${randomUUID()}`, externalId: randomUUID() };
    expect(await consume([late])).toEqual({ batchItemFailures: [] });
    expect(await readMarker(`apple:${late.externalId}`)).toMatchObject({ pk: `apple:${late.externalId}` });
    expect(await records(pk)).toHaveLength(2);
  });

  it("records the stores' direct notifications by store", async () => {
    const { webhooks, purchase } = await sandbox.buy({
      platform: 'apple',
      productId: 'premium_monthly',
      deliver: false,
    });
    const direct = asDirectEnvelope(webhooks[0] as SandboxWebhook);
    expect(await consume([direct])).toEqual({ batchItemFailures: [] });
    const [record] = await records(purchaseKey('apple', purchase.subjectKey));
    expect(record).toMatchObject({
      cause: { source: 'apple-direct', eventId: direct.eventId, markerId: `apple:${direct.externalId}` },
      after: { status: 'active' },
    });

    const google = await sandbox.buy({ platform: 'google', productId: 'premium_monthly', deliver: false });
    const googleDirect = asDirectEnvelope(google.webhooks[0] as SandboxWebhook);
    expect(await consume([googleDirect])).toEqual({ batchItemFailures: [] });
    const [googleRecord] = await records(purchaseKey('google', google.purchase.subjectKey));
    expect(googleRecord).toMatchObject({ cause: { source: 'google-direct', eventId: googleDirect.eventId } });
  });

  it('lists a purchase under its owner, and a move under both users, newest first', async () => {
    const pk = newPk();
    const [alice, bob] = [`hist-a-${randomUUID()}`, `hist-b-${randomUUID()}`];
    await recordSnapshot({
      pk,
      update: updateFor(
        ev('snapshot', T, { status: 'active', productId: 'premium_monthly', expiresAt: T + MONTH }),
      ),
      owner: { userId: alice, mode: 'claim' },
    });
    await recordSnapshot({
      pk,
      update: updateFor(
        ev('snapshot', T, { status: 'active', productId: 'premium_monthly', expiresAt: T + MONTH }),
      ),
      owner: { userId: bob, mode: 'set' },
      cause: { source: 'operator', operator: 'support@example.com', reason: 'new account' },
    });
    const [move, claim] = await records(pk);
    expect(claim).toMatchObject({ ownerBefore: null, ownerAfter: alice, sk: '000000000001' });
    expect(move).toMatchObject({
      sk: '000000000002',
      ownerBefore: alice,
      ownerAfter: bob,
      before: { userId: alice },
      after: { userId: bob },
      cause: { source: 'operator', operator: 'support@example.com', reason: 'new account' },
    });
    // The user indexes are eventually consistent; DynamoDB Local answers at once.
    expect((await historyOfUser(alice)).map((r) => r.sk)).toEqual(['000000000002', '000000000001']);
    expect((await historyOfUser(bob)).map((r) => r.sk)).toEqual(['000000000002']);
    // Pages, newest first.
    const page = await historyOfPurchase(pk, { limit: 1 });
    expect(page.records.map((r) => r.sk)).toEqual(['000000000002']);
    const rest = await historyOfPurchase(pk, { limit: 1, ...(page.next ? { after: page.next } : {}) });
    expect(rest.records.map((r) => r.sk)).toEqual(['000000000001']);
  });

  it('keeps history forever by default; a retention in days sets each record to expire', async () => {
    expect(historyRetention({})).toBeUndefined();
    expect(historyRetention({ HISTORY_RETENTION_DAYS: '' })).toBeUndefined();
    expect(historyRetention({ HISTORY_RETENTION_DAYS: '365' })).toBe(365);
    expect(() => historyRetention({ HISTORY_RETENTION_DAYS: '0' })).toThrow(/HISTORY_RETENTION_DAYS/);
  });
});

describe('history and state are written together', () => {
  it('a failed transaction leaves neither the change nor its history, and the retry writes both once', async () => {
    const pk = newPk();
    const eventId = `evt_${randomUUID()}`;
    const update = updateFor(ev('renewed', T + MONTH, { expiresAt: T + 2 * MONTH }));
    // Only the transaction is made to fail (as a request DynamoDB refuses); every read is real.
    const refused = Object.assign(new Error('Transaction cancelled'), {
      name: 'TransactionCanceledException',
      CancellationReasons: [{ Code: 'None' }, { Code: 'None' }, { Code: 'ValidationError' }],
      $metadata: { httpStatusCode: 400 },
    });
    let refuse = true;
    const stack = documentClient().middlewareStack;
    stack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'TransactWriteItemsCommand' && refuse) {
          refuse = false;
          throw refused;
        }
        return next(args);
      },
      { step: 'initialize', name: 'refuseOneTransaction' },
    );
    try {
      await expect(applyEvent({ eventId, outcome: 'renewed', pk, update })).rejects.toBe(refused);
    } finally {
      stack.remove('refuseOneTransaction');
    }
    expect(await getPurchase(pk)).toBeUndefined();
    expect(await records(pk)).toEqual([]);
    expect(await readMarker(eventId)).toBeUndefined();

    expect(await applyEvent({ eventId, outcome: 'renewed', pk, update })).toEqual({ result: 'applied' });
    expect(await getPurchase(pk)).toMatchObject({ expiresAt: T + 2 * MONTH });
    expect(await records(pk)).toHaveLength(1);
  });

  it('a history record that cannot be written cancels the change with it', async () => {
    const pk = newPk();
    const update = updateFor(ev('renewed', T + MONTH, { expiresAt: T + 2 * MONTH }));
    // A record already holding the next number (as if written outside the transaction): the
    // append-only condition fails, and DynamoDB cancels the purchase write with it.
    await documentClient().send(
      new PutCommand({ TableName: tableName('HISTORY_TABLE'), Item: { pk, sk: '000000000001', at: 'x' } }),
    );
    await expect(recordSnapshot({ pk, update })).rejects.toMatchObject({
      name: 'TransactionCanceledException',
    });
    expect(await getPurchase(pk)).toBeUndefined();
    expect(await records(pk)).toHaveLength(1);
  });
});
