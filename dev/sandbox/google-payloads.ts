import type { GooglePurchaseRecord } from './world-types';

// What Google Play's API returns for a purchase (subscriptionsv2.get → SubscriptionPurchaseV2,
// products.get → ProductPurchase). Attesto hands these back unchanged as `rawResponse`.

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function moneyOf(priceMilli: number, currency: string): Record<string, unknown> {
  const units = Math.floor(priceMilli / 1000);
  return { currencyCode: currency, units: String(units), nanos: (priceMilli - units * 1000) * 1_000_000 };
}

export function googleSubscriptionPurchaseV2(purchase: GooglePurchaseRecord): Record<string, unknown> {
  const body: Record<string, unknown> = {
    kind: 'androidpublisher#subscriptionPurchaseV2',
    regionCode: 'US',
    startTime: iso(purchase.startTime),
    subscriptionState: purchase.subscriptionState,
    latestOrderId: purchase.latestOrderId,
  };
  if (purchase.linkedPurchaseToken) body.linkedPurchaseToken = purchase.linkedPurchaseToken;
  if (purchase.subscriptionState === 'SUBSCRIPTION_STATE_PAUSED' && purchase.pauseResumeAt !== null) {
    body.pausedStateContext = { autoResumeTime: iso(purchase.pauseResumeAt) };
  }
  if (purchase.canceledAt !== null) {
    body.canceledStateContext = purchase.replacedBy
      ? { replacementCancellation: {} }
      : purchase.voided
        ? { systemInitiatedCancellation: {} }
        : { userInitiatedCancellation: { cancelTime: iso(purchase.canceledAt), cancelSurveyResult: {} } };
  }
  body.testPurchase = {};
  body.acknowledgementState = 'ACKNOWLEDGEMENT_STATE_ACKNOWLEDGED';
  if (purchase.appUserId)
    body.externalAccountIdentifiers = { obfuscatedExternalAccountId: purchase.appUserId };
  body.lineItems = [
    {
      productId: purchase.productId,
      expiryTime: iso(purchase.expiryTime ?? purchase.startTime),
      autoRenewingPlan: {
        autoRenewEnabled: purchase.autoRenewEnabled,
        recurringPrice: moneyOf(purchase.priceMilli, purchase.currency),
      },
      offerDetails: { basePlanId: purchase.basePlanId, offerTags: [] },
      latestSuccessfulOrderId: purchase.latestOrderId,
    },
  ];
  return body;
}

export function googleProductPurchase(purchase: GooglePurchaseRecord): Record<string, unknown> {
  const body: Record<string, unknown> = {
    kind: 'androidpublisher#productPurchase',
    purchaseTimeMillis: String(purchase.startTime),
    purchaseState: purchase.purchaseState,
    consumptionState: purchase.consumptionState,
    developerPayload: '',
    orderId: purchase.orderId,
    // 0 = test purchase (licensed tester), which every sandbox purchase is.
    purchaseType: 0,
    acknowledgementState: 1,
    productId: purchase.productId,
    quantity: 1,
    regionCode: 'US',
  };
  if (purchase.appUserId) body.obfuscatedExternalAccountId = purchase.appUserId;
  return body;
}
