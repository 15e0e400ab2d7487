import { describe, expect, it } from 'vitest';
import type { AppleRenewalInfo, AppleTransactionPayload } from '../../shared/attesto/apple-jws';
import type { GoogleProductOk, GoogleSubscriptionOk } from '../../shared/attesto/schemas';
import { appleProductType } from '../../shared/attesto/translate/apple-product-type';
import {
  appleEventFields,
  googleProductFields,
  googleSubscriptionFields,
} from '../../shared/attesto/translate/event-fields';

const tx: AppleTransactionPayload = {
  transactionId: '2000000000000002',
  originalTransactionId: '2000000000000001',
  bundleId: 'com.example.app',
  productId: 'premium_monthly',
  purchaseDate: 1_700_000_000_000,
  originalPurchaseDate: 1_699_000_000_000,
  expiresDate: 1_702_592_000_000,
  type: 'Auto-Renewable Subscription',
  inAppOwnershipType: 'FAMILY_SHARED',
  appAccountToken: 'A0B1C2D3-0000-4000-8000-000000000001',
  signedDate: 1_700_000_000_100,
  environment: 'Production',
};
const renewal: AppleRenewalInfo = {
  originalTransactionId: '2000000000000001',
  autoRenewProductId: 'premium_monthly',
  productId: 'premium_monthly',
  autoRenewStatus: 0,
  gracePeriodExpiresDate: 1_702_000_000_000,
  signedDate: 1_700_000_000_100,
  environment: 'Production',
};

describe('Apple notification fields', () => {
  it('reads expiry, ownership, ids and the user UUID from the transaction, renewal and grace from the renewal info', () => {
    expect(appleEventFields(tx, renewal)).toEqual({
      productId: 'premium_monthly',
      productType: 'subscription',
      expiresAt: 1_702_592_000_000,
      environment: 'production',
      ownership: 'FAMILY_SHARED',
      latestTransactionId: '2000000000000002',
      appUserId: 'a0b1c2d3-0000-4000-8000-000000000001',
      willRenew: false,
      gracePeriodExpiresAt: 1_702_000_000_000,
    });
  });

  it('says "no grace period" when renewal info has none, and leaves renewal out when absent', () => {
    const { gracePeriodExpiresDate: _g, ...noGrace } = renewal;
    expect(appleEventFields(tx, { ...noGrace, autoRenewStatus: 1 })).toMatchObject({
      willRenew: true,
      gracePeriodExpiresAt: null,
    });
    const fields = appleEventFields(tx, undefined);
    expect(fields).not.toHaveProperty('willRenew');
    expect(fields).not.toHaveProperty('gracePeriodExpiresAt');
  });

  it('marks a revoked transaction and never expires one-time products', () => {
    const refunded = appleEventFields(
      {
        ...tx,
        productId: 'coins_100',
        type: 'Consumable',
        expiresDate: undefined,
        revocationDate: 1_700_000_100_000,
      },
      undefined,
    );
    expect(refunded).toMatchObject({ productType: 'consumable', expiresAt: null, revoked: true });
  });

  it('takes the product type from the catalog first, Apple’s type for unknown products', () => {
    expect(appleProductType('Non-Consumable', 'coins_100')).toBe('consumable');
    expect(appleProductType('Non-Renewing Subscription', 'season_pass')).toBe('subscription');
    expect(appleProductType('Consumable', 'gems')).toBe('consumable');
    expect(appleProductType('Non-Consumable', 'lifetime')).toBe('product');
  });
});

describe('Google re-read fields', () => {
  const subscription = (over: Partial<GoogleSubscriptionOk['purchase']> = {}): GoogleSubscriptionOk => ({
    valid: true,
    appUserId: null,
    purchase: {
      kind: 'androidpublisher#subscriptionPurchaseV2',
      packageName: 'com.example.app',
      productId: 'premium_monthly',
      purchaseToken: 'tok',
      startTime: '2026-01-01T00:00:00.000Z',
      expiryTime: '2026-02-01T00:00:00.000Z',
      autoRenewing: true,
      priceCurrencyCode: null,
      priceAmountMicros: null,
      countryCode: 'US',
      paymentState: null,
      acknowledgementState: null,
      orderId: 'GPA.1..2',
      obfuscatedExternalAccountId: 'F0000000-0000-4000-8000-00000000000A',
      rawResponse: { lineItems: [{ productId: 'premium_yearly' }] },
      ...over,
    },
  });

  it('takes expiry, auto-renew, order and user from the subscription, the product from its line item', () => {
    expect(googleSubscriptionFields(subscription())).toEqual({
      productId: 'premium_yearly',
      productType: 'subscription',
      expiresAt: Date.parse('2026-02-01T00:00:00.000Z'),
      willRenew: true,
      environment: 'production',
      latestTransactionId: 'GPA.1..2',
      appUserId: 'f0000000-0000-4000-8000-00000000000a',
    });
  });

  it('omits what Google did not say and recognises test purchases', () => {
    const fields = googleSubscriptionFields(
      subscription({
        expiryTime: null,
        autoRenewing: null,
        orderId: null,
        obfuscatedExternalAccountId: null,
        rawResponse: { testPurchase: {} },
      }),
    );
    expect(fields).toEqual({
      productId: 'premium_monthly',
      productType: 'subscription',
      environment: 'sandbox',
    });
  });

  it('maps one-time products by the catalog, never expiring', () => {
    const product: GoogleProductOk = {
      valid: true,
      appUserId: null,
      purchase: {
        kind: 'androidpublisher#productPurchase',
        packageName: 'com.example.app',
        productId: 'coins_100',
        purchaseToken: 'tok',
        purchaseTimeMillis: '1700000000000',
        purchaseState: 0,
        consumptionState: 0,
        acknowledgementState: 1,
        orderId: 'GPA.9',
        obfuscatedExternalAccountId: null,
        rawResponse: { purchaseType: 0 },
      },
    };
    expect(googleProductFields(product)).toEqual({
      productId: 'coins_100',
      productType: 'consumable',
      expiresAt: null,
      environment: 'sandbox',
      latestTransactionId: 'GPA.9',
    });
  });
});
