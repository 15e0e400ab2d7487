// What a user holds: their purchases and promotional grants, read together from the purchases
// table's byUser index (grant items carry `userId` too).
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type Grant, isGrantPk } from '../domain/grant';
import type { Purchase } from '../domain/purchase';
import { documentClient, storeError, tableName } from './dynamo-client';
import { isPurchaseItem, purchaseFromItem } from './purchase-writes';
import { BY_USER_INDEX } from './tables';

/** Everything a user holds: their purchases and their promotional grants. */
export interface Holdings {
  purchases: Purchase[];
  grants: Grant[];
  /**
   * Each item's write counter (`rev`) by key, as the index showed it, so a write deriving the
   * user's entitlement set from these copies can pin them (outbox.ts). Absent: unknown.
   */
  revs?: Record<string, number>;
}

export type GrantItem = Grant & { pk: string; rev: number };

export function grantFromItem(item: Record<string, unknown>): GrantItem {
  return item as unknown as GrantItem;
}

/**
 * Every purchase and grant the user holds, in one query of the `byUser` index. The index is
 * eventually consistent: merge any purchase just written into the result (see `withPurchase`)
 * before deriving entitlements.
 */
export async function holdingsOfUser(userId: string): Promise<Holdings> {
  const purchases: Purchase[] = [];
  const grants: Grant[] = [];
  const revs: Record<string, number> = {};
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  try {
    do {
      const page = await documentClient().send(
        new QueryCommand({
          TableName: tableName('PURCHASES_TABLE'),
          IndexName: BY_USER_INDEX,
          KeyConditionExpression: '#u = :u',
          ExpressionAttributeNames: { '#u': 'userId' },
          ExpressionAttributeValues: { ':u': userId },
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) {
        if (isPurchaseItem(item)) purchases.push(purchaseFromItem(item));
        else if (typeof item.pk === 'string' && isGrantPk(item.pk)) grants.push(grantFromItem(item));
        else continue;
        if (typeof item.rev === 'number') revs[item.pk as string] = item.rev;
      }
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
  } catch (error) {
    throw storeError(error);
  }
  return { purchases, grants, revs };
}

/** Every purchase the user owns (see `holdingsOfUser`). */
export async function purchasesOfUser(userId: string): Promise<Purchase[]> {
  return (await holdingsOfUser(userId)).purchases;
}
