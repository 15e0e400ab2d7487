import { APPLE_SUBSCRIPTION_STATUS, type PurchaseRecord } from './world-types';

// A purchase as the control API and CLI show it: a one-word status, and the exact verify request
// the app (through the backend) would send to Attesto for it.

export type VerifyRequestHint =
  | { path: '/v1/apple/verify'; body: { transactionId: string } }
  | {
      path: '/v1/google/verify';
      body: {
        packageName: string;
        productId: string;
        purchaseToken: string;
        type: 'subscription' | 'product';
      };
    };

export interface PurchaseView {
  id: string;
  platform: 'apple' | 'google';
  productId: string;
  productType: PurchaseRecord['productType'];
  appUserId: string | null;
  status: string;
  expiresAt: string | null;
  autoRenew: boolean | null;
  /** Apple originalTransactionId / Google root purchase token: the backend's subject key. */
  subjectKey: string;
  /** What the app would verify: Apple's latest transactionId, or Google's current purchaseToken. */
  token: string;
  verify: VerifyRequestHint;
  record: PurchaseRecord;
}

const APPLE_STATUS_WORD = {
  [APPLE_SUBSCRIPTION_STATUS.ACTIVE]: 'active',
  [APPLE_SUBSCRIPTION_STATUS.EXPIRED]: 'expired',
  [APPLE_SUBSCRIPTION_STATUS.BILLING_RETRY]: 'billing_retry',
  [APPLE_SUBSCRIPTION_STATUS.GRACE_PERIOD]: 'grace',
  [APPLE_SUBSCRIPTION_STATUS.REVOKED]: 'revoked',
} as const;

export function purchaseView(record: PurchaseRecord, rootToken: (r: PurchaseRecord) => string): PurchaseView {
  if (record.platform === 'apple') {
    const latest = record.transactions.at(-1);
    const refunded = latest?.revocationDate !== null && latest?.revocationDate !== undefined;
    const status = record.renewal
      ? refunded && record.inAppOwnershipType === 'PURCHASED'
        ? 'refunded'
        : APPLE_STATUS_WORD[record.renewal.status]
      : refunded
        ? 'refunded'
        : 'owned';
    return {
      id: record.id,
      platform: 'apple',
      productId: record.productId,
      productType: record.productType,
      appUserId: record.appUserId,
      status,
      expiresAt: latest?.expiresDate ? new Date(latest.expiresDate).toISOString() : null,
      autoRenew: record.renewal ? record.renewal.autoRenewStatus === 1 : null,
      subjectKey: record.originalTransactionId,
      token: latest?.transactionId ?? record.originalTransactionId,
      verify: {
        path: '/v1/apple/verify',
        body: { transactionId: latest?.transactionId ?? record.originalTransactionId },
      },
      record,
    };
  }
  const status = record.voided
    ? 'refunded'
    : record.replacedBy
      ? 'replaced'
      : record.subscriptionState
        ? record.subscriptionState.replace('SUBSCRIPTION_STATE_', '').toLowerCase()
        : record.purchaseState === 0
          ? 'owned'
          : 'canceled';
  return {
    id: record.id,
    platform: 'google',
    productId: record.productId,
    productType: record.productType,
    appUserId: record.appUserId,
    status,
    expiresAt: record.expiryTime === null ? null : new Date(record.expiryTime).toISOString(),
    autoRenew: record.productType === 'subscription' ? record.autoRenewEnabled : null,
    subjectKey: rootToken(record),
    token: record.purchaseToken,
    verify: {
      path: '/v1/google/verify',
      body: {
        packageName: record.packageName,
        productId: record.productId,
        purchaseToken: record.purchaseToken,
        type: record.productType === 'subscription' ? 'subscription' : 'product',
      },
    },
    record,
  };
}
