// Figure 6: a reconciliation pass over 10 000 purchases of which 1% are due (Google subscriptions
// whose stored expiry has passed, renewed at the sandbox without a webhook). The pass reads the
// sparse due index only; its read units are counted with ReturnConsumedCapacity, next to what
// one scan of the table costs.
import { randomUUID } from 'node:crypto';
import { BatchWriteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { purchaseKey } from '../shared/domain/purchase';
import { verifyGooglePurchase } from '../shared/purchases/verify-google';
import { reconcilePass } from '../shared/reconcile/pass';
import { defaultReconcileDeps } from '../shared/reconcile/run';
import { checkAttributesFor } from '../shared/store/check-due-attributes';
import { documentClient, tableName } from '../shared/store/dynamo-client';
import type { LocalStack } from './local-stack';

export interface ReconcileFigure {
  purchases: number;
  due: number;
  checked: number;
  changed: number;
  failed: number;
  stillDue: number;
  attestoCalls: number;
  /** Read units the pass spent (finding the due items and counting what is left). */
  passReadUnits: number;
  /** Read units of one scan of the whole table: what a pass without the index would spend at least. */
  scanReadUnits: number;
  passMs: number;
  budgetMs: number;
}

const DAY = 86_400_000;

/** A stored purchase nothing is due for yet (active, expiring in 20 days), as the write path lays it out. */
function notDueItem(now: number): Record<string, unknown> {
  const subjectKey = `bench-${randomUUID()}`;
  const pk = purchaseKey('google', subjectKey);
  const base = {
    pk,
    platform: 'google' as const,
    subjectKey,
    userId: `bench-user-${subjectKey}`,
    productId: 'premium_monthly',
    productType: 'subscription' as const,
    status: 'active' as const,
    expiresAt: now + 20 * DAY,
    willRenew: true,
    environment: 'production' as const,
    ownership: 'PURCHASED' as const,
    latestTransactionId: `GPA.${subjectKey}`,
    appliedAt: now - 10 * DAY,
    appliedOrder: (now - 10 * DAY) * 32,
    createdAt: new Date(now - 10 * DAY).toISOString(),
    updatedAt: new Date(now - 10 * DAY).toISOString(),
    rev: 1,
  };
  const check = checkAttributesFor({ ...base, fieldOrder: {} }, now);
  if (!check.due) throw new Error('an active subscription is always scheduled');
  const { due: _due, ...attributes } = check;
  return { ...base, ...attributes };
}

export async function measureReconcile(
  stack: LocalStack,
  options: { purchases: number; duePercent: number; budgetMs: number },
): Promise<ReconcileFigure> {
  await stack.freshTables(`bench-reconcile-${Date.now()}-`);
  const due = Math.round((options.purchases * options.duePercent) / 100);
  const table = tableName('PURCHASES_TABLE');
  const now = Date.now();
  const filler = Array.from({ length: options.purchases - due }, () => notDueItem(now));
  for (let i = 0; i < filler.length; i += 25) {
    const chunk = filler.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    let pending: typeof chunk | undefined = chunk;
    while (pending && pending.length > 0) {
      const out = await documentClient().send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      pending = out.UnprocessedItems?.[table] as typeof chunk | undefined;
    }
  }

  // The due ones go through verify (the real write path), then renew at the sandbox unseen.
  // Long enough that the renewed expiries are still ahead when the pass ends.
  const periodMs = 30_000;
  const expiries: number[] = [];
  for (let i = 0; i < due; i++) {
    const { purchase } = await stack.sandbox.buy({
      platform: 'google',
      productId: 'premium_monthly',
      periodMs,
      deliver: false,
    });
    await verifyGooglePurchase(`bench-due-${i}`, {
      productId: 'premium_monthly',
      purchaseToken: purchase.token,
      type: 'subscription',
      packageName: undefined,
    });
    await stack.sandbox.act(purchase.id, 'renew', { deliver: false });
    expiries.push(Date.parse(purchase.expiresAt as string));
  }
  // Until every stored expiry is behind us (a subscription is due from then, with no delay here).
  const last = Math.max(...expiries);
  while (Date.now() <= last) await new Promise((r) => setTimeout(r, 100));

  const started = performance.now();
  const summary = await reconcilePass(
    { maxCalls: due * 2, concurrency: 4, deadline: Date.now() + options.budgetMs },
    defaultReconcileDeps(),
  );
  const passMs = performance.now() - started;

  let scanReadUnits = 0;
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await documentClient().send(
      new ScanCommand({
        TableName: table,
        Select: 'COUNT',
        ReturnConsumedCapacity: 'TOTAL',
        ExclusiveStartKey,
      }),
    );
    scanReadUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);

  return {
    purchases: options.purchases,
    due,
    checked: summary.checked,
    changed: summary.changed,
    failed: summary.failed,
    stillDue: summary.stillDue,
    attestoCalls: summary.attestoCalls,
    passReadUnits: summary.readUnits,
    scanReadUnits,
    passMs,
    budgetMs: options.budgetMs,
  };
}
