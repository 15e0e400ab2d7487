// Reconciliation against DynamoDB Local and the Attesto sandbox: the write path keeps the due
// index, a pass reads only what is due, applies Attesto's answer through the ordered write path
// (history source "reconciliation"), stays inside its Attesto budget, leaves everything due when
// Attesto fails, and two passes at once apply each change once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lambdaContext } from '../../dev/fixtures/api-event';
import type { AttestoSandbox } from '../../dev/sandbox/server';
import { purchaseKey } from '../../shared/domain/purchase';
import { verifyGooglePurchase } from '../../shared/purchases/verify-google';
import { reconcilePass } from '../../shared/reconcile/pass';
import { defaultReconcileDeps } from '../../shared/reconcile/run';
import { historyOfPurchase } from '../../shared/store/history';
import { getPurchase } from '../../shared/store/purchases';
import { useLocalAws } from '../support/local-aws';
import { readItem, sqsEvent, startSandboxForConsumer } from './webhook-test-kit';

let sandbox: AttestoSandbox;
// The sandbox's month lasts 5 minutes and checks wait 10 minutes after expiry: a pass 16 minutes
// ahead finds a new subscription due, and the same one renewed once not yet due again.
const AHEAD = 16 * 60_000;

beforeAll(async () => {
  sandbox = await startSandboxForConsumer();
});
afterAll(async () => {
  await sandbox?.stop();
});
// Each test counts what is due in a table of its own.
beforeEach(async () => {
  await useLocalAws();
  Object.assign(process.env, { ATTESTO_URL: sandbox.url, ATTESTO_API_KEY: sandbox.apiKey });
  sandbox.setKnobs({ burst429: 0, errorRate: 0 });
});

/** A Google monthly subscription bought and verified by a user, its webhooks never sent. */
async function verifiedGoogleSubscription() {
  const user = `rec-${randomUUID()}`;
  const { purchase } = await sandbox.buy({
    platform: 'google',
    productId: 'premium_monthly',
    deliver: false,
  });
  const answer = await verifyGooglePurchase(user, {
    productId: 'premium_monthly',
    purchaseToken: purchase.token,
    type: 'subscription',
    packageName: undefined,
  });
  expect(answer).toMatchObject({ valid: true });
  return { user, purchase, pk: purchaseKey('google', purchase.subjectKey) };
}

/** A pass as if `aheadMs` had passed, so stored expiries are behind it. */
function pass(aheadMs: number, options: { maxCalls?: number; concurrency?: number } = {}) {
  const now = () => Date.now() + aheadMs;
  return reconcilePass(
    { maxCalls: options.maxCalls ?? 50, concurrency: options.concurrency ?? 4, deadline: now() + 60_000 },
    defaultReconcileDeps({ now }),
  );
}

const reconciliationRecords = async (pk: string) =>
  (await historyOfPurchase(pk)).records.filter((r) => r.cause.source === 'reconciliation');

describe('the due index, kept by the write path', () => {
  it('places a verified subscription at its expiry plus the delay, and takes it out once it has expired', async () => {
    const { pk, purchase } = await verifiedGoogleSubscription();
    const item = await readItem(pk);
    const expiresAt = Date.parse(purchase.expiresAt as string);
    expect(item?.checkDue).toMatch(/^due#\d$/);
    expect(item?.checkAt).toBe(new Date(expiresAt + 600_000).toISOString());
    expect(item?.checkAttempts).toBe(0);

    await sandbox.act(purchase.id, 'expire', { deliver: false });
    const summary = await pass(AHEAD);
    expect(summary).toMatchObject({ checked: 1, changed: 1, failed: 0, stillDue: 0 });
    const after = await readItem(pk);
    expect(after?.status).toBe('expired');
    expect(after?.checkDue).toBeUndefined();
    expect(after?.checkAt).toBeUndefined();
  });

  it('a purchase whose check time has not come is not read', async () => {
    await verifiedGoogleSubscription();
    const summary = await pass(0);
    expect(summary).toMatchObject({ checked: 0, changed: 0, failed: 0, stillDue: 0, attestoCalls: 0 });
  });
});

describe('a reconciliation pass', () => {
  it('applies a renewal whose notification never arrived, recorded as reconciliation', async () => {
    const { pk, purchase, user } = await verifiedGoogleSubscription();
    const renewed = await sandbox.act(purchase.id, 'renew', { deliver: false });
    const before = await getPurchase(pk);
    const summary = await pass(AHEAD);
    expect(summary).toMatchObject({ checked: 1, changed: 1, failed: 0 });
    const after = await getPurchase(pk);
    expect(after?.expiresAt).toBe(Date.parse(renewed.purchase.expiresAt as string));
    expect(after?.expiresAt).toBeGreaterThan(before?.expiresAt as number);
    expect(after?.userId).toBe(user);
    const [record, ...more] = await reconciliationRecords(pk);
    expect(more).toEqual([]);
    expect(record?.after).toMatchObject({ expiresAt: after?.expiresAt });
    // Due again shortly after the new expiry, not before.
    expect((await readItem(pk))?.checkAt).toBe(
      new Date((after?.expiresAt as number) + 600_000).toISOString(),
    );
  });

  it('applies a renewal over the events the purchase already applied (a check is ordered at its own time)', async () => {
    const user = `rec-${randomUUID()}`;
    const { purchase, webhooks } = await sandbox.buy({
      platform: 'google',
      productId: 'premium_monthly',
      deliver: false,
    });
    const pk = purchaseKey('google', purchase.subjectKey);
    await verifyGooglePurchase(user, {
      productId: 'premium_monthly',
      purchaseToken: purchase.token,
      type: 'subscription',
      packageName: undefined,
    });
    const consumer = (await import('../../functions/webhook-consumer/handler')) as {
      handler: (event: unknown, context: unknown) => Promise<unknown>;
    };
    await consumer.handler(sqsEvent(webhooks), lambdaContext('webhook-consumer'));
    expect((await readItem(pk))?.appliedOrder).toBeGreaterThan(0);
    const renewed = await sandbox.act(purchase.id, 'renew', { deliver: false });
    const summary = await pass(AHEAD);
    expect(summary).toMatchObject({ checked: 1, changed: 1, failed: 0 });
    expect((await getPurchase(pk))?.expiresAt).toBe(Date.parse(renewed.purchase.expiresAt as string));
  });

  it('a check that changes nothing backs the purchase off instead of asking again at once', async () => {
    const { pk } = await verifiedGoogleSubscription();
    const first = await pass(AHEAD);
    expect(first).toMatchObject({ checked: 1, changed: 0, failed: 0, stillDue: 0 });
    const item = await readItem(pk);
    expect(item?.checkAttempts).toBe(1);
    expect(Date.parse(item?.checkAt as string)).toBeGreaterThan(Date.now() + AHEAD);
    expect(await reconciliationRecords(pk)).toEqual([]);
  });

  it('Attesto answering 429 or 5xx changes nothing, leaves the purchases due and reports the failures', async () => {
    const a = await verifiedGoogleSubscription();
    const b = await verifiedGoogleSubscription();
    await sandbox.act(a.purchase.id, 'renew', { deliver: false });
    const itemsBefore = [await readItem(a.pk), await readItem(b.pk)];
    sandbox.setKnobs({ errorRate: 1 });
    const failing = await pass(AHEAD);
    expect(failing).toMatchObject({ checked: 0, changed: 0, failed: 2, stillDue: 2 });
    sandbox.setKnobs({ errorRate: 0, burst429: 100, retryAfterSeconds: 1 });
    const limited = await pass(AHEAD);
    expect(limited).toMatchObject({ checked: 0, changed: 0, failed: 2, stillDue: 2 });
    expect([await readItem(a.pk), await readItem(b.pk)]).toEqual(itemsBefore);

    sandbox.setKnobs({ burst429: 0 });
    const healed = await pass(AHEAD);
    expect(healed).toMatchObject({ checked: 2, changed: 1, failed: 0, stillDue: 0 });
  });

  it('never makes more Attesto calls than its budget; the rest stay due for the next pass', async () => {
    for (let i = 0; i < 5; i++) await verifiedGoogleSubscription();
    const before = sandbox.stats().verify.total;
    const summary = await pass(AHEAD, { maxCalls: 2, concurrency: 3 });
    expect(sandbox.stats().verify.total - before).toBe(2);
    expect(summary).toMatchObject({ checked: 2, attestoCalls: 2, stillDue: 3 });

    // Failing calls count too: with every answer a 502 (which the client would retry), still 2.
    sandbox.setKnobs({ errorRate: 1 });
    const failingBefore = sandbox.stats().verify.total;
    const failing = await pass(AHEAD, { maxCalls: 2, concurrency: 3 });
    expect(sandbox.stats().verify.total - failingBefore).toBeLessThanOrEqual(2);
    expect(failing.attestoCalls).toBeLessThanOrEqual(2);
    expect(failing.stillDue).toBe(3);
  });

  it('two passes at once apply each change once', async () => {
    const subscriptions = [await verifiedGoogleSubscription(), await verifiedGoogleSubscription()];
    for (const s of subscriptions) await sandbox.act(s.purchase.id, 'renew', { deliver: false });
    const [one, two] = await Promise.all([pass(AHEAD), pass(AHEAD)]);
    expect(one.changed + two.changed).toBe(2);
    expect(one.failed + two.failed).toBe(0);
    for (const s of subscriptions) expect(await reconciliationRecords(s.pk)).toHaveLength(1);
  });
});
