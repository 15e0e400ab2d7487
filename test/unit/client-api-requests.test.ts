import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/config';
import {
  appleVerifyBodySchema,
  googleVerifyBodySchema,
  type RestoreEntry,
  restoreEntryOf,
} from '../../shared/purchases/request-schemas';
import { emptyRestoreCounts } from '../../shared/purchases/restore-counts';
import { entriesToVerify } from '../../shared/purchases/restore-entries';
import { settings } from '../../shared/settings';

describe('verify bodies', () => {
  it('normalise the SDK shape and the docs shape alike', () => {
    const sdk = appleVerifyBodySchema.parse({ productId: 'p', transactionId: '1', type: 'subscription' });
    const docs = appleVerifyBodySchema.parse({
      platform: 'apple',
      token: '1',
      productId: 'p',
      productType: 'subscription',
    });
    expect(sdk).toEqual({ productId: 'p', transactionId: '1', type: 'subscription' });
    expect(docs).toEqual(sdk);
    expect(
      googleVerifyBodySchema.parse({
        platform: 'google',
        token: 't',
        productId: 'p',
        productType: 'consumable',
        androidPlanId: 'x',
      }),
    ).toEqual({ productId: 'p', purchaseToken: 't', packageName: undefined, type: 'consumable' });
  });

  it('name the missing field', () => {
    const apple = appleVerifyBodySchema.safeParse({ productId: 'p' });
    expect(apple.success || apple.error.issues.map((i) => i.path.join('.'))).toEqual(['transactionId']);
    const google = googleVerifyBodySchema.safeParse({ purchaseToken: 't' });
    expect(google.success || google.error.issues.map((i) => i.path.join('.'))).toEqual(['productId']);
  });
});

describe('restore entries', () => {
  it('accept both shapes and both platforms', () => {
    expect(restoreEntryOf({ platform: 'apple', productId: 'p', transactionId: '1' })).toEqual({
      entry: { platform: 'apple', productId: 'p', transactionId: '1' },
    });
    expect(
      restoreEntryOf({ platform: 'google', productId: 'p', token: 't', productType: 'product' }),
    ).toEqual({
      entry: {
        platform: 'google',
        productId: 'p',
        purchaseToken: 't',
        packageName: undefined,
        type: 'product',
      },
    });
    expect(restoreEntryOf({ platform: 'web', productId: 'p', token: 't' })).toHaveProperty('problem');
    expect(restoreEntryOf(null)).toHaveProperty('problem');
  });

  const counts = () => emptyRestoreCounts(0);
  const apple = (productId: string, transactionId: string): RestoreEntry => ({
    platform: 'apple',
    productId,
    transactionId,
  });

  it('keep only the newest Apple transaction per product (numerically), every consumable and every Google token', () => {
    const c = counts();
    const chosen = entriesToVerify(
      [
        apple('premium_monthly', '2000000000000009'),
        apple('premium_monthly', '2000000000000010'),
        apple('premium_monthly', '999'),
        apple('premium_monthly', '2000000000000010'),
        apple('coins_100', '5'),
        apple('coins_100', '6'),
        apple('remove_ads', '7'),
        {
          platform: 'google',
          productId: 'premium_monthly',
          purchaseToken: 'a',
          packageName: undefined,
          type: undefined,
        },
        {
          platform: 'google',
          productId: 'premium_monthly',
          purchaseToken: 'b',
          packageName: undefined,
          type: undefined,
        },
      ],
      c,
    );
    expect(chosen.map((e) => (e.platform === 'apple' ? e.transactionId : e.purchaseToken)).sort()).toEqual(
      ['2000000000000010', '5', '6', '7', 'a', 'b'].sort(),
    );
    expect(c).toMatchObject({ duplicates: 1, superseded: 2 });
  });
  it('skip products the catalog does not list, and put what grants entitlements before consumables', () => {
    const c = counts();
    const google = (productId: string, purchaseToken: string): RestoreEntry => ({
      platform: 'google',
      productId,
      purchaseToken,
      packageName: undefined,
      type: 'subscription',
    });
    const chosen = entriesToVerify(
      [
        apple('coins_100', '1'),
        apple('no_such_product', '2'),
        google('no_such_product', 'x'),
        apple('premium_monthly', '3'),
        google('coins_100', 'y'),
        apple('also_unknown', '4'),
        google('remove_ads', 'z'),
      ],
      c,
    );
    expect(chosen.map((e) => (e.platform === 'apple' ? e.transactionId : e.purchaseToken))).toEqual([
      'z',
      '3',
      '1',
      'y',
    ]);
    expect(c).toMatchObject({ unknownProduct: 3, duplicates: 0, superseded: 0 });
  });
});

describe('settings', () => {
  it('default to keep, sandbox allowed, billing retry entitled for 16 days', () => {
    expect(settings({})).toEqual({
      ownershipPolicy: 'keep',
      entitlementPolicy: { billingRetryEntitled: true, billingRetryMaxDays: 16, allowSandboxPurchases: true },
      googlePackageName: undefined,
      appleBundleId: undefined,
    });
    expect(settings({ OWNERSHIP_POLICY: '', ALLOW_SANDBOX_PURCHASES: ' ' }).ownershipPolicy).toBe('keep');
  });

  it('read every policy and name a bad value', () => {
    expect(
      settings({
        OWNERSHIP_POLICY: 'move',
        ALLOW_SANDBOX_PURCHASES: 'false',
        BILLING_RETRY_ENTITLED: 'false',
        BILLING_RETRY_MAX_DAYS: '3',
        GOOGLE_PACKAGE_NAME: 'com.a',
        APPLE_BUNDLE_ID: 'com.b',
      }),
    ).toEqual({
      ownershipPolicy: 'move',
      entitlementPolicy: {
        billingRetryEntitled: false,
        billingRetryMaxDays: 3,
        allowSandboxPurchases: false,
      },
      googlePackageName: 'com.a',
      appleBundleId: 'com.b',
    });
    expect(() => settings({ OWNERSHIP_POLICY: 'share' })).toThrow(ConfigError);
    expect(() => settings({ ALLOW_SANDBOX_PURCHASES: 'yes' })).toThrow(/ALLOW_SANDBOX_PURCHASES/);
    expect(() => settings({ BILLING_RETRY_MAX_DAYS: '-1' })).toThrow(/BILLING_RETRY_MAX_DAYS/);
  });
});
