import type { SandboxProductType } from './sandbox-products';

// The persisted state of the sandbox: every purchase it has invented, and every webhook it has
// produced. Plain JSON (times are epoch milliseconds) so it round-trips through the data file.

/** Apple's subscription status, as its notifications and renewal info carry it. */
export const APPLE_SUBSCRIPTION_STATUS = {
  ACTIVE: 1,
  EXPIRED: 2,
  BILLING_RETRY: 3,
  GRACE_PERIOD: 4,
  REVOKED: 5,
} as const;
export type AppleSubscriptionStatus =
  (typeof APPLE_SUBSCRIPTION_STATUS)[keyof typeof APPLE_SUBSCRIPTION_STATUS];

export interface AppleTransactionRecord {
  transactionId: string;
  productId: string;
  purchaseDate: number;
  expiresDate: number | null;
  webOrderLineItemId: string | null;
  transactionReason: 'PURCHASE' | 'RENEWAL';
  revocationDate: number | null;
  /** 0 other, 1 app issue. */
  revocationReason: number | null;
  isUpgraded: boolean;
}

export interface AppleRenewalRecord {
  autoRenewStatus: 0 | 1;
  autoRenewProductId: string;
  status: AppleSubscriptionStatus;
  isInBillingRetryPeriod: boolean;
  gracePeriodExpiresDate: number | null;
  /** 1 customer cancelled, 2 billing error, 3 price increase declined, 4 product unavailable, 5 other. */
  expirationIntent: number | null;
}

interface PurchaseRecordBase {
  /** The sandbox's short handle (`sbx_1`, …); any store identifier also finds the purchase. */
  id: string;
  productId: string;
  productType: SandboxProductType;
  /** UUID v4 the app attached at purchase: Apple appAccountToken / Google obfuscatedExternalAccountId. */
  appUserId: string | null;
  priceMilli: number;
  currency: string;
  createdAt: number;
}

export interface ApplePurchaseRecord extends PurchaseRecordBase {
  platform: 'apple';
  bundleId: string;
  inAppOwnershipType: 'PURCHASED' | 'FAMILY_SHARED';
  originalTransactionId: string;
  originalPurchaseDate: number;
  /** Subscriptions only. */
  periodMs: number | null;
  graceMs: number;
  /** Oldest first; the last one is the current period. */
  transactions: AppleTransactionRecord[];
  renewal: AppleRenewalRecord | null;
  /** Sandbox id of the organiser's purchase when this one is family-shared. */
  familySharedFrom: string | null;
}

/** subscriptionsv2 `subscriptionState`. */
export type GoogleSubscriptionState =
  | 'SUBSCRIPTION_STATE_ACTIVE'
  | 'SUBSCRIPTION_STATE_CANCELED'
  | 'SUBSCRIPTION_STATE_IN_GRACE_PERIOD'
  | 'SUBSCRIPTION_STATE_ON_HOLD'
  | 'SUBSCRIPTION_STATE_PAUSED'
  | 'SUBSCRIPTION_STATE_EXPIRED';

export interface GooglePurchaseRecord extends PurchaseRecordBase {
  platform: 'google';
  packageName: string;
  purchaseToken: string;
  /** The token this purchase replaced (upgrade / downgrade), as Google reports it. */
  linkedPurchaseToken: string | null;
  /** Sandbox id of the purchase that replaced this one. */
  replacedBy: string | null;
  basePlanId: string | null;
  /** First order id; renewals are `<orderId>..0`, `..1`, … */
  orderId: string;
  renewalCount: number;
  latestOrderId: string;
  startTime: number;
  /** Subscriptions: end of the paid (or grace) period. Null for one-time products. */
  expiryTime: number | null;
  periodMs: number | null;
  graceMs: number;
  subscriptionState: GoogleSubscriptionState | null;
  autoRenewEnabled: boolean;
  canceledAt: number | null;
  pauseResumeAt: number | null;
  /** One-time products: 0 purchased, 1 canceled, 2 pending. */
  purchaseState: 0 | 1 | 2;
  consumptionState: 0 | 1;
  voided: boolean;
}

export type PurchaseRecord = ApplePurchaseRecord | GooglePurchaseRecord;

/** The webhook body Attesto would POST (contract §3.4), built once when the store event happens. */
export interface SandboxWebhook {
  event: string;
  reason: string | null;
  platformEvent: string;
  eventId: string;
  externalId: string;
  timestamp: string;
  tenantId: string;
  source: 'apple' | 'google';
  subject: { key: string; productId: string | null; type: 'subscription' | 'product' } | null;
  appUserId: string | null;
  data: Record<string, unknown>;
  raw: Record<string, unknown>;
}

export interface WorldState {
  formatVersion: 1;
  seed: number;
  randomState: number;
  tenantId: string;
  /** Private JWK of the key that signs the sandbox's Apple JWS; kept so signatures survive a restart. */
  signingKey: Record<string, unknown> | null;
  /** Upstream time of the last store event: every new one is strictly later, whatever `now` says. */
  lastUpstreamAt: number;
  /**
   * The last Apple id handed out (transaction, original transaction or web order line item):
   * the next is strictly greater. Absent in worlds saved before ids were sequential; they
   * continue after the highest id they hold.
   */
  lastAppleId?: number | null;
  nextPurchaseNumber: number;
  purchases: PurchaseRecord[];
  webhooks: SandboxWebhook[];
}
