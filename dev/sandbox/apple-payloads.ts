import type { SandboxProductType } from './sandbox-products';
import type { ApplePurchaseRecord, AppleTransactionRecord } from './world-types';

// Apple's decoded payloads (JWSTransactionDecodedPayload, JWSRenewalInfoDecodedPayload,
// ResponseBodyV2DecodedPayload) with Apple's field names and millisecond numbers. Apple leaves
// absent fields out rather than sending null, and so do these.

const APPLE_PRODUCT_TYPE_NAMES: Record<SandboxProductType, string> = {
  subscription: 'Auto-Renewable Subscription',
  product: 'Non-Consumable',
  consumable: 'Consumable',
};

/** A numeric App Store app id, as Apple puts in notification `data.appAppleId`. */
const SANDBOX_APP_APPLE_ID = 1_234_567_890;
const SUBSCRIPTION_GROUP_ID = '21000000';
const STOREFRONT = 'USA';
const STOREFRONT_ID = '143441';

function defined(entries: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined && v !== null));
}

export function appleTransactionPayload(
  purchase: ApplePurchaseRecord,
  transaction: AppleTransactionRecord,
  signedDate: number,
): Record<string, unknown> {
  const isSubscription = purchase.productType === 'subscription';
  return defined({
    transactionId: transaction.transactionId,
    originalTransactionId: purchase.originalTransactionId,
    webOrderLineItemId: transaction.webOrderLineItemId,
    bundleId: purchase.bundleId,
    productId: transaction.productId,
    subscriptionGroupIdentifier: isSubscription ? SUBSCRIPTION_GROUP_ID : undefined,
    purchaseDate: transaction.purchaseDate,
    originalPurchaseDate: purchase.originalPurchaseDate,
    expiresDate: transaction.expiresDate,
    quantity: 1,
    type: APPLE_PRODUCT_TYPE_NAMES[purchase.productType],
    appAccountToken: purchase.appUserId,
    inAppOwnershipType: purchase.inAppOwnershipType,
    signedDate,
    revocationReason: transaction.revocationReason,
    revocationDate: transaction.revocationDate,
    isUpgraded: transaction.isUpgraded ? true : undefined,
    environment: 'Sandbox',
    transactionReason: transaction.transactionReason,
    storefront: STOREFRONT,
    storefrontId: STOREFRONT_ID,
    price: purchase.priceMilli,
    currency: purchase.currency,
  });
}

export function appleRenewalInfoPayload(
  purchase: ApplePurchaseRecord,
  signedDate: number,
): Record<string, unknown> | null {
  const renewal = purchase.renewal;
  if (!renewal) return null;
  const latest = purchase.transactions.at(-1);
  return defined({
    originalTransactionId: purchase.originalTransactionId,
    autoRenewProductId: renewal.autoRenewProductId,
    productId: purchase.productId,
    autoRenewStatus: renewal.autoRenewStatus,
    isInBillingRetryPeriod: renewal.isInBillingRetryPeriod,
    expirationIntent: renewal.expirationIntent,
    gracePeriodExpiresDate: renewal.gracePeriodExpiresDate,
    signedDate,
    environment: 'Sandbox',
    recentSubscriptionStartDate: purchase.originalPurchaseDate,
    renewalDate: renewal.autoRenewStatus === 1 ? (latest?.expiresDate ?? undefined) : undefined,
    currency: purchase.currency,
    renewalPrice: purchase.priceMilli,
    appAccountToken: purchase.appUserId,
  });
}

export interface AppleNotificationInput {
  notificationType: string;
  subtype?: string;
  notificationUUID: string;
  signedDate: number;
  bundleId: string;
  signedTransactionInfo: string;
  signedRenewalInfo?: string;
  status?: number;
}

/** The decoded outer notification (ResponseBodyV2DecodedPayload) whose JWS is `signedPayload`. */
export function appleNotificationPayload(input: AppleNotificationInput): Record<string, unknown> {
  return defined({
    notificationType: input.notificationType,
    subtype: input.subtype,
    notificationUUID: input.notificationUUID,
    data: defined({
      appAppleId: SANDBOX_APP_APPLE_ID,
      bundleId: input.bundleId,
      bundleVersion: '1',
      environment: 'Sandbox',
      signedTransactionInfo: input.signedTransactionInfo,
      signedRenewalInfo: input.signedRenewalInfo,
      status: input.status,
    }),
    version: '2.0',
    signedDate: input.signedDate,
  });
}
